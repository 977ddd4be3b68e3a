#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace assetctl::publish {

// Progress events, named as cdk-assets names them so tooling built for it reads ours:
// start, check, found, cached, build, upload, success, fail (plus debug).
enum class EventType { start, check, found, cached, build, upload, success, fail, debug };

std::string_view to_string(EventType type);

struct Event {
    EventType type = EventType::debug;
    std::string asset;        // asset id
    std::string destination;  // destination id; empty for per-asset events (build, cached)
    std::string message;      // one readable line
    std::optional<std::chrono::milliseconds> duration;  // how long the step took
    std::string image_uri;                              // success: <registry>/<repository>:<tag>
    std::string digest;                                 // success after a push: the manifest digest
    std::string object_url;                             // success of a file: s3://<bucket>/<key>
    std::vector<std::string> details;  // fail: the last lines of the failing command's output
};

// Receives events from several threads at once.
class EventSink {
  public:
    virtual ~EventSink() = default;
    virtual void emit(const Event& event) = 0;
};

// One readable line per event on stderr-like output: `[asset:dest] message (1.2 s)`.
class TextEventSink final : public EventSink {
  public:
    TextEventSink(std::ostream& out, bool color);
    void emit(const Event& event) override;

  private:
    std::mutex mutex_;
    std::ostream& out_;
    bool color_;
};

// Newline-delimited JSON on stdout, one object per event: {"event": "success", "asset": ...}.
class JsonEventSink final : public EventSink {
  public:
    explicit JsonEventSink(std::ostream& out);
    void emit(const Event& event) override;

  private:
    std::mutex mutex_;
    std::ostream& out_;
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
