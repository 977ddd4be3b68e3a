// Command::stdout_fd: the child's stdout into a descriptor of the caller's.
#include <array>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <signal.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "process/process_runner.hpp"
#include "support/temp_dir.hpp"
#include "util/fd.hpp"
#include "util/files.hpp"

using namespace assetctl::process;
using assetctl::test::TempDir;
using assetctl::util::Fd;
using namespace std::chrono_literals;

namespace {

struct TestPipe {
    Fd read;
    Fd write;
};

TestPipe make_pipe() {
    std::array<int, 2> fds{};
    REQUIRE(::pipe2(fds.data(), O_CLOEXEC) == 0);
    return {Fd(fds[0]), Fd(fds[1])};
}

Command sh_into(const std::string& script, int fd) {
    Command command;
    command.argv = {"/bin/sh", "-c", script};
    command.stdout_fd = fd;
    return command;
}

// Reads `fd` to its end (or until `limit` bytes, then stops reading).
std::string read_all(int fd, std::size_t limit = std::string::npos) {
    std::string data;
    std::array<char, 16384> buffer{};
    while (data.size() < limit) {
        const auto n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        data.append(buffer.data(), static_cast<std::size_t>(n));
    }
    return data;
}

bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

// Ignores SIGPIPE in this process while it lives (as a program embedding libcurl may), which a
// child would inherit through exec unless the runner restores the default.
class SigpipeIgnored {
  public:
    SigpipeIgnored() { old_ = ::signal(SIGPIPE, SIG_IGN); }
    ~SigpipeIgnored() { ::signal(SIGPIPE, old_); }
    SigpipeIgnored(const SigpipeIgnored&) = delete;
    SigpipeIgnored& operator=(const SigpipeIgnored&) = delete;

  private:
    sighandler_t old_{};
};

}  // namespace

TEST_CASE("stdout_fd: the child's stdout lands in the descriptor, stderr is still captured") {
    TempDir dir;
    const auto file = dir.path() / "out.bin";
    Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    REQUIRE(fd.valid());
    auto command = sh_into("printf 'one\\ntwo\\n'; printf 'err\\n' >&2; printf three", fd.get());
    std::vector<std::string> out_lines;
    std::vector<std::string> err_lines;
    command.on_stdout_line = [&](std::string_view line) { out_lines.emplace_back(line); };
    command.on_stderr_line = [&](std::string_view line) { err_lines.emplace_back(line); };
    const Result result = make_system_runner()->run(command);
    CHECK(result.ok());
    CHECK(result.out.empty());
    CHECK(out_lines.empty());
    CHECK(result.err == "err\n");
    CHECK(err_lines == std::vector<std::string>{"err"});
    CHECK(is_open(fd.get()));  // the runner closes nothing of the caller's
    fd.close();
    CHECK(assetctl::util::read_file(file) == "one\ntwo\nthree");
}

TEST_CASE("stdout_fd: output larger than a pipe buffer streams to a reader on another thread") {
    auto pipe = make_pipe();
    std::string received;
    std::thread reader([&] { received = read_all(pipe.read.get()); });
    constexpr std::size_t k_size = 5 * 1024 * 1024 + 3;
    const Result result = make_system_runner()->run(sh_into(
        "head -c " + std::to_string(k_size) + " /dev/zero; echo done >&2", pipe.write.get()));
    CHECK(is_open(pipe.write.get()));
    pipe.write = Fd();  // the reader sees the end once the last writer is gone
    reader.join();
    CHECK(result.ok());
    CHECK(result.out.empty());
    CHECK(result.err == "done\n");
    CHECK(received.size() == k_size);
    CHECK(received.find_first_not_of('\0') == std::string::npos);
}

TEST_CASE("stdout_fd: the bytes written are exactly the child's stdout") {
    auto pipe = make_pipe();
    std::string received;
    std::thread reader([&] { received = read_all(pipe.read.get()); });
    Command command;
    command.argv = {"cat"};
    std::string input(3 * 65536 + 11, '\0');
    for (std::size_t i = 0; i < input.size(); ++i) {
        input[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
    }
    command.input = input;
    command.stdout_fd = pipe.write.get();
    const Result result = make_system_runner()->run(command);
    pipe.write = Fd();
    reader.join();
    CHECK(result.ok());
    CHECK(received == input);
}

TEST_CASE("stdout_fd: a reader that closes early ends the child, and run() returns") {
    const SigpipeIgnored ignored;  // the child must still get the default SIGPIPE
    auto pipe = make_pipe();
    std::string received;
    std::thread reader([&] {
        received = read_all(pipe.read.get(), 100'000);
        pipe.read = Fd();
    });
    auto command = sh_into("exec cat /dev/zero", pipe.write.get());
    command.timeout = 30'000ms;  // a hang fails the test instead of blocking it
    const auto started = std::chrono::steady_clock::now();
    const Result result = make_system_runner()->run(command);
    reader.join();
    CHECK_FALSE(result.timed_out);
    CHECK_FALSE(result.ok());
    CHECK(result.signal == SIGPIPE);
    CHECK(received.size() >= 100'000);
    CHECK(std::chrono::steady_clock::now() - started < 30'000ms);
}

TEST_CASE("stdout_fd: the timeout stops a child blocked on a pipe nobody reads") {
    auto pipe = make_pipe();
    auto command = sh_into("exec cat /dev/zero", pipe.write.get());
    command.timeout = 300ms;
    const Result result = make_system_runner()->run(command);
    CHECK(result.timed_out);
    CHECK_FALSE(result.ok());
    CHECK(is_open(pipe.read.get()));
}
