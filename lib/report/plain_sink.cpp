#include "report/plain_sink.hpp"

#include "report/labels.hpp"

namespace assetctl::report {
namespace {

using publish::EventType;

bool shown_in_plain_view(EventType type) {
    return type != EventType::debug && type != EventType::start && type != EventType::progress;
}

const char* color_of(EventType type) {
    switch (type) {
        case EventType::fail:
            return "\033[31m";
        case EventType::success:
            return "\033[32m";
        default:
            return "";
    }
}

}  // namespace

std::string event_label(const publish::Event& event) {
    std::string label = asset_label(event.display_name, event.asset);
    if (!event.destination.empty()) {
        label += " \u2192 " + event.destination;
    }
    return label;
}

PlainEventSink::PlainEventSink(std::ostream& out, bool color) : out_(out), color_(color) {}

void PlainEventSink::emit(const publish::Event& event) {
    if (!shown_in_plain_view(event.type)) {
        return;
    }
    std::string line = "[" + event_label(event) + "] ";
    const std::string color = color_ ? color_of(event.type) : "";
    line += color + event.message + (color.empty() ? "" : "\033[0m");
    if (event.duration) {
        line += " (" + human_duration(*event.duration) + ")";
    }
    line += "\n";
    for (const auto& detail : event.details) {
        line += "    | " + detail + "\n";
    }
    std::lock_guard lock(mutex_);
    out_ << line << std::flush;
}

}  // namespace assetctl::report
