#pragma once

#include <memory>
#include <optional>
#include <ostream>

#include "manifest/selection.hpp"
#include "publish/events.hpp"
#include "report/json_sink.hpp"
#include "report/live_area.hpp"
#include "report/live_view.hpp"
#include "report/plain_sink.hpp"
#include "util/environment.hpp"
#include "util/logging.hpp"

namespace assetctl::cli {

// --progress: what stderr shows while build/publish run.
enum class ProgressMode { automatic, tty, plain, json };

// What it comes to on this terminal.
enum class ProgressView { none, live, plain, json };

// automatic: nothing with --json (its events are on stdout already), the live view on a
// terminal, plain lines otherwise (CI logs, pipes). TERM=dumb never gets the live view, not
// even when asked for (it cannot move the cursor).
ProgressView choose_progress_view(ProgressMode mode, bool json_results, bool stderr_is_terminal,
                                  const util::Environment& env);

// The sinks of the chosen view, and for the live view the redirection of logs above it.
class ProgressOutput {
  public:
    struct Settings {
        ProgressView view = ProgressView::plain;
        bool color = false;
        report::TerminalSize size;
        bool erase_at_end = false;  // the live view is erased when the summary follows on screen
    };
    ProgressOutput(const Settings& settings, const manifest::Selection& selection,
                   std::ostream& err);
    ~ProgressOutput();
    ProgressOutput(const ProgressOutput&) = delete;
    ProgressOutput& operator=(const ProgressOutput&) = delete;

    // Null for ProgressView::none.
    publish::EventSink* sink() { return sink_; }
    // Stops the live view (its last state drawn) and gives logs back to stderr.
    void finish();

  private:
    bool erase_at_end_ = false;
    std::optional<report::PlainEventSink> plain_;
    std::optional<report::JsonEventSink> json_;
    std::unique_ptr<report::LiveArea> area_;
    std::unique_ptr<report::LiveView> live_;
    std::unique_ptr<util::LogRedirect> logs_;
    publish::EventSink* sink_ = nullptr;
};

}  // namespace assetctl::cli
