#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "process/process_runner.hpp"
#include "util/strings.hpp"

namespace assetctl::test {

// A scripted ProcessRunner: each expect() is one run that must arrive in order with exactly
// that argv, answered with the scripted Result (or SpawnError). Anything else throws
// std::logic_error.
class FakeProcessRunner final : public process::ProcessRunner {
  public:
    void expect(std::vector<std::string> argv, process::Result result) {
        std::lock_guard lock(mutex_);
        expected_.push_back({std::move(argv), std::move(result), std::nullopt});
    }
    void expect_spawn_error(std::vector<std::string> argv, std::string message) {
        std::lock_guard lock(mutex_);
        expected_.push_back({std::move(argv), {}, std::move(message)});
    }

    process::Result run(const process::Command& command) override {
        Expected expected;
        {
            std::lock_guard lock(mutex_);
            commands_.push_back(command);
            if (expected_.empty()) {
                throw std::logic_error("FakeProcessRunner: unexpected run of " +
                                       util::shell_join(command.argv));
            }
            expected = std::move(expected_.front());
            expected_.pop_front();
        }
        if (command.argv != expected.argv) {
            throw std::logic_error("FakeProcessRunner: expected " +
                                   util::shell_join(expected.argv) + ", got " +
                                   util::shell_join(command.argv));
        }
        if (expected.spawn_error) {
            throw process::SpawnError(*expected.spawn_error);
        }
        return expected.result;
    }

    bool all_used() const {
        std::lock_guard lock(mutex_);
        return expected_.empty();
    }
    std::vector<process::Command> commands() const {
        std::lock_guard lock(mutex_);
        return commands_;
    }

    // A finished run with this exit code and output.
    static process::Result exited(int code, std::string out, std::string err = {}) {
        process::Result result;
        result.exit_code = code;
        result.out = std::move(out);
        result.err = std::move(err);
        return result;
    }

  private:
    struct Expected {
        std::vector<std::string> argv;
        process::Result result;
        std::optional<std::string> spawn_error;
    };

    mutable std::mutex mutex_;
    std::deque<Expected> expected_;
    std::vector<process::Command> commands_;
};

}  // namespace assetctl::test
