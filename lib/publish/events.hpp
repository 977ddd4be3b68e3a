#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace assetctl::publish {

// Progress events, named as cdk-assets names them so tooling built for it reads ours:
// start, check, found, cached, build, upload, success, fail (plus debug). `progress` is ours:
// bytes moved by an upload so far (after each blob or part), for live views.
enum class EventType { start, check, found, cached, build, upload, success, fail, debug, progress };

std::string_view to_string(EventType type);

struct Event {
    EventType type = EventType::debug;
    std::string asset;         // asset id
    std::string display_name;  // the manifest's displayName of the asset, if it has one
    std::string destination;   // destination id; empty for per-asset events (build, cached)
    std::string message;       // one readable line
    std::optional<std::chrono::milliseconds> duration;  // how long the step took
    std::string image_uri;                              // success: <registry>/<repository>:<tag>
    std::string digest;                                 // success after a push: the manifest digest
    std::string object_url;                             // success of a file: s3://<bucket>/<key>
    std::vector<std::string> details;    // fail: the last lines of the failing command's output
    std::optional<std::uint64_t> bytes;  // progress: bytes this upload has moved so far
};

// Receives events from several threads at once. The views (plain lines, the live terminal
// view, JSON) are in lib/report.
class EventSink {
  public:
    virtual ~EventSink() = default;
    virtual void emit(const Event& event) = 0;
};

// Hands every event to each of its sinks in turn (e.g. JSON on stdout and a view on stderr);
// with none it drops them. Sinks are added before the run starts.
class FanOutEventSink final : public EventSink {
  public:
    void add(EventSink& sink) { sinks_.push_back(&sink); }
    void emit(const Event& event) override {
        for (auto* sink : sinks_) {
            sink->emit(event);
        }
    }

  private:
    std::vector<EventSink*> sinks_;
};

// Remembers every event (tests).
class RecordingEventSink final : public EventSink {
  public:
    void emit(const Event& event) override;
    std::vector<Event> events() const;

  private:
    mutable std::mutex mutex_;
    std::vector<Event> events_;
};

}  // namespace assetctl::publish
