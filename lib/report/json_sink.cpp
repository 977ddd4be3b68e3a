#include "report/json_sink.hpp"

#include <nlohmann/json.hpp>

namespace assetctl::report {

JsonEventSink::JsonEventSink(std::ostream& out) : out_(out) {}

void JsonEventSink::emit(const publish::Event& event) {
    nlohmann::ordered_json json{{"event", publish::to_string(event.type)},
                                {"asset", event.asset},
                                {"destination", event.destination},
                                {"message", event.message}};
    if (!event.display_name.empty()) {
        json["displayName"] = event.display_name;
    }
    if (event.duration) {
        json["durationMs"] = event.duration->count();
    }
    if (event.bytes) {
        json["bytes"] = *event.bytes;
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
    const auto line = json.dump() + "\n";
    std::lock_guard lock(mutex_);
    out_ << line << std::flush;
}

}  // namespace assetctl::report
