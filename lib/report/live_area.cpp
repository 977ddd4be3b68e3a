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
    erase_locked();
    lines_ = lines;
    draw_locked();
    out_ << std::flush;
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

void LiveArea::erase_locked() {
    if (drawn_ && !lines_.empty()) {
        out_ << "\r\033[" << lines_.size() << "A" << k_erase_below;
    }
    drawn_ = false;
}

void LiveArea::draw_locked() {
    for (const auto& line : lines_) {
        out_ << line << "\033[K\n";
    }
    drawn_ = true;
}

}  // namespace assetctl::report
