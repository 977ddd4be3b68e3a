#include "report/live_view.hpp"

#include <algorithm>

namespace assetctl::report {
namespace {

// How often the elapsed times move on screen without events.
constexpr auto k_clock_period = std::chrono::milliseconds(250);
// Events closer together than this share one redraw (the clock draws the rest).
constexpr auto k_min_redraw_gap = std::chrono::milliseconds(50);
// Lines kept free below the board so the prompt and one log line fit.
constexpr std::size_t k_free_rows = 3;

}  // namespace

LiveView::LiveView(LiveArea& area, AssetBoard board, TerminalSize size)
    : area_(area), size_(size), board_(std::move(board)) {
    {
        std::lock_guard lock(mutex_);
        redraw_locked(std::chrono::steady_clock::now());
    }
    clock_ = std::thread([this] { tick(); });
}

LiveView::~LiveView() {
    finish(false);
}

void LiveView::emit(const publish::Event& event) {
    std::lock_guard lock(mutex_);
    if (finished_) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    board_.apply(event, now);
    const bool settles =
        event.type == publish::EventType::success || event.type == publish::EventType::fail;
    if (settles || now - last_draw_ >= k_min_redraw_gap) {
        redraw_locked(now);
    }
}

void LiveView::finish(bool erase) {
    {
        std::lock_guard lock(mutex_);
        if (finished_) {
            return;
        }
        redraw_locked(std::chrono::steady_clock::now());
        finished_ = true;
    }
    wake_.notify_all();
    if (clock_.joinable()) {
        clock_.join();
    }
    area_.close(erase);
}

void LiveView::redraw_locked(SteadyTime now) {
    const std::size_t max_rows = size_.rows > k_free_rows + 2 ? size_.rows - k_free_rows - 1 : 1;
    area_.show(board_.render(now, std::max<std::size_t>(size_.columns, 20) - 1, max_rows));
    last_draw_ = now;
}

void LiveView::tick() {
    std::unique_lock lock(mutex_);
    while (!finished_) {
        wake_.wait_for(lock, k_clock_period);
        if (!finished_) {
            redraw_locked(std::chrono::steady_clock::now());
        }
    }
}

}  // namespace assetctl::report
