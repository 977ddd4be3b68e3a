// zip_directory: the entries cdk-assets 4.7.3 would write for a folder (names, order, modes,
// dates), read back without libarchive (zip_reading.hpp), and the same bytes whatever the time
// zone, the files' times and owners. tests/integration/zip compares with cdk-assets itself.
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "packaging/zip_directory.hpp"
#include "packaging/zip_reading.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace fs = std::filesystem;
using assetctl::packaging::content_type_for;
using assetctl::packaging::zip_directory;
using assetctl::test::crc_of;
using assetctl::test::read_bytes;
using assetctl::test::read_zip;
using assetctl::test::TempDir;
using assetctl::test::ZipEntryInfo;
using Catch::Matchers::Contains;

namespace {

constexpr std::uint16_t k_dos_date_1980_01_01 = (0 << 9) | (1 << 5) | 1;
constexpr std::uint16_t k_utf8_flag = 0x0800;

std::vector<std::string> names_of(const std::vector<ZipEntryInfo>& entries) {
    std::vector<std::string> names;
    for (const auto& e : entries) {
        names.push_back(e.name);
    }
    return names;
}

const ZipEntryInfo& entry_named(const std::vector<ZipEntryInfo>& entries, const std::string& name) {
    for (const auto& e : entries) {
        if (e.name == name) {
            return e;
        }
    }
    FAIL("no entry " << name);
    throw std::logic_error("unreachable");
}

// The folder of the sorting traps: nested folders, dot files, an empty folder, a symlink to a
// file, an executable file, and names whose byte order differs from a natural sort.
void make_tree(const TempDir& dir) {
    dir.write("src/z.txt", "zed\n");
    dir.write("src/a/b/c", "deep\n");
    dir.write("src/a-b", "dash\n");
    dir.write("src/a.b", "dot\n");
    dir.write("src/A/f", "upper\n");
    dir.write("src/_x/g", "underscore\n");
    dir.write("src/.dot", "hidden\n");
    dir.write("src/.hid/h", "hidden folder\n");
    dir.write("src/Z", "upper zed\n");
    dir.write("src/empty.txt", "");
    dir.write("src/tool.sh", "#!/bin/sh\necho hi\n");
    dir.mkdir("src/empty/nested-empty");
    fs::permissions(dir.path() / "src/tool.sh", fs::perms(0755));
    fs::permissions(dir.path() / "src/z.txt", fs::perms(0644));
    fs::create_symlink("z.txt", dir.path() / "src/link");
}

// Sets TZ for this process (and tzset) until the object goes; restores the old value.
class TimeZone {
  public:
    explicit TimeZone(const char* zone) {
        if (const char* old = std::getenv("TZ")) {
            old_ = old;
        }
        ::setenv("TZ", zone, 1);
        ::tzset();
    }
    ~TimeZone() {
        if (old_) {
            ::setenv("TZ", old_->c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }
    TimeZone(const TimeZone&) = delete;
    TimeZone& operator=(const TimeZone&) = delete;

  private:
    std::optional<std::string> old_;
};

long utc_offset_now() {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    return local.tm_gmtoff;
}

}  // namespace

TEST_CASE("zip_directory lists files level by level, each folder in byte order, as cdk-assets") {
    TempDir dir;
    make_tree(dir);
    const auto report = zip_directory(dir.path() / "src", dir.path() / "out.zip");
    const auto entries = read_zip(dir.path() / "out.zip");
    // fast-glob (cdk-assets 4.7.3) reads the top folder, then its subfolders in order, and so
    // on; folders (the empty one included) are no entries.
    CHECK(names_of(entries) == std::vector<std::string>{".dot", "Z", "a-b", "a.b", "empty.txt",
                                                        "link", "tool.sh", "z.txt", ".hid/h", "A/f",
                                                        "_x/g", "a/b/c"});
    CHECK(report.entries == entries.size());
    CHECK(report.bytes == fs::file_size(dir.path() / "out.zip"));
}

TEST_CASE("zip_directory keeps each file's mode, follows symlinks and dates every entry 1980") {
    TempDir dir;
    make_tree(dir);
    zip_directory(dir.path() / "src", dir.path() / "out.zip");
    const auto entries = read_zip(dir.path() / "out.zip");
    CHECK(entry_named(entries, "tool.sh").unix_mode() == 0100755);
    CHECK(entry_named(entries, "z.txt").unix_mode() == 0100644);
    CHECK(entry_named(entries, "link").unix_mode() == 0100644);
    CHECK(entry_named(entries, "link").contents == "zed\n");
    for (const auto& e : entries) {
        INFO(e.name);
        CHECK(e.method == 8);
        CHECK(e.dos_date == k_dos_date_1980_01_01);
        CHECK(e.dos_time == 0);
        CHECK(e.crc == crc_of(e.contents));
        CHECK(e.contents == read_bytes(dir.path() / "src" / e.name));
        CHECK((e.flags & k_utf8_flag) == 0);
    }
}

TEST_CASE("zip_directory writes the same bytes whatever the time zone, file times and owners") {
    TempDir dir;
    make_tree(dir);
    const fs::path src = dir.path() / "src";
    std::string first;
    {
        TimeZone zone("UTC");
        zip_directory(src, dir.path() / "utc.zip");
        first = read_bytes(dir.path() / "utc.zip");
    }
    fs::last_write_time(src / "z.txt", fs::file_time_type::clock::now() - std::chrono::hours(500));
    fs::last_write_time(src / "a/b/c", fs::file_time_type::clock::now() + std::chrono::hours(3));
    REQUIRE(::lchown((src / "A/f").c_str(), 1234, 5678) == 0);  // the tests run as root
    {
        TimeZone zone("Pacific/Auckland");
        REQUIRE(utc_offset_now() >= 12 * 3600);  // the zone really applies (tzdata installed)
        zip_directory(src, dir.path() / "auckland.zip");
    }
    CHECK(read_bytes(dir.path() / "auckland.zip") == first);
    zip_directory(src, dir.path() / "again.zip");
    CHECK(read_bytes(dir.path() / "again.zip") == first);
}

TEST_CASE("zip_directory streams files larger than its read chunk") {
    TempDir dir;
    std::string big;
    for (std::size_t i = 0; big.size() < 3 * 1024 * 1024 + 17; ++i) {
        big += std::to_string(i * 2654435761u) + (i % 7 ? " " : "\n");
    }
    dir.write("src/big.bin", big);
    zip_directory(dir.path() / "src", dir.path() / "out.zip");
    const auto entries = read_zip(dir.path() / "out.zip");
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].contents == big);
    CHECK(entries[0].crc == crc_of(big));
}

TEST_CASE("zip_directory stores names as bytes, flagging UTF-8 ones as cdk-assets' yazl does") {
    TempDir dir;
    const std::string cafe = "caf\xc3\xa9";
    const std::string not_utf8 = "bad\xff";
    dir.write("src/" + cafe, "c");
    dir.write("src/" + not_utf8, "b");
    dir.write("src/plain", "p");
    zip_directory(dir.path() / "src", dir.path() / "out.zip");
    const auto entries = read_zip(dir.path() / "out.zip");
    CHECK(names_of(entries) == std::vector<std::string>{not_utf8, cafe, "plain"});
    CHECK((entry_named(entries, cafe).flags & k_utf8_flag) != 0);
    CHECK((entry_named(entries, not_utf8).flags & k_utf8_flag) == 0);
    CHECK((entry_named(entries, "plain").flags & k_utf8_flag) == 0);
}

TEST_CASE("zip_directory of an empty folder is an empty zip") {
    TempDir dir;
    dir.mkdir("src/only-folders/inside");
    const auto report = zip_directory(dir.path() / "src", dir.path() / "out.zip");
    CHECK(report.entries == 0);
    CHECK(read_zip(dir.path() / "out.zip").empty());
    CHECK(report.bytes == 22);  // the end record alone: what cdk-assets' skip check calls empty
}

TEST_CASE("zip_directory refuses a dangling symlink, naming it") {
    TempDir dir;
    dir.write("src/ok", "x");
    fs::create_symlink("missing-target", dir.path() / "src/dangling");
    try {
        zip_directory(dir.path() / "src", dir.path() / "out.zip");
        FAIL("expected util::Fatal");
    } catch (const assetctl::util::Fatal& e) {
        CHECK_THAT(e.what(), Contains("src/dangling") && Contains("dangling symlink") &&
                                 Contains("missing-target"));
    }
    CHECK_FALSE(fs::exists(dir.path() / "out.zip"));
}

TEST_CASE("zip_directory refuses symlink loops") {
    TempDir dir;
    dir.write("src/sub/file", "x");
    SECTION("a folder link back to an ancestor") {
        fs::create_directory_symlink("..", dir.path() / "src/sub/up");
        CHECK_THROWS_WITH(zip_directory(dir.path() / "src", dir.path() / "out.zip"),
                          Contains("src/sub/up") && Contains("symlink loop"));
    }
    SECTION("a link to itself") {
        fs::create_symlink("self", dir.path() / "src/self");
        CHECK_THROWS_WITH(zip_directory(dir.path() / "src", dir.path() / "out.zip"),
                          Contains("src/self") && Contains("symlink loop"));
    }
    CHECK_FALSE(fs::exists(dir.path() / "out.zip"));
}

TEST_CASE("zip_directory follows a folder symlink that is no loop") {
    TempDir dir;
    dir.write("shared/lib.js", "lib");
    dir.write("src/index.js", "index");
    fs::create_directory_symlink("../shared", dir.path() / "src/node_modules");
    zip_directory(dir.path() / "src", dir.path() / "out.zip");
    const auto entries = read_zip(dir.path() / "out.zip");
    CHECK(names_of(entries) == std::vector<std::string>{"index.js", "node_modules/lib.js"});
}

TEST_CASE("zip_directory leaves no temporary file behind when it fails half way") {
    TempDir dir;
    dir.write("src/a", "a");
    dir.write("out/keep", "k");
    assetctl::util::request_interrupt();
    CHECK_THROWS_AS(zip_directory(dir.path() / "src", dir.path() / "out/x.zip"),
                    assetctl::util::Interrupted);
    assetctl::util::clear_interrupt_for_tests();
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(dir.path() / "out")) {
        left.push_back(e.path().filename().string());
    }
    CHECK(left == std::vector<std::string>{"keep"});
}

TEST_CASE("zip_directory writes a private file and replaces an existing zip whole") {
    TempDir dir;
    dir.write("src/a", "new");
    dir.write("out.zip", "old bytes, not a zip");
    zip_directory(dir.path() / "src", dir.path() / "out.zip");
    CHECK(read_zip(dir.path() / "out.zip").at(0).contents == "new");
    CHECK((fs::status(dir.path() / "out.zip").permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("zip_directory names what it cannot zip") {
    TempDir dir;
    dir.write("file", "x");
    CHECK_THROWS_WITH(zip_directory(dir.path() / "file", dir.path() / "out.zip"),
                      Contains("not a folder"));
    CHECK_THROWS_WITH(zip_directory(dir.path() / "nothing", dir.path() / "out.zip"),
                      Contains("nothing"));
    dir.mkdir("src");
    CHECK_THROWS_WITH(zip_directory(dir.path() / "src", dir.path() / "no/such/folder/out.zip"),
                      Contains("no/such/folder/out.zip"));
}

TEST_CASE("content_type_for answers as the mime package does") {
    CHECK(content_type_for("a/b/template.json") == "application/json");
    CHECK(content_type_for("bundle.ZIP") == "application/zip");
    CHECK(content_type_for("x.tar.gz") == "application/gzip");
    CHECK(content_type_for("conf.yml") == "text/yaml");
    CHECK(content_type_for("index.mjs") == "application/javascript");
    CHECK(content_type_for("page.html") == "text/html");
    CHECK(content_type_for("logo.svg") == "image/svg+xml");
    CHECK(content_type_for("handler.py") == "application/octet-stream");  // mime has no .py
    CHECK(content_type_for("noextension") == "application/octet-stream");
    CHECK(content_type_for("dir/.json") == "application/octet-stream");  // a dot file, no type
    CHECK(content_type_for("trailing.") == "application/octet-stream");
}
