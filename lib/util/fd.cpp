#include "util/fd.hpp"

#include <cerrno>
#include <cstring>
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

}  // namespace assetctl::util
