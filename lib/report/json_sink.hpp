#pragma once

#include <mutex>
#include <ostream>

#include "publish/events.hpp"

namespace assetctl::report {

// Newline-delimited JSON, one object per event: {"event": "success", "asset": ...}, with
// cdk-assets' event names (and `progress`, ours: "bytes" moved so far by an upload).
class JsonEventSink final : public publish::EventSink {
  public:
    explicit JsonEventSink(std::ostream& out);
    void emit(const publish::Event& event) override;

  private:
    std::mutex mutex_;
    std::ostream& out_;
};

}  // namespace assetctl::report
