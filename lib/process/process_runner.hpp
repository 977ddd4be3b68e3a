#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace assetctl::process {

// One program to run: argv only, never a shell string.
struct Command {
    std::vector<std::string> argv;
    std::optional<std::filesystem::path> working_directory;
    // Added to (or replacing in) the inherited environment.
    std::vector<std::pair<std::string, std::string>> environment;
    // Written to the child's stdin, which is then closed (for passwords: never in argv).
    std::string input;
    // Zero: no limit. On expiry the child's process group gets SIGTERM, then SIGKILL.
    std::chrono::milliseconds timeout{0};
    // Called with each line of output as it arrives (without the newline; a last line without
    // one at the end). Output is captured in Result as well.
    // Not called when stdout_fd is set.
    std::function<void(std::string_view line)> on_stdout_line;
    std::function<void(std::string_view line)> on_stderr_line;
    // When set, the child's stdout is this descriptor (dup2'd in the child; a pipe's write end,
    // a file): Result::out stays empty and on_stdout_line is not called; stderr is still
    // captured. The caller keeps owning it: the runner never closes it, so a reader of a pipe
    // sees its end once the caller closes its own copy after run() returns. A child writing
    // after the reader closed gets SIGPIPE (or EPIPE) and ends, which run() reports as usual.
    std::optional<int> stdout_fd;
};

struct Result {
    int exit_code = -1;  // -1 when killed by a signal
    int signal = 0;      // the signal that ended it, or 0
    bool timed_out = false;
    // SIGINT/SIGTERM reached assetctl (util/interrupt.hpp) and the child's group was stopped.
    bool interrupted = false;
    std::string out;
    std::string err;

    bool ok() const { return exit_code == 0 && signal == 0 && !timed_out && !interrupted; }
};

// Failed to start at all (program not found, not executable, bad working directory).
class SpawnError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Runs programs and captures their output. Implementations are safe to call from several
// threads at once.
class ProcessRunner {
  public:
    virtual ~ProcessRunner() = default;
    virtual Result run(const Command& command) = 0;
};

// The real runner: fork/exec in a new process group, stdout and stderr captured.
std::unique_ptr<ProcessRunner> make_system_runner();

}  // namespace assetctl::process
