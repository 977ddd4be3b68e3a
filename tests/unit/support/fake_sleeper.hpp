#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "util/sleeper.hpp"

namespace assetctl::test {

// Records the waits instead of waiting.
class FakeSleeper final : public util::Sleeper {
  public:
    void sleep_for(std::chrono::milliseconds duration) override {
        std::lock_guard lock(mutex_);
        sleeps_.push_back(duration);
    }
    std::vector<std::chrono::milliseconds> sleeps() const {
        std::lock_guard lock(mutex_);
        return sleeps_;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<std::chrono::milliseconds> sleeps_;
};

}  // namespace assetctl::test
