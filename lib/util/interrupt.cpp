#include "util/interrupt.hpp"

#include <atomic>
#include <fcntl.h>
#include <mutex>
#include <signal.h>
#include <unistd.h>

namespace assetctl::util {
namespace {

std::atomic<bool> g_interrupted{false};
std::atomic<int> g_read_fd{-1};
std::atomic<int> g_write_fd{-1};

void notify() {
    const int fd = g_write_fd.load();
    if (fd >= 0) {
        const char byte = 1;
        [[maybe_unused]] auto n = ::write(fd, &byte, 1);  // async-signal-safe
    }
}

extern "C" void on_signal(int signal) {
    if (g_interrupted.exchange(true)) {
        ::_exit(128 + signal);  // second signal: stop now
    }
    notify();
}

}  // namespace

void install_interrupt_handlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
            g_read_fd = fds[0];
            g_write_fd = fds[1];
        }
    });
    // Registered on every call: a test framework may have put its own handlers in between.
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
}

bool interrupted() {
    return g_interrupted.load();
}

int interrupt_fd() {
    return g_read_fd.load();
}

void request_interrupt() {
    if (!g_interrupted.exchange(true)) {
        notify();
    }
}

void clear_interrupt_for_tests() {
    g_interrupted = false;
    const int fd = g_read_fd.load();
    char buffer[64];
    while (fd >= 0 && ::read(fd, buffer, sizeof buffer) > 0) {
    }
}

}  // namespace assetctl::util
