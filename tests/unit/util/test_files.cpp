#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "util/files.hpp"

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
