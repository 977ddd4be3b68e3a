#pragma once

#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace assetctl::test {

// What a fake did not expect (a request or run nobody scripted, a wrong argument). The fake
// throws std::logic_error at that point so the code under test stops, but the publisher, the
// doctor and the tarball pusher catch std::exception and would turn that into an ordinary
// failed outcome - a test expecting a failure would then pass. So each surprise is also
// recorded here and fails the test when the fake goes away, whatever became of the exception.
// Recorded, not reported at once: fakes are called from worker threads, and Catch2 2.13's
// assertion macros are not thread-safe; the destructor runs on the test's thread.
class Surprises {
  public:
    Surprises() = default;
    Surprises(const Surprises&) = delete;
    Surprises& operator=(const Surprises&) = delete;
    ~Surprises() {
        for (const auto& surprise : list()) {
            FAIL_CHECK(surprise);
        }
    }

    // Records `what` and throws it as a std::logic_error.
    [[noreturn]] void raise(const std::string& what) {
        {
            std::lock_guard lock(mutex_);
            list_.push_back(what);
        }
        throw std::logic_error(what);
    }
    std::vector<std::string> list() const {
        std::lock_guard lock(mutex_);
        return list_;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<std::string> list_;
};

}  // namespace assetctl::test
