#pragma once

#include <stdexcept>
#include <string>

namespace assetctl::util {

// The process exit codes. They are part of the interface: scripts branch on them, so a value
// never changes meaning. Documented in README.md and ARCHITECTURE.md.
enum class ExitCode : int {
    ok = 0,             // everything selected was done
    assets_failed = 1,  // the run completed, but at least one asset failed
    usage = 2,          // the command line is wrong (unknown option, bad value)
    input = 3,          // the input is wrong (cdk.out missing, bad manifest, empty selection)
    internal = 70,      // a bug in assetctl (unexpected exception)
    interrupted = 130,  // SIGINT/SIGTERM: children stopped, temporary files removed
};

int to_int(ExitCode code);

// "Print and exit": thrown for failures that end the whole command. The message is one
// complete line for the user; `hint` (may be empty) says what to do about it.
class Fatal : public std::runtime_error {
  public:
    Fatal(ExitCode code, const std::string& message, std::string hint = {});

    ExitCode exit_code() const noexcept { return code_; }
    const std::string& hint() const noexcept { return hint_; }

  private:
    ExitCode code_;
    std::string hint_;
};

}  // namespace assetctl::util
