#pragma once

#include <chrono>

namespace assetctl::util {

// The wall clock, behind an interface so that code which stamps requests (SigV4 dates) or
// measures expiry can be tested with a fixed time.
class Clock {
  public:
    virtual ~Clock() = default;
    virtual std::chrono::system_clock::time_point now() const = 0;
};

// The real system clock (UTC based, like std::chrono::system_clock).
class SystemClock final : public Clock {
  public:
    std::chrono::system_clock::time_point now() const override {
        return std::chrono::system_clock::now();
    }
};

// A clock that only moves when told to. Not synchronised: set it up before sharing it.
class FixedClock final : public Clock {
  public:
    explicit FixedClock(std::chrono::system_clock::time_point time) : time_(time) {}

    std::chrono::system_clock::time_point now() const override { return time_; }
    void set(std::chrono::system_clock::time_point time) { time_ = time; }
    void advance(std::chrono::system_clock::duration by) { time_ += by; }

  private:
    std::chrono::system_clock::time_point time_;
};

}  // namespace assetctl::util
