#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <future>
#include <signal.h>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "process/process_runner.hpp"
#include "support/temp_dir.hpp"
#include "util/interrupt.hpp"

using namespace assetctl::process;
using assetctl::test::TempDir;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

Result run(std::vector<std::string> argv, std::string input = {}) {
    Command command;
    command.argv = std::move(argv);
    command.input = std::move(input);
    return make_system_runner()->run(command);
}

Result sh(const std::string& script, std::string input = {}) {
    return run({"/bin/sh", "-c", script}, std::move(input));
}

// Makes this process the reaper of its orphaned descendants while it lives.
class SubreaperForThisTest {
  public:
    SubreaperForThisTest() { REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0); }
    ~SubreaperForThisTest() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
    SubreaperForThisTest(const SubreaperForThisTest&) = delete;
    SubreaperForThisTest& operator=(const SubreaperForThisTest&) = delete;
};

// Whether `pid` (a descendant) ends before `limit`: reaped here, or by its parent, and then
// no longer a process at all (kill(pid, 0) fails with ESRCH). Polls the condition until the
// deadline.
bool reaped_within(pid_t pid, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    do {
        const pid_t waited = ::waitpid(pid, nullptr, WNOHANG);
        if ((waited == pid || (waited < 0 && errno == ECHILD)) && ::kill(pid, 0) != 0 &&
            errno == ESRCH) {
            return true;
        }
        std::this_thread::sleep_for(5ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
}

std::string binary_text(std::size_t size) {
    std::string text(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        text[i] = static_cast<char>((i * 131 + i / 977) & 0xff);
    }
    return text;
}

pid_t read_pid(const fs::path& file) {
    std::ifstream in(file);
    long pid = 0;
    in >> pid;
    return static_cast<pid_t>(pid);
}

// True when `pid` has ended: no such process, or a zombie waiting for its (new) parent. The
// runner only reaps its direct child; an orphaned grandchild is reaped by init eventually.
bool has_ended(pid_t pid) {
    if (::kill(pid, 0) != 0) {
        return errno == ESRCH;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close_paren = line.rfind(')');
    return close_paren != std::string::npos && close_paren + 2 < line.size() &&
           line[close_paren + 2] == 'Z';
}

bool ends_within(pid_t pid, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!has_ended(pid)) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(5ms);  // polling interval, bounded by the deadline
    }
    return true;
}

}  // namespace

TEST_CASE("system runner reports exit codes") {
    CHECK(run({"true"}).exit_code == 0);
    CHECK(run({"true"}).ok());
    const Result failed = run({"false"});
    CHECK(failed.exit_code == 1);
    CHECK(failed.signal == 0);
    CHECK_FALSE(failed.timed_out);
    CHECK_FALSE(failed.ok());
    CHECK(sh("exit 3").exit_code == 3);
    CHECK(sh("exit 255").exit_code == 255);
}

TEST_CASE("system runner captures stdout and stderr separately") {
    const Result result = sh("printf 'out 1\\n'; printf 'err 1\\n' >&2; printf 'out 2'");
    CHECK(result.exit_code == 0);
    CHECK(result.out == "out 1\nout 2");
    CHECK(result.err == "err 1\n");
}

TEST_CASE("system runner captures more than a pipe buffer on both streams without deadlock") {
    // Both streams at once, stderr first, so a reader that drains only stdout would block.
    const Result result =
        sh("head -c 3000000 /dev/zero >&2; head -c 2500000 /dev/zero; head -c 1500000 /dev/zero "
           ">&2");
    CHECK(result.exit_code == 0);
    CHECK(result.out.size() == 2'500'000);
    CHECK(result.err.size() == 4'500'000);
    CHECK(result.out.find_first_not_of('\0') == std::string::npos);
}

TEST_CASE("system runner delivers stdin from memory, binary and large") {
    const std::string small("hello\0world\n", 12);
    CHECK(run({"cat"}, small).out == small);

    // Larger than the pipe buffers in both directions: writing and reading must interleave.
    const std::string large = binary_text(4 * 1024 * 1024 + 17);
    const Result result = run({"cat"}, large);
    CHECK(result.exit_code == 0);
    CHECK(result.out.size() == large.size());
    CHECK(result.out == large);
}

TEST_CASE("system runner gives a child without input an empty stdin") {
    const Result result = run({"cat"});
    CHECK(result.exit_code == 0);
    CHECK(result.out.empty());
}

TEST_CASE("system runner survives a child that does not read its input") {
    // The child exits without reading: writing the rest of the input fails with EPIPE, which
    // must neither hang nor kill the caller with SIGPIPE.
    const std::string input = binary_text(8 * 1024 * 1024);
    CHECK(run({"true"}, input).exit_code == 0);
    const Result closed = sh("exec 0<&-; echo closed", input);
    CHECK(closed.exit_code == 0);
    CHECK(closed.out == "closed\n");
    const Result partial = run({"head", "-c", "5"}, input);
    CHECK(partial.exit_code == 0);
    CHECK(partial.out == input.substr(0, 5));
}

TEST_CASE("system runner runs in the working directory") {
    TempDir dir;
    const auto sub = dir.mkdir("sub dir");
    Command command;
    command.argv = {"pwd", "-P"};
    command.working_directory = sub;
    const Result result = make_system_runner()->run(command);
    CHECK(result.exit_code == 0);
    CHECK(result.out == fs::canonical(sub).string() + "\n");

    // Relative program paths resolve against the new working directory.
    dir.write("sub dir/tool.sh", "#!/bin/sh\necho tool ran\n");
    fs::permissions(sub / "tool.sh", fs::perms::owner_all);
    command.argv = {"./tool.sh"};
    CHECK(make_system_runner()->run(command).out == "tool ran\n");
}

TEST_CASE("system runner adds and overrides environment variables") {
    REQUIRE(::setenv("ASSETCTL_TEST_INHERITED", "from parent", 1) == 0);
    REQUIRE(::setenv("ASSETCTL_TEST_OVERRIDDEN", "old", 1) == 0);
    Command command;
    command.argv = {"/bin/sh", "-c",
                    "printf '%s|%s|%s\\n' \"$ASSETCTL_TEST_INHERITED\" "
                    "\"$ASSETCTL_TEST_OVERRIDDEN\" \"$ASSETCTL_TEST_ADDED\"; "
                    "env | grep -c '^ASSETCTL_TEST_OVERRIDDEN='"};
    command.environment = {{"ASSETCTL_TEST_OVERRIDDEN", "new"}, {"ASSETCTL_TEST_ADDED", "a=b c"}};
    const Result result = make_system_runner()->run(command);
    ::unsetenv("ASSETCTL_TEST_INHERITED");
    ::unsetenv("ASSETCTL_TEST_OVERRIDDEN");
    CHECK(result.exit_code == 0);
    CHECK(result.out == "from parent|new|a=b c\n1\n");
}

TEST_CASE("system runner throws SpawnError naming a program that cannot run") {
    try {
        run({"assetctl-no-such-program", "--version"});
        FAIL("expected SpawnError");
    } catch (const SpawnError& e) {
        CHECK_THAT(e.what(), Catch::Contains("assetctl-no-such-program") &&
                                 Catch::Contains("No such file or directory"));
    }
    CHECK_THROWS_AS(run({"/nonexistent/dir/program"}), SpawnError);

    TempDir dir;
    const auto not_executable = dir.write("script.sh", "#!/bin/sh\necho hi\n");
    fs::permissions(not_executable, fs::perms::owner_read | fs::perms::owner_write);
    try {
        run({not_executable.string()});
        FAIL("expected SpawnError");
    } catch (const SpawnError& e) {
        CHECK_THAT(e.what(), Catch::Contains("script.sh") && Catch::Contains("denied"));
    }
    CHECK_THROWS_AS(run({}), SpawnError);
}

TEST_CASE("system runner throws SpawnError for a bad working directory") {
    TempDir dir;
    Command command;
    command.argv = {"true"};
    command.working_directory = dir.path() / "missing";
    try {
        make_system_runner()->run(command);
        FAIL("expected SpawnError");
    } catch (const SpawnError& e) {
        CHECK_THAT(e.what(), Catch::Contains("missing") && Catch::Contains("working directory") &&
                                 Catch::Contains("No such file or directory"));
    }
}

TEST_CASE("system runner reports the signal that ended the child") {
    const Result term = sh("kill -TERM $$");
    CHECK(term.signal == SIGTERM);
    CHECK(term.exit_code == -1);
    CHECK_FALSE(term.timed_out);
    CHECK_FALSE(term.ok());
    CHECK(sh("kill -KILL $$").signal == SIGKILL);
}

TEST_CASE("system runner timeout ends the whole process group") {
    TempDir dir;
    const auto leader_file = dir.path() / "leader.pid";
    const auto grandchild_file = dir.path() / "grandchild.pid";
    Command command;
    command.argv = {"/bin/sh",
                    "-c",
                    "echo $$ > \"$1\"; sleep 30 & echo $! > \"$2\"; wait",
                    "sh",
                    leader_file.string(),
                    grandchild_file.string()};
    // Long enough for the shell to have written both pids even on a loaded machine (at 1 s it
    // failed once while two builds ran beside it).
    command.timeout = 3'000ms;
    const auto started = std::chrono::steady_clock::now();
    const Result result = make_system_runner()->run(command);
    const auto elapsed = std::chrono::steady_clock::now() - started;

    CHECK(result.timed_out);
    CHECK_FALSE(result.ok());
    CHECK(result.signal == SIGTERM);
    CHECK(result.exit_code == -1);
    CHECK(elapsed >= 3'000ms);
    CHECK(elapsed < 10'000ms);
    const pid_t leader = read_pid(leader_file);
    const pid_t grandchild = read_pid(grandchild_file);
    REQUIRE(leader > 0);
    REQUIRE(grandchild > 0);
    CHECK(ends_within(leader, 5'000ms));
    CHECK(ends_within(grandchild, 5'000ms));
}

TEST_CASE("system runner timeout kills a group that ignores SIGTERM") {
    TempDir dir;
    const auto grandchild_file = dir.path() / "grandchild.pid";
    Command command;
    command.argv = {"/bin/sh", "-c", "trap '' TERM; sleep 30 & echo $! > \"$1\"; wait", "sh",
                    grandchild_file.string()};
    command.timeout = 500ms;
    const Result result = make_system_runner()->run(command);
    CHECK(result.timed_out);
    CHECK(result.signal == SIGKILL);
    const pid_t grandchild = read_pid(grandchild_file);
    REQUIRE(grandchild > 0);
    CHECK(ends_within(grandchild, 5'000ms));
}

TEST_CASE("system runner timeout holds after the child closes its output") {
    Command command;
    command.argv = {"/bin/sh", "-c", "exec >/dev/null 2>&1; exec sleep 30"};
    command.timeout = 500ms;
    const auto started = std::chrono::steady_clock::now();
    const Result result = make_system_runner()->run(command);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(result.timed_out);
    CHECK(result.signal == SIGTERM);
    CHECK(elapsed >= 500ms);
    CHECK(elapsed < 5'000ms);
}

TEST_CASE("system runner does not report a timeout for a child that finishes in time") {
    Command command;
    command.argv = {"/bin/sh", "-c", "echo done"};
    command.timeout = 30'000ms;
    const Result result = make_system_runner()->run(command);
    CHECK(result.ok());
    CHECK_FALSE(result.timed_out);
    CHECK(result.out == "done\n");
}

TEST_CASE("system runner leaks no file descriptors into the child") {
    // A descriptor the caller opened without O_CLOEXEC must not reach the child either.
    std::array<int, 2> fds{};
    REQUIRE(::pipe(fds.data()) == 0);
    const Result result = sh("cd /proc/$$/fd && echo *");
    const Result probe = sh("test -e /proc/$$/fd/" + std::to_string(fds[1]) + " && echo leaked");
    ::close(fds[0]);
    ::close(fds[1]);
    // 0-2 are the runner's pipes; 3 is the directory the shell's glob has open while listing.
    CHECK(result.out == "0 1 2 3\n");
    CHECK(probe.out.empty());
}

TEST_CASE("system runner is safe to use from several threads at once") {
    const auto runner = make_system_runner();
    std::vector<std::future<bool>> results;
    for (int i = 0; i < 8; ++i) {
        results.push_back(std::async(std::launch::async, [&runner, i] {
            const std::string input =
                std::to_string(i) + binary_text(300'000 + 1000 * static_cast<std::size_t>(i));
            bool all_ok = true;
            for (int round = 0; round < 5; ++round) {
                Command command;
                command.argv = {"cat"};
                command.input = input;
                const Result result = runner->run(command);
                all_ok = all_ok && result.ok() && result.out == input;
            }
            return all_ok;
        }));
    }
    for (auto& result : results) {
        CHECK(result.get());
    }
}

TEST_CASE("system runner streams output line by line as it arrives") {
    auto runner = assetctl::process::make_system_runner();
    assetctl::process::Command command;
    command.argv = {"/bin/sh", "-c", "printf 'one\\ntwo\\r\\nthree'; echo err >&2"};
    std::vector<std::string> out_lines;
    std::vector<std::string> err_lines;
    command.on_stdout_line = [&](std::string_view line) { out_lines.emplace_back(line); };
    command.on_stderr_line = [&](std::string_view line) { err_lines.emplace_back(line); };
    const auto result = runner->run(command);
    CHECK(result.ok());
    CHECK(out_lines == std::vector<std::string>{"one", "two", "three"});
    CHECK(err_lines == std::vector<std::string>{"err"});
    CHECK(result.out == "one\ntwo\r\nthree");
}

TEST_CASE("system runner stops the child's group when assetctl is interrupted") {
    // The grandchild is orphaned when the shell dies; as a subreaper this test process inherits
    // it, so it can reap it and see it gone (no init reaps zombies in some containers).
    const SubreaperForThisTest subreaper;
    assetctl::util::install_interrupt_handlers();
    auto runner = assetctl::process::make_system_runner();
    assetctl::process::Command command;
    // The child starts a grandchild in its group and reports its pid; the test then interrupts,
    // as SIGINT would.
    command.argv = {"/bin/sh", "-c", "sleep 100 & echo $!; wait"};
    pid_t grandchild = 0;
    command.on_stdout_line = [&grandchild](std::string_view line) {
        grandchild = static_cast<pid_t>(std::stol(std::string(line)));
        assetctl::util::request_interrupt();
    };
    const auto started = std::chrono::steady_clock::now();
    const auto result = runner->run(command);
    assetctl::util::clear_interrupt_for_tests();
    CHECK(result.interrupted);
    CHECK_FALSE(result.ok());
    CHECK(result.signal != 0);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
    REQUIRE(grandchild > 0);
    const bool gone = reaped_within(grandchild, std::chrono::seconds(5));
    if (!gone) {
        ::kill(grandchild, SIGKILL);  // do not leave it behind
        ::waitpid(grandchild, nullptr, 0);
    }
    CHECK(gone);
}

TEST_CASE("a real SIGINT to assetctl is caught, not fatal") {
    assetctl::util::install_interrupt_handlers();
    ::raise(SIGINT);
    CHECK(assetctl::util::interrupted());
    assetctl::util::clear_interrupt_for_tests();
    CHECK_FALSE(assetctl::util::interrupted());
}
