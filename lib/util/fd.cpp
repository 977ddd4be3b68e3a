#include "util/fd.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

namespace assetctl::util {
namespace {

// strerror_r comes in two flavours; overloads pick whichever this libc declares.
[[maybe_unused]] std::string strerror_result(int /*rc*/, const char* buffer) {
    return buffer;
}
[[maybe_unused]] std::string strerror_result(const char* text, const char* /*buffer*/) {
    return text;
}

}  // namespace

std::string errno_message(int error) {
    char buffer[256] = {};
    return strerror_result(::strerror_r(error, buffer, sizeof buffer), buffer);
}

// Raw ::close belongs here: everything else holds descriptors in an Fd.
Fd::~Fd() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = other.release();
    }
    return *this;
}

int Fd::release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
}

void Fd::close() {
    if (fd_ < 0) {
        return;
    }
    const int fd = release();
    if (::close(fd) != 0 && errno != EINTR) {
        throw std::system_error(errno, std::generic_category(), "close");
    }
}

void write_all(int fd, std::string_view bytes) {
    std::size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::system_error(errno, std::generic_category(), "write");
        }
        written += static_cast<std::size_t>(n);
    }
}

Pipe make_pipe() {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
        throw std::system_error(errno, std::generic_category(), "pipe");
    }
    return Pipe{Fd(fds[0]), Fd(fds[1])};
}

}  // namespace assetctl::util
