#pragma once

#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace assetctl::report {

// The bottom lines of a terminal, redrawn in place (ANSI: cursor up, erase to the end of the
// screen); other output (logs, build output) is printed above them and scrolls as usual.
// Thread-safe. Writes only to the stream it was given.
class LiveArea {
  public:
    explicit LiveArea(std::ostream& out);
    ~LiveArea();
    LiveArea(const LiveArea&) = delete;
    LiveArea& operator=(const LiveArea&) = delete;

    // Replaces the live lines with `lines` (each at most the terminal's width).
    void show(const std::vector<std::string>& lines);
    // Prints `text` (one or more lines) above the live lines.
    void print_above(std::string_view text);
    // Ends the live area: its lines stay on screen (or are erased), the cursor below them.
    void close(bool erase);

  private:
    void move_to_top_locked();
    void erase_locked();
    void draw_locked();

    std::mutex mutex_;
    std::ostream& out_;
    std::vector<std::string> lines_;
    bool drawn_ = false;
    bool closed_ = false;
};

}  // namespace assetctl::report
