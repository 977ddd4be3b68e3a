#include <cerrno>
#include <fcntl.h>
#include <unistd.h>
#include <utility>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "util/fd.hpp"
#include "util/files.hpp"

using namespace assetctl::util;
using assetctl::test::TempDir;

namespace {

bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

}  // namespace

TEST_CASE("Fd closes its descriptor once, and a moved-from Fd holds nothing") {
    TempDir dir;
    const auto file = dir.write("a", "x");
    int raw = -1;
    {
        Fd first = open_for_reading(file.string());
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
    Fd fd = open_for_reading(file.string());
    const int raw = fd.release();
    CHECK_FALSE(fd.valid());
    CHECK(is_open(raw));
    Fd again(raw);
    again.close();
    CHECK_FALSE(is_open(raw));
    CHECK_NOTHROW(again.close());
}

TEST_CASE("open_for_reading and errno_message name the file and the reason") {
    CHECK(errno_message(ENOENT) == "No such file or directory");
    try {
        open_for_reading("/nonexistent/assetctl-file");
        FAIL("expected FileError");
    } catch (const FileError& e) {
        CHECK(std::string(e.what()) ==
              "/nonexistent/assetctl-file: cannot open: No such file or directory");
    }
}
