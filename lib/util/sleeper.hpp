#pragma once

#include <chrono>
#include <thread>

namespace assetctl::util {

// Waiting, behind an interface so retry back-off can be tested without waiting.
class Sleeper {
  public:
    virtual ~Sleeper() = default;
    virtual void sleep_for(std::chrono::milliseconds duration) = 0;
};

class ThreadSleeper final : public Sleeper {
  public:
    void sleep_for(std::chrono::milliseconds duration) override {
        std::this_thread::sleep_for(duration);
    }
};

}  // namespace assetctl::util
