#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "process/process_runner.hpp"
#include "support/surprises.hpp"
#include "util/strings.hpp"

namespace assetctl::test {

// A scripted ProcessRunner: each expect() is one run that must arrive in order with exactly
// that argv, answered with the scripted Result (or SpawnError). Like the real runner, a run
// first hands the lines scripted for it to the command's line callbacks (stdout or stderr),
// interleaved as given. Anything else is a surprise (support/surprises.hpp): it throws
// std::logic_error and fails the test even if the code under test catches the exception.
class FakeProcessRunner final : public process::ProcessRunner {
  public:
    enum class Stream { out, err };
    struct Line {
        Stream stream;
        std::string text;
    };

    void expect(std::vector<std::string> argv, process::Result result,
                std::vector<Line> lines = {}) {
        std::lock_guard lock(mutex_);
        expected_.push_back({std::move(argv), std::move(result), std::move(lines), std::nullopt});
    }
    void expect_spawn_error(std::vector<std::string> argv, std::string message) {
        std::lock_guard lock(mutex_);
        expected_.push_back({std::move(argv), {}, {}, std::move(message)});
    }

    process::Result run(const process::Command& command) override {
        const auto expected = next(command);
        if (command.argv != expected.argv) {
            surprises_.raise("FakeProcessRunner: expected " + util::shell_join(expected.argv) +
                             ", got " + util::shell_join(command.argv));
        }
        if (expected.spawn_error) {
            throw process::SpawnError(*expected.spawn_error);
        }
        for (const auto& line : expected.lines) {
            const auto& sink =
                line.stream == Stream::out ? command.on_stdout_line : command.on_stderr_line;
            if (!sink) {
                surprises_.raise("FakeProcessRunner: " + util::shell_join(command.argv) +
                                 " has no callback for the scripted line '" + line.text + "'");
            }
            sink(line.text);
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
    // What was not expected so far (each also fails the test when this fake goes away).
    std::vector<std::string> surprises() const { return surprises_.list(); }

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
        std::vector<Line> lines;
        std::optional<std::string> spawn_error;
    };

    // Records the command and takes the next expectation off the script.
    Expected next(const process::Command& command) {
        std::unique_lock lock(mutex_);
        commands_.push_back(command);
        if (expected_.empty()) {
            lock.unlock();
            surprises_.raise("FakeProcessRunner: unexpected run of " +
                             util::shell_join(command.argv));
        }
        auto expected = std::move(expected_.front());
        expected_.pop_front();
        return expected;
    }

    Surprises surprises_;
    mutable std::mutex mutex_;
    std::deque<Expected> expected_;
    std::vector<process::Command> commands_;
};

}  // namespace assetctl::test
