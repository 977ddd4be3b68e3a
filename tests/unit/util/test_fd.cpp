#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>
#include <utility>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "util/fd.hpp"

using namespace assetctl::util;
using assetctl::test::TempDir;

namespace {

Fd open_file(const std::filesystem::path& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd.valid());
    return fd;
}

bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

}  // namespace

TEST_CASE("Fd closes its descriptor once, and a moved-from Fd holds nothing") {
    TempDir dir;
    const auto file = dir.write("a", "x");
    int raw = -1;
    {
        Fd first = open_file(file);
        raw = first.get();
        REQUIRE(is_open(raw));
        Fd second = std::move(first);
        CHECK_FALSE(first.valid());
        CHECK(second.get() == raw);
        Fd third;
        third = std::move(second);
        CHECK(third.get() == raw);
        CHECK(is_open(raw));
    }
    CHECK_FALSE(is_open(raw));
}

TEST_CASE("Fd::release gives the descriptor up; close() reports and is idempotent") {
    TempDir dir;
    const auto file = dir.write("a", "x");
    Fd fd = open_file(file);
    const int raw = fd.release();
    CHECK_FALSE(fd.valid());
    CHECK(is_open(raw));
    Fd again(raw);
    again.close();
    CHECK_FALSE(is_open(raw));
    CHECK_NOTHROW(again.close());
}

TEST_CASE("errno_message is the system's text for the errno value") {
    CHECK(errno_message(ENOENT) == "No such file or directory");
    CHECK(errno_message(EACCES) == "Permission denied");
}
