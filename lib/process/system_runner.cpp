#include <algorithm>
#include <array>
#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <signal.h>
#include <string_view>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

#include "process/process_runner.hpp"
#include "util/fd.hpp"
#include "util/interrupt.hpp"

extern char** environ;

namespace assetctl::process {
namespace {

// A pipe whose ends close themselves (util::make_pipe); SpawnError when there is none.
struct Pipe {
    util::Fd read;
    util::Fd write;
    Pipe() {
        try {
            auto pipe = util::make_pipe();
            read = std::move(pipe.read);
            write = std::move(pipe.write);
        } catch (const std::system_error& e) {
            throw SpawnError(std::string("pipe: ") + e.code().message());
        }
    }
    void close_read() { read = util::Fd(); }
    void close_write() { write = util::Fd(); }
};

std::vector<std::string> merged_environment(const Command& command) {
    std::vector<std::string> out;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        const auto name = text.substr(0, text.find('='));
        bool overridden = false;
        for (const auto& [key, value] : command.environment) {
            overridden = overridden || key == name;
        }
        if (!overridden) {
            out.emplace_back(text);
        }
    }
    for (const auto& [key, value] : command.environment) {
        out.push_back(key + "=" + value);
    }
    return out;
}

// Writes to the child's stdin without SIGPIPE: a child that stops reading must not kill the
// caller. SIGPIPE is blocked for this thread during the write, and one the write raised is
// consumed (SIGPIPE from write() is directed at the writing thread).
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
    sigset_t pipe_only;
    ::sigemptyset(&pipe_only);
    ::sigaddset(&pipe_only, SIGPIPE);
    sigset_t pending;
    ::sigpending(&pending);
    const bool was_pending = ::sigismember(&pending, SIGPIPE) == 1;
    sigset_t old_mask;
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old_mask);
    const ssize_t n = ::write(fd, data, size);
    const int write_errno = errno;
    if (n < 0 && write_errno == EPIPE && !was_pending) {
        const timespec zero{0, 0};
        while (::sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
        }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    errno = write_errno;
    return n;
}

// In the child, after fork: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(const Command& command, char* const* argv, char* const* envp, int in,
                             int out, int err, int status_fd, long max_fd) {
    ::setpgid(0, 0);
    // A child writing to a closed pipe must end as programs expect (SIGPIPE), whatever
    // disposition or mask assetctl's thread has: exec keeps an ignored or blocked signal.
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t pipe_only;
    ::sigemptyset(&pipe_only);
    ::sigaddset(&pipe_only, SIGPIPE);
    ::sigprocmask(SIG_UNBLOCK, &pipe_only, nullptr);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    // Descriptors the caller opened without O_CLOEXEC must not leak into the program.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3; fd < max_fd; ++fd) {
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }
    if (command.working_directory && ::chdir(command.working_directory->c_str()) != 0) {
        const int error = errno;
        [[maybe_unused]] auto n = ::write(status_fd, &error, sizeof error);
        ::_exit(127);
    }
    ::execvpe(argv[0], argv, envp);
    const int error = errno;
    [[maybe_unused]] auto n = ::write(status_fd, &error, sizeof error);
    ::_exit(127);
}

// Cuts a byte stream into lines for a Command's line callback.
class LineSplitter {
  public:
    explicit LineSplitter(const std::function<void(std::string_view)>& sink) : sink_(sink) {}

    void feed(std::string_view data) {
        if (!sink_) {
            return;
        }
        for (char c : data) {
            if (c == '\n') {
                emit();
            } else {
                pending_ += c;
            }
        }
    }
    void finish() {
        if (sink_ && !pending_.empty()) {
            emit();
        }
    }

  private:
    void emit() {
        if (!pending_.empty() && pending_.back() == '\r') {
            pending_.pop_back();
        }
        sink_(pending_);
        pending_.clear();
    }

    const std::function<void(std::string_view)>& sink_;
    std::string pending_;
};

class SystemRunner final : public ProcessRunner {
  public:
    Result run(const Command& command) override {
        if (command.argv.empty()) {
            throw SpawnError("empty command");
        }
        std::vector<std::string> env_strings = merged_environment(command);
        std::vector<char*> argv;
        for (const auto& arg : command.argv) {
            argv.push_back(const_cast<char*>(arg.c_str()));
        }
        argv.push_back(nullptr);
        std::vector<char*> envp;
        for (auto& entry : env_strings) {
            envp.push_back(entry.data());
        }
        envp.push_back(nullptr);

        Pipe in;
        Pipe out;  // unused (closed at once) when the command gives its own stdout_fd
        Pipe err;
        Pipe status;  // carries errno from a failed exec; closed by a successful one
        const long max_fd = ::sysconf(_SC_OPEN_MAX);
        const pid_t pid = ::fork();
        if (pid < 0) {
            throw SpawnError("fork: " + util::errno_message(errno));
        }
        if (pid == 0) {
            // The child's copies of the Pipes are never destroyed: exec or _exit ends it.
            exec_child(command, argv.data(), envp.data(), in.read.get(),
                       command.stdout_fd.value_or(out.write.get()), err.write.get(),
                       status.write.get(), max_fd);
        }
        ::setpgid(pid, pid);  // also from the parent, so it holds before we signal the group
        in.close_read();
        out.close_write();
        if (command.stdout_fd) {
            out.close_read();  // nothing to collect: the child writes to the caller's descriptor
        }
        err.close_write();
        status.close_write();

        int exec_errno = 0;
        ssize_t got = 0;
        while ((got = ::read(status.read.get(), &exec_errno, sizeof exec_errno)) < 0 &&
               errno == EINTR) {
        }
        if (got == sizeof exec_errno) {
            int ignored = 0;
            ::waitpid(pid, &ignored, 0);
            const std::string where =
                command.working_directory
                    ? " (working directory " + command.working_directory->string() + ")"
                    : "";
            throw SpawnError("cannot run '" + command.argv[0] + "'" + where + ": " +
                             util::errno_message(exec_errno));
        }
        return communicate(pid, command, in, out, err);
    }

  private:
    // Feeds stdin, collects stdout and stderr until both close, then reaps the child; the
    // timeout and interruptions stop the child's process group at any point.
    static Result communicate(pid_t pid, const Command& command, Pipe& in, Pipe& out, Pipe& err) {
        Result result;
        start_input(command, in);
        const auto deadline = std::chrono::steady_clock::now() + command.timeout;
        std::optional<int> status;  // set once the child is reaped
        std::array<char, 65536> buffer{};
        LineSplitter out_lines(command.on_stdout_line);
        LineSplitter err_lines(command.on_stderr_line);
        std::size_t written = 0;
        while (out.read || err.read) {
            std::array<pollfd, 4> fds{{{out.read.get(), POLLIN, 0},
                                       {err.read.get(), POLLIN, 0},
                                       {in.write.get(), POLLOUT, 0},
                                       {util::interrupt_fd(), POLLIN, 0}}};
            const auto timeout_ms = poll_timeout_ms(command, deadline, pid, result, status);
            if (!timeout_ms) {
                break;
            }
            if (::poll(fds.data(), fds.size(), *timeout_ms) < 0) {
                if (errno == EINTR) {
                    continue;
                }
                break;
            }
            if (fds[2].revents != 0 && in.write) {
                write_some_input(command, in, written);
            }
            drain(fds[0], out, result.out, buffer, out_lines);
            drain(fds[1], err, result.err, buffer, err_lines);
        }
        out_lines.finish();
        err_lines.finish();
        in.close_write();
        if (!status) {
            // The output is closed but the child may still run: the timeout and interruptions
            // still apply.
            const auto until = command.timeout.count() > 0
                                   ? deadline
                                   : std::chrono::steady_clock::time_point::max();
            status = wait_until(pid, until, result);
        }
        record_exit(*status, result);
        return result;
    }

    // Nothing to send closes stdin at once; otherwise it is written without blocking.
    static void start_input(const Command& command, Pipe& in) {
        if (command.input.empty()) {
            in.close_write();
        } else {
            ::fcntl(in.write.get(), F_SETFL, O_NONBLOCK);
        }
    }

    // How long the next poll() may wait (-1: forever), or nullopt when the child was stopped
    // (interrupted, or its time is up); `status` then holds its wait status.
    static std::optional<int> poll_timeout_ms(const Command& command,
                                              std::chrono::steady_clock::time_point deadline,
                                              pid_t pid, Result& result,
                                              std::optional<int>& status) {
        if (util::interrupted()) {
            result.interrupted = true;
            status = stop_group(pid);
            return std::nullopt;
        }
        if (command.timeout.count() <= 0) {
            return -1;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            status = stop_group(pid);
            return std::nullopt;
        }
        return static_cast<int>(left.count());
    }

    // Writes what the pipe takes of the rest of the input; closes stdin once all of it is
    // written or the child stopped reading (EPIPE).
    static void write_some_input(const Command& command, Pipe& in, std::size_t& written) {
        const auto n = write_without_sigpipe(in.write.get(), command.input.data() + written,
                                             command.input.size() - written);
        if (n > 0) {
            written += static_cast<std::size_t>(n);
        }
        if (n < 0 && errno != EAGAIN) {
            in.close_write();  // EPIPE: the child does not read its input
        }
        if (written == command.input.size()) {
            in.close_write();
        }
    }

    static void record_exit(int status, Result& result) {
        if (WIFEXITED(status)) {
            result.exit_code = WEXITSTATUS(status);
        } else if (WIFSIGNALED(status)) {
            result.signal = WTERMSIG(status);
        }
    }

    static int wait_blocking(pid_t pid) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return status;
    }

    static int wait_until(pid_t pid, std::chrono::steady_clock::time_point deadline,
                          Result& result) {
        for (;;) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                return status;
            }
            if (util::interrupted()) {
                result.interrupted = true;
                return stop_group(pid);
            }
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline) {
                result.timed_out = true;
                return stop_group(pid);
            }
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
            std::array<pollfd, 1> fds{{{util::interrupt_fd(), POLLIN, 0}}};
            ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left, 10)));
        }
    }

    static void drain(const pollfd& fd, Pipe& pipe, std::string& sink,
                      std::array<char, 65536>& buffer, LineSplitter& lines) {
        if (!pipe.read || fd.revents == 0) {
            return;
        }
        const auto n = ::read(pipe.read.get(), buffer.data(), buffer.size());
        if (n > 0) {
            sink.append(buffer.data(), static_cast<std::size_t>(n));
            lines.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            pipe.close_read();
        }
    }

    // SIGTERM to the whole group, SIGKILL to what is left. Returns the child's wait status (it
    // is reaped here, so the caller must not wait for it again).
    static int stop_group(pid_t pid) {
        ::kill(-pid, SIGTERM);
        for (int i = 0; i < 50; ++i) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                ::kill(-pid, SIGKILL);
                return status;
            }
            ::usleep(10'000);
        }
        ::kill(-pid, SIGKILL);
        return wait_blocking(pid);
    }
};

}  // namespace

std::unique_ptr<ProcessRunner> make_system_runner() {
    return std::make_unique<SystemRunner>();
}

}  // namespace assetctl::process
