#pragma once

#include <cerrno>
#include <deque>
#include <mutex>
#include <optional>
#include <signal.h>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include "process/process_runner.hpp"
#include "support/surprises.hpp"
#include "util/strings.hpp"

namespace assetctl::test {

// A scripted ProcessRunner, in one of two ways. In order: each expect() is one run that must
// arrive in order with exactly that argv, answered with the scripted Result (or SpawnError).
// By rule, for runs from several threads in no fixed order (the publisher's builds and
// pushes): once nothing is expected in order, a run is answered by the first rule (on(), add())
// that matches it. Like the real runner, a run
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

    // A rule answers a command (or declines with nullopt).
    using Rule = std::function<std::optional<process::Result>(const process::Command&)>;

    // Answers `docker <verb> ...` (whose argv contains `containing`, if given), first handing
    // `stdout_line` to the command's stdout callback.
    void on(std::string verb, process::Result result, std::string stdout_line = {},
            std::string containing = {}) {
        std::lock_guard lock(mutex_);
        rules_.push_back([verb, result, stdout_line, containing](
                             const process::Command& command) -> std::optional<process::Result> {
            if (command.argv.size() < 2 || command.argv[1] != verb) {
                return std::nullopt;
            }
            if (!containing.empty() && std::find(command.argv.begin(), command.argv.end(),
                                                 containing) == command.argv.end()) {
                return std::nullopt;
            }
            if (!stdout_line.empty() && command.on_stdout_line) {
                command.on_stdout_line(stdout_line);
            }
            return result;
        });
    }
    // Answers `docker <verb> ...` (whose argv contains `containing`, if given) by writing
    // `bytes` into the command's stdout_fd (as `docker save` would), then `result`. A reader
    // that closes its end early ends the writing, as SIGPIPE ends the engine: the answer is then
    // the engine's death by SIGPIPE. A command without stdout_fd is a surprise.
    void on_stdout_bytes(std::string verb, std::string bytes, process::Result result,
                         std::string containing = {}) {
        add([this, verb, bytes, result,
             containing](const process::Command& command) -> std::optional<process::Result> {
            if (command.argv.size() < 2 || command.argv[1] != verb ||
                (!containing.empty() && std::find(command.argv.begin(), command.argv.end(),
                                                  containing) == command.argv.end())) {
                return std::nullopt;
            }
            if (!command.stdout_fd) {
                surprises_.raise("FakeProcessRunner: " + util::shell_join(command.argv) +
                                 " has no stdout_fd for the scripted bytes");
            }
            if (!write_all_without_sigpipe(*command.stdout_fd, bytes)) {
                process::Result killed;
                killed.signal = SIGPIPE;
                killed.err = "write /dev/stdout: broken pipe\n";
                return killed;
            }
            return result;
        });
    }
    // A rule of the test's own, tried before the others.
    void add(Rule rule) {
        std::lock_guard lock(mutex_);
        rules_.insert(rules_.begin(), std::move(rule));
    }
    // Forgets every rule (to script a case from scratch).
    void clear_rules() {
        std::lock_guard lock(mutex_);
        rules_.clear();
    }

    process::Result run(const process::Command& command) override {
        if (auto answer = answer_by_rule(command)) {
            return *answer;
        }
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
    // argv[1] of every run so far (`build`, `push`, ...), or argv[0] for a bare command.
    std::vector<std::string> verbs() const {
        std::lock_guard lock(mutex_);
        std::vector<std::string> out;
        for (const auto& command : commands_) {
            out.push_back(command.argv.size() > 1 ? command.argv[1] : command.argv[0]);
        }
        return out;
    }
    std::size_t count(const std::string& verb) const {
        const auto all = verbs();
        return static_cast<std::size_t>(std::count(all.begin(), all.end(), verb));
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
    // Writes all of `bytes` to `fd`; false when the reader went away (EPIPE). SIGPIPE is blocked
    // for this thread meanwhile and one the write raised is consumed, so the test lives on.
    static bool write_all_without_sigpipe(int fd, const std::string& bytes) {
        sigset_t pipe_only;
        ::sigemptyset(&pipe_only);
        ::sigaddset(&pipe_only, SIGPIPE);
        sigset_t old_mask;
        ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
        std::size_t written = 0;
        bool broken = false;
        while (written < bytes.size() && !broken) {
            const auto n = ::write(fd, bytes.data() + written, bytes.size() - written);
            if (n > 0) {
                written += static_cast<std::size_t>(n);
            } else if (n < 0 && errno != EINTR) {
                broken = true;
            }
        }
        if (broken) {
            const timespec zero{0, 0};
            ::sigtimedwait(&pipe_only, nullptr, &zero);
        }
        ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
        return !broken;
    }

    struct Expected {
        std::vector<std::string> argv;
        process::Result result;
        std::vector<Line> lines;
        std::optional<std::string> spawn_error;
    };

    // With nothing expected in order and some rule given: records the command and answers it
    // by the first rule that matches (a surprise when none does).
    std::optional<process::Result> answer_by_rule(const process::Command& command) {
        std::vector<Rule> rules;
        {
            std::lock_guard lock(mutex_);
            if (!expected_.empty() || rules_.empty()) {
                return std::nullopt;
            }
            commands_.push_back(command);
            rules = rules_;
        }
        for (const auto& rule : rules) {
            if (auto result = rule(command)) {
                return result;
            }
        }
        surprises_.raise("FakeProcessRunner: no rule for " + util::shell_join(command.argv));
    }

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
    std::vector<Rule> rules_;
    std::vector<process::Command> commands_;
};

}  // namespace assetctl::test
