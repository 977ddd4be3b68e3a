#include "publish/events.hpp"

namespace assetctl::publish {

std::string_view to_string(EventType type) {
    switch (type) {
        case EventType::start:
            return "start";
        case EventType::check:
            return "check";
        case EventType::found:
            return "found";
        case EventType::cached:
            return "cached";
        case EventType::build:
            return "build";
        case EventType::upload:
            return "upload";
        case EventType::success:
            return "success";
        case EventType::fail:
            return "fail";
        case EventType::debug:
            return "debug";
        case EventType::progress:
            return "progress";
    }
    return "debug";
}

void RecordingEventSink::emit(const Event& event) {
    std::lock_guard lock(mutex_);
    events_.push_back(event);
}

std::vector<Event> RecordingEventSink::events() const {
    std::lock_guard lock(mutex_);
    return events_;
}

}  // namespace assetctl::publish
