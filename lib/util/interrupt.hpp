#pragma once

#include <stdexcept>

namespace assetctl::util {

// Thrown by long-running work that noticed interrupted() and stopped (unwinding removes its
// temporary files); callers map it to exit code 130.
class Interrupted : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// SIGINT and SIGTERM become a flag (and a readable pipe) instead of ending the process at once,
// so running work can stop its child processes, remove its temporary files by unwinding, and
// exit with 130. A second signal while stopping ends the process immediately.
void install_interrupt_handlers();

// True once SIGINT/SIGTERM arrived (or request_interrupt was called).
bool interrupted();

// A file descriptor that becomes readable when interrupted, for poll() loops; -1 before
// install_interrupt_handlers().
int interrupt_fd();

// Marks the process interrupted as if the signal had arrived (tests).
void request_interrupt();

// Clears the flag and drains the pipe. For tests only: real interruptions end the process.
void clear_interrupt_for_tests();

}  // namespace assetctl::util
