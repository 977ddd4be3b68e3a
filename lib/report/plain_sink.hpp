#pragma once

#include <mutex>
#include <ostream>

#include "publish/events.hpp"

namespace assetctl::report {

// Progress for logs (CI, a pipe, TERM=dumb): one line per step of an asset at a destination,
// keyed by the asset's display name and short id:
//   [SharedImage (3c8fa917) → 123456789012-eu-west-1] pushing ... (1.2 s)
// Byte counts (`progress`), `start` and `debug` events are left out.
class PlainEventSink final : public publish::EventSink {
  public:
    PlainEventSink(std::ostream& out, bool color);
    void emit(const publish::Event& event) override;

  private:
    std::mutex mutex_;
    std::ostream& out_;
    bool color_;
};

// The label of an event's line: `Name (3c8fa917) → destination`, or without the destination
// for per-asset steps (build, cached).
std::string event_label(const publish::Event& event);

}  // namespace assetctl::report
