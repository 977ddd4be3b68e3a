#include "report/live_area.hpp"

namespace assetctl::report {
namespace {

constexpr const char* k_hide_cursor = "\033[?25l";
constexpr const char* k_show_cursor = "\033[?25h";
constexpr const char* k_erase_below = "\033[J";

}  // namespace

LiveArea::LiveArea(std::ostream& out) : out_(out) {
    out_ << k_hide_cursor << std::flush;
}

LiveArea::~LiveArea() {
    close(false);
}

void LiveArea::show(const std::vector<std::string>& lines) {
    std::lock_guard lock(mutex_);
    if (closed_) {
        return;
    }
    // Overwrite in place, line by line, then clear what a longer frame left below: erasing the
    // whole area first would, from the screen's top row, make some terminals (tmux) push it
    // into their scrollback.
    move_to_top_locked();
    lines_ = lines;
    draw_locked();
    out_ << k_erase_below << std::flush;
}

void LiveArea::print_above(std::string_view text) {
    std::lock_guard lock(mutex_);
    erase_locked();
    out_ << text;
    if (!text.empty() && text.back() != '\n') {
        out_ << '\n';
    }
    if (!closed_) {
        draw_locked();
    }
    out_ << std::flush;
}

void LiveArea::close(bool erase) {
    std::lock_guard lock(mutex_);
    if (closed_) {
        return;
    }
    if (erase) {
        erase_locked();
    }
    closed_ = true;
    drawn_ = false;
    out_ << k_show_cursor << std::flush;
}

void LiveArea::move_to_top_locked() {
    if (drawn_ && !lines_.empty()) {
        out_ << "\r\033[" << lines_.size() << "A";
    }
    drawn_ = false;
}

void LiveArea::erase_locked() {
    const bool shown = drawn_ && !lines_.empty();
    move_to_top_locked();
    if (shown) {
        out_ << k_erase_below;
    }
}

void LiveArea::draw_locked() {
    for (const auto& line : lines_) {
        out_ << line << "\033[K\n";
    }
    drawn_ = true;
}

}  // namespace assetctl::report
