#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "publish/events.hpp"
#include "report/asset_board.hpp"
#include "report/live_area.hpp"

namespace assetctl::report {

struct TerminalSize {
    std::size_t columns = 100;
    std::size_t rows = 30;
};

// The terminal view: one line per asset (phase, destinations settled, bytes moved, elapsed
// time) under a header, redrawn in place on every event and a few times a second for the
// clocks. Logs go above it (util::LogRedirect into LiveArea::print_above).
class LiveView final : public publish::EventSink {
  public:
    LiveView(LiveArea& area, AssetBoard board, TerminalSize size);
    ~LiveView() override;
    LiveView(const LiveView&) = delete;
    LiveView& operator=(const LiveView&) = delete;

    void emit(const publish::Event& event) override;
    // Stops the clock thread and draws the last state (left on screen, or erased).
    void finish(bool erase);

  private:
    void redraw_locked(SteadyTime now);
    void tick();

    LiveArea& area_;
    TerminalSize size_;
    std::mutex mutex_;
    std::condition_variable wake_;
    AssetBoard board_;
    SteadyTime last_draw_;
    bool finished_ = false;
    std::thread clock_;
};

}  // namespace assetctl::report
