#include "cli/progress_output.hpp"

namespace assetctl::cli {

ProgressView choose_progress_view(ProgressMode mode, bool json_results, bool stderr_is_terminal,
                                  const util::Environment& env) {
    const bool dumb = env.get("TERM") == "dumb";
    switch (mode) {
        case ProgressMode::tty:
            return dumb ? ProgressView::plain : ProgressView::live;
        case ProgressMode::plain:
            return ProgressView::plain;
        case ProgressMode::json:
            return ProgressView::json;
        case ProgressMode::automatic:
            break;
    }
    if (json_results) {
        return ProgressView::none;
    }
    return stderr_is_terminal && !dumb ? ProgressView::live : ProgressView::plain;
}

ProgressOutput::ProgressOutput(const Settings& settings, const manifest::Selection& selection,
                               std::ostream& err)
    : erase_at_end_(settings.erase_at_end) {
    switch (settings.view) {
        case ProgressView::none:
            break;
        case ProgressView::plain:
            sink_ = &plain_.emplace(err, settings.color);
            break;
        case ProgressView::json:
            sink_ = &json_.emplace(err);
            break;
        case ProgressView::live:
            area_ = std::make_unique<report::LiveArea>(err);
            logs_ = std::make_unique<util::LogRedirect>(
                [area = area_.get()](std::string_view line) { area->print_above(line); });
            live_ = std::make_unique<report::LiveView>(
                *area_, report::AssetBoard(report::board_assets(selection)), settings.size);
            sink_ = live_.get();
            break;
    }
}

ProgressOutput::~ProgressOutput() {
    finish();
}

void ProgressOutput::finish() {
    if (live_) {
        live_->finish(erase_at_end_);
    }
    logs_.reset();
}

}  // namespace assetctl::cli
