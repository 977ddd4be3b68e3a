#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "util/files.hpp"
#include "util/run_folders.hpp"

using assetctl::test::TempDir;
using namespace assetctl::util;
namespace fs = std::filesystem;

TEST_CASE("read_file returns the bytes and names the file when it cannot") {
    TempDir dir;
    const auto file = dir.write("a.json", std::string("x\0y", 3));
    CHECK(read_file(file) == std::string("x\0y", 3));

    try {
        read_file(dir.path() / "missing.json");
        FAIL("expected FileError");
    } catch (const FileError& e) {
        CHECK_THAT(e.what(),
                   Catch::Contains("missing.json") && Catch::Contains("No such file or directory"));
    }
    CHECK_THROWS_AS(read_file(dir.path()), FileError);
}

TEST_CASE("is_within resolves .. and symlinks before comparing") {
    TempDir dir;
    const auto root = dir.mkdir("cdk.out");
    dir.mkdir("cdk.out/asset.1");
    dir.mkdir("outside");
    CHECK(is_within(root / "asset.1", root));
    CHECK(is_within(root, root));
    CHECK(is_within(root / "assembly-A" / ".." / "asset.1", root));
    CHECK_FALSE(is_within(root / ".." / "outside", root));
    CHECK_FALSE(is_within(dir.path() / "cdk.out-sibling", root));

    fs::create_directory_symlink(dir.path() / "outside", root / "link");
    CHECK_FALSE(is_within(root / "link", root));
}

TEST_CASE("read_at reads from an offset, fewer bytes only at the end of the file") {
    assetctl::test::TempDir dir;
    const auto file = dir.write("data", "0123456789");
    const int fd = ::open(file.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    char buffer[8] = {};
    CHECK(assetctl::util::read_at(fd, buffer, 4, 3) == 4);
    CHECK(std::string(buffer, 4) == "3456");
    CHECK(assetctl::util::read_at(fd, buffer, 8, 6) == 4);  // the file ends
    CHECK(std::string(buffer, 4) == "6789");
    CHECK(assetctl::util::read_at(fd, buffer, 8, 100) == 0);
    ::close(fd);
    CHECK_THROWS_AS(assetctl::util::read_at(-1, buffer, 1, 0), std::system_error);
}

TEST_CASE("a private directory is 0700 and removed with what it holds unless kept") {
    std::filesystem::path kept;
    std::filesystem::path removed;
    {
        assetctl::util::PrivateDirectory dir("test");
        removed = dir.path();
        CHECK((std::filesystem::status(removed).permissions() & std::filesystem::perms::all) ==
              std::filesystem::perms::owner_all);
        std::ofstream(removed / "inside") << "x";
    }
    CHECK_FALSE(std::filesystem::exists(removed));
    {
        assetctl::util::PrivateDirectory dir("test");
        dir.keep();
        kept = dir.path();
    }
    CHECK(std::filesystem::exists(kept));
    // Kept: renamed without the run id, so later runs never take it for a killed run's.
    CHECK_FALSE(assetctl::util::run_of_folder(kept.filename().string()).has_value());
    CHECK_THAT(kept.filename().string(), Catch::StartsWith("assetctl-test-"));
    std::filesystem::remove_all(kept);
}

TEST_CASE("write_file_atomically replaces the file whole, with exactly the mode asked for") {
    TempDir dir;
    const auto file = dir.write("config.json", "old");
    const auto old_umask = ::umask(0077);
    write_file_atomically(file, "new bytes",
                          fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                              fs::perms::others_read);
    ::umask(old_umask);
    CHECK(read_file(file) == "new bytes");
    CHECK((fs::status(file).permissions() & fs::perms::mask) ==
          (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
           fs::perms::others_read));
    // Nothing but the file itself is left in the folder.
    std::size_t entries = 0;
    for (const auto& entry : fs::directory_iterator(dir.path())) {
        (void)entry;
        ++entries;
    }
    CHECK(entries == 1);
}

TEST_CASE("write_file_atomically never follows a planted symlink and leaves no temporary file") {
    TempDir dir;
    const auto victim = dir.write("victim", "keep");
    const auto link = dir.path() / "config.json";
    fs::create_symlink(victim, link);
    write_file_atomically(link, "secret", fs::perms::owner_read | fs::perms::owner_write);
    CHECK(read_file(victim) == "keep");  // the link was replaced, not written through
    CHECK_FALSE(fs::is_symlink(link));
    CHECK(read_file(link) == "secret");

    try {
        write_file_atomically(dir.path() / "missing" / "x", "y", fs::perms::owner_read);
        FAIL("expected FileError");
    } catch (const FileError& e) {
        CHECK_THAT(e.what(),
                   Catch::Contains("missing/x") && Catch::Contains("No such file or directory"));
    }
}
