#pragma once

#include <string>
#include <string_view>

namespace assetctl::util {

// The system's text for an errno value ("No such file or directory"). One home for strerror,
// which is not thread-safe on every libc; this uses strerror_r.
std::string errno_message(int error);

// A file descriptor that closes itself. Move-only; a moved-from Fd holds nothing (-1).
class Fd {
  public:
    Fd() noexcept = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    ~Fd();
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }
    // Gives the descriptor up without closing it.
    int release() noexcept;
    // Closes now and reports the result: where a write must be known to have reached the file,
    // close()'s error counts. Throws std::system_error. A second call does nothing.
    void close();

  private:
    int fd_ = -1;
};

// Writes all of `bytes` to `fd`, however the kernel splits them (EINTR retried). Throws
// std::system_error (errno) on a write error; callers add what they were writing.
void write_all(int fd, std::string_view bytes);

// A pipe whose ends close themselves (and on exec: no other child inherits them). Throws
// std::system_error when the system has none to give.
struct Pipe {
    Fd read;
    Fd write;
};
Pipe make_pipe();

}  // namespace assetctl::util
