#include "publish/events.hpp"

#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

namespace assetctl::publish {
namespace {

std::string short_id(const std::string& id) {
    return id.size() > 12 ? id.substr(0, 12) : id;
}

std::string seconds(std::chrono::milliseconds duration) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(1) << static_cast<double>(duration.count()) / 1000.0
        << " s";
    return out.str();
}

}  // namespace

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
    }
    return "debug";
}

TextEventSink::TextEventSink(std::ostream& out, bool color) : out_(out), color_(color) {}

void TextEventSink::emit(const Event& event) {
    // `start` is for machines (--json); people see the first real step instead.
    if (event.type == EventType::debug || event.type == EventType::start) {
        return;
    }
    std::string label = short_id(event.asset);
    if (!event.destination.empty()) {
        label += ":" + event.destination;
    }
    const char* color = "";
    if (color_) {
        color = event.type == EventType::fail      ? "\033[31m"
                : event.type == EventType::success ? "\033[32m"
                                                   : "";
    }
    std::lock_guard lock(mutex_);
    out_ << "[" << label << "] " << color << event.message << (color_ && *color ? "\033[0m" : "");
    if (event.duration) {
        out_ << " (" << seconds(*event.duration) << ")";
    }
    out_ << "\n";
    for (const auto& line : event.details) {
        out_ << "    | " << line << "\n";
    }
    out_ << std::flush;
}

JsonEventSink::JsonEventSink(std::ostream& out) : out_(out) {}

void JsonEventSink::emit(const Event& event) {
    nlohmann::ordered_json json{{"event", to_string(event.type)},
                                {"asset", event.asset},
                                {"destination", event.destination},
                                {"message", event.message}};
    if (event.duration) {
        json["durationMs"] = event.duration->count();
    }
    if (!event.image_uri.empty()) {
        json["imageUri"] = event.image_uri;
    }
    if (!event.digest.empty()) {
        json["digest"] = event.digest;
    }
    if (!event.object_url.empty()) {
        json["objectUrl"] = event.object_url;
    }
    if (!event.details.empty()) {
        json["output"] = event.details;
    }
    std::lock_guard lock(mutex_);
    out_ << json.dump() << "\n" << std::flush;
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
