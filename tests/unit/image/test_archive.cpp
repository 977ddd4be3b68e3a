#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "image/archive.hpp"
#include "image/image_error.hpp"
#include "image/tar_builder.hpp"
#include "support/temp_dir.hpp"

using assetctl::image::ArchiveEntry;
using assetctl::image::FileRange;
using assetctl::image::ImageError;
using assetctl::image::normalize_archive_name;
using assetctl::image::TarArchive;
using assetctl::test::gzip_stored;
using assetctl::test::image_error;
using assetctl::test::pread_range;
using assetctl::test::TarBuilder;
using assetctl::test::TempDir;
using Catch::Matchers::Contains;

namespace {

// Distinct, position-dependent content so a range off by a block shows.
std::string pattern(std::size_t size, char seed) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        out[i] = static_cast<char>(seed + static_cast<char>(i % 251) + static_cast<char>(i / 251));
    }
    return out;
}

std::string open_error(const TempDir& temp, const std::string& tar_bytes,
                       const std::string& file_name = "image.tar") {
    const auto path = temp.path() / file_name;
    TarBuilder::write_bytes(path, tar_bytes);
    const auto spool = temp.mkdir("spool");
    try {
        (void)TarArchive::open(path, spool);
    } catch (const ImageError& e) {
        return e.what();
    }
    FAIL("TarArchive::open accepted " + file_name);
    return {};
}

const ArchiveEntry& entry_named(const TarArchive& archive, const std::string& name) {
    for (const auto& entry : archive.entries()) {
        if (entry.name == name) {
            return entry;
        }
    }
    FAIL("no entry " + name);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("normalize_archive_name drops ./, empty and . components and trailing slashes",
          "[archive]") {
    CHECK(normalize_archive_name("./a/b") == "a/b");
    CHECK(normalize_archive_name("a/./b") == "a/b");
    CHECK(normalize_archive_name("a//b/") == "a/b");
    CHECK(normalize_archive_name("./") == "");
    CHECK(normalize_archive_name(".") == "");
    CHECK_FALSE(normalize_archive_name("/etc/passwd"));
    CHECK_FALSE(normalize_archive_name("a/../b"));
    CHECK_FALSE(normalize_archive_name(".."));
    CHECK(normalize_archive_name("a/..b/c..") == "a/..b/c..");
}

TEST_CASE("a plain ustar tarball: entries, sizes and byte-exact ranges", "[archive]") {
    TempDir temp;
    const std::vector<std::pair<std::string, std::string>> files = {
        {"empty", ""},
        {"one", "x"},
        {"block-minus-one", pattern(511, 'a')},
        {"block", pattern(512, 'b')},
        {"block-plus-one", pattern(513, 'c')},
        {"dir/big", pattern(200000, 'd')},  // larger than the self-check prefix
        {"last", pattern(1000, 'e')},
    };
    TarBuilder builder;
    builder.directory("dir/");
    for (const auto& [name, content] : files) {
        builder.file(name, content);
    }
    const auto path = builder.write(temp.path() / "image.tar");
    const auto archive = TarArchive::open(path, temp.mkdir("spool"));

    CHECK(archive.path() == path);
    CHECK(archive.data_file() == path);  // not compressed: no copy
    CHECK(archive.entries().size() == files.size() + 1);
    CHECK(entry_named(archive, "dir").type == ArchiveEntry::Type::directory);
    for (const auto& [name, content] : files) {
        INFO(name);
        const ArchiveEntry* entry = archive.find_file(name);
        REQUIRE(entry != nullptr);
        CHECK(entry->type == ArchiveEntry::Type::file);
        CHECK(entry->size == content.size());
        const FileRange range = archive.range(name);
        CHECK(range.file == path);
        CHECK(range.offset == entry->data_offset);
        CHECK(range.offset % 512 == 0);
        CHECK(pread_range(range) == content);
    }
    CHECK(archive.read_file("block-plus-one") == files[4].second);
    CHECK(archive.find_file("./dir//big") == archive.find_file("dir/big"));
    CHECK(archive.find_file("dir") == nullptr);  // a directory is not a file
    CHECK(archive.find_file("missing") == nullptr);
    CHECK(archive.find_file("../last") == nullptr);
}

TEST_CASE("the first entry's data starts right after its header", "[archive]") {
    TempDir temp;
    const auto path = TarBuilder().file("a", "hello").write(temp.path() / "a.tar");
    const auto archive = TarArchive::open(path, temp.mkdir("spool"));
    CHECK(archive.find_file("a")->data_offset == 512);
}

TEST_CASE("entry names are normalised", "[archive]") {
    TempDir temp;
    const auto path = TarBuilder()
                          .directory("./")
                          .directory("./blobs/")
                          .directory("blobs/sha256/")
                          .file("./blobs/sha256/x", "x")
                          .file("a/./b", "b")
                          .write(temp.path() / "image.tar");
    const auto archive = TarArchive::open(path, temp.mkdir("spool"));
    std::vector<std::string> names;
    for (const auto& entry : archive.entries()) {
        names.push_back(entry.name);
    }
    // "./" is the root itself and is not an entry.
    CHECK(names == std::vector<std::string>{"blobs", "blobs/sha256", "blobs/sha256/x", "a/b"});
    CHECK(archive.read_file("a/b") == "b");
}

TEST_CASE("a tarball without the end-of-archive blocks is still read", "[archive]") {
    TempDir temp;
    const auto path = TarBuilder()
                          .file("a", "abc")
                          .file("b", pattern(700, 'q'))
                          .write(temp.path() / "x.tar", false);
    const auto archive = TarArchive::open(path, temp.mkdir("spool"));
    CHECK(pread_range(archive.range("b")) == pattern(700, 'q'));
}

TEST_CASE("pax long names and link targets keep offsets right", "[archive]") {
    TempDir temp;
    const std::string dir = "blobs/" + std::string(120, 'd') + "/";
    const std::string long_name = dir + "file-with-a-long-name";
    const std::string long_link_name = std::string(150, 'l');
    const auto path = TarBuilder()
                          .long_names(TarBuilder::LongNames::pax)
                          .file("short", pattern(700, 's'))
                          .file(long_name, pattern(3000, 'p'))
                          .symlink(long_link_name, long_name)
                          .file(dir + "second", pattern(10, 'z'))
                          .write(temp.path() / "pax.tar");
    const auto archive = TarArchive::open(path, temp.mkdir("spool"));
    REQUIRE(long_name.size() > 100);
    CHECK(pread_range(archive.range("short")) == pattern(700, 's'));
    CHECK(pread_range(archive.range(long_name)) == pattern(3000, 'p'));
    CHECK(pread_range(archive.range(dir + "second")) == pattern(10, 'z'));
    CHECK(entry_named(archive, long_link_name).link_target == long_name);
    CHECK(archive.find_file(long_link_name) == archive.find_file(long_name));
}

TEST_CASE("GNU long names and long link targets keep offsets right", "[archive]") {
    TempDir temp;
    const std::string long_name = std::string(130, 'g') + "/layer.tar";
    const std::string long_link_name = "links/" + std::string(140, 'k');
    const auto path = TarBuilder()
                          .long_names(TarBuilder::LongNames::gnu)
                          .file(long_name, pattern(1500, 'g'))
                          .hardlink(long_link_name, long_name)
                          .file("after", pattern(513, 'a'))
                          .write(temp.path() / "gnu.tar");
    const auto archive = TarArchive::open(path, temp.mkdir("spool"));
    CHECK(pread_range(archive.range(long_name)) == pattern(1500, 'g'));
    CHECK(pread_range(archive.range("after")) == pattern(513, 'a'));
    const auto& link = entry_named(archive, long_link_name);
    CHECK(link.type == ArchiveEntry::Type::hardlink);
    CHECK(link.link_target == long_name);
    CHECK(archive.find_file(long_link_name) == archive.find_file(long_name));
}

TEST_CASE("a gzip tarball is spooled to a private uncompressed file", "[archive]") {
    TempDir temp;
    const auto tar = TarBuilder()
                         .file("manifest.json", "[]")
                         .file("layer.tar", pattern(150000, 'L'))  // several gzip blocks
                         .file("tail", "end")
                         .bytes();
    // The magic bytes decide, not the name.
    const auto path = temp.write("image.tar", gzip_stored(tar));
    const auto spool = temp.mkdir("spool");
    const auto archive = TarArchive::open(path, spool);

    CHECK(archive.path() == path);
    CHECK(archive.data_file() != path);
    CHECK(archive.data_file().parent_path() == spool);
    struct stat info {};
    REQUIRE(::stat(archive.data_file().c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    CHECK(static_cast<std::size_t>(info.st_size) == tar.size());

    const FileRange range = archive.range("layer.tar");
    CHECK(range.file == archive.data_file());
    CHECK(pread_range(range) == pattern(150000, 'L'));
    CHECK(archive.read_file("tail") == "end");

    // A second gzip tarball in the same spool folder gets its own file.
    const auto other_path =
        temp.write("other.tgz", gzip_stored(TarBuilder().file("x", "1").bytes()));
    const auto other = TarArchive::open(other_path, spool);
    CHECK(other.data_file() != archive.data_file());
    CHECK(archive.read_file("tail") == "end");
}

TEST_CASE("a truncated or corrupt gzip tarball is refused and leaves no spool file", "[archive]") {
    TempDir temp;
    const auto gz = gzip_stored(TarBuilder().file("a", pattern(5000, 'a')).bytes());
    std::string bad = gz;
    SECTION("truncated") {
        bad = gz.substr(0, gz.size() / 2);
    }
    SECTION("corrupt stored-block length") {
        bad[13] = static_cast<char>(bad[13] ^ 0x5a);
    }
    const auto message = open_error(temp, bad, "bad.tar.gz");
    CHECK_THAT(message, Contains("bad.tar.gz") && Contains("gzip"));
    CHECK(std::filesystem::is_empty(temp.path() / "spool"));
}

TEST_CASE("other compressions are named in the refusal", "[archive]") {
    TempDir temp;
    CHECK_THAT(open_error(temp, std::string("\x28\xb5\x2f\xfd rest of it", 14)), Contains("zstd"));
    CHECK_THAT(open_error(temp, "BZh91AY&SY"), Contains("bzip2"));
}

TEST_CASE("find_file follows symlinks and hardlinks inside the archive", "[archive]") {
    TempDir temp;
    const std::string hex(64, 'a');
    const auto path = TarBuilder()
                          .directory("blobs/")
                          .directory("blobs/sha256/")
                          .file("blobs/sha256/" + hex, "layer bytes")
                          .directory("0123/")
                          // docker 25 `docker save`: legacy paths are symlinks into blobs/
                          .symlink("0123/layer.tar", "../blobs/sha256/" + hex)
                          .hardlink("hard", "blobs/sha256/" + hex)
                          .symlink("chain1", "chain2")
                          .symlink("chain2", "./0123/layer.tar")
                          .symlink("dirlink", "blobs/sha256")
                          .symlink("dangling", "nowhere")
                          .symlink("to-dir", "blobs")
                          .write(temp.path() / "image.tar");
    const auto archive = TarArchive::open(path, temp.mkdir("spool"));
    const ArchiveEntry* blob = archive.find_file("blobs/sha256/" + hex);
    REQUIRE(blob != nullptr);
    CHECK(entry_named(archive, "0123/layer.tar").link_target == "blobs/sha256/" + hex);
    CHECK(archive.find_file("0123/layer.tar") == blob);
    CHECK(archive.find_file("hard") == blob);
    CHECK(archive.find_file("chain1") == blob);
    CHECK(archive.find_file("dirlink/" + hex) == blob);  // through a symlinked folder
    CHECK(archive.read_file("0123/layer.tar") == "layer bytes");
    CHECK(pread_range(archive.range("chain1")) == "layer bytes");
    CHECK(archive.find_file("dangling") == nullptr);
    CHECK(archive.find_file("to-dir") == nullptr);
}

TEST_CASE("find_file allows 16 link hops and refuses loops", "[archive]") {
    TempDir temp;
    TarBuilder builder;
    builder.file("target", "t");
    // link0 -> link1 -> ... -> link15 -> target: 16 hops.
    for (int i = 0; i < 16; ++i) {
        builder.symlink("link" + std::to_string(i),
                        i == 15 ? std::string("target") : "link" + std::to_string(i + 1));
    }
    builder.symlink("seventeen", "link0");
    builder.symlink("loop-a", "loop-b").symlink("loop-b", "loop-a");
    builder.symlink("self", "self");
    const auto archive =
        TarArchive::open(builder.write(temp.path() / "links.tar"), temp.mkdir("spool"));
    CHECK(archive.find_file("link0") == archive.find_file("target"));
    CHECK_THAT(image_error([&] { (void)archive.find_file("seventeen"); }), Contains("seventeen"));
    CHECK_THAT(image_error([&] { (void)archive.find_file("loop-a"); }),
               Contains("links.tar") && Contains("loop"));
    REQUIRE_THROWS_AS(archive.find_file("self"), ImageError);
    REQUIRE_THROWS_AS(archive.read_file("loop-b"), ImageError);
}

TEST_CASE("read_file and range refuse absent and oversized files", "[archive]") {
    TempDir temp;
    const auto archive = TarArchive::open(
        TarBuilder().file("manifest.json", pattern(2000, 'm')).write(temp.path() / "i.tar"),
        temp.mkdir("spool"));
    CHECK(archive.read_file("manifest.json", 2000) == pattern(2000, 'm'));
    CHECK_THAT(image_error([&] { (void)archive.read_file("manifest.json", 1999); }),
               Contains("manifest.json") && Contains("2000"));
    CHECK_THAT(image_error([&] { (void)archive.read_file("index.json"); }),
               Contains("i.tar") && Contains("index.json"));
    CHECK_THAT(image_error([&] { (void)archive.range("index.json"); }), Contains("index.json"));
}

TEST_CASE("hostile entries refuse the whole archive, naming tarball and entry", "[archive]") {
    TempDir temp;
    TarBuilder builder;
    builder.file("manifest.json", "[]");
    std::string entry;
    std::string reason;
    SECTION("absolute name") {
        reason = "absolute name";
        entry = "/etc/passwd";
        builder.file(entry, "root");
    }
    SECTION("'..' component") {
        reason = "'..' component";
        entry = "../escape";
        builder.file(entry, "x");
    }
    SECTION("'..' inside the name") {
        reason = "'..' component";
        entry = "blobs/../../escape";
        builder.file(entry, "x");
    }
    SECTION("'..' in a directory name") {
        reason = "'..' component";
        entry = "a/../../";
        builder.directory(entry);
    }
    SECTION("symlink to an absolute path") {
        reason = "symlink to the absolute path";
        entry = "link";
        builder.symlink(entry, "/etc/shadow");
    }
    SECTION("symlink escaping the root") {
        reason = "leaves the archive";
        entry = "blobs/link";
        builder.symlink(entry, "../../etc/shadow");
    }
    SECTION("symlink escaping through its folder") {
        reason = "leaves the archive";
        entry = "a/b/link";
        builder.symlink(entry, "../x/../../../y");
    }
    SECTION("hardlink to a name outside") {
        reason = "outside the archive";
        entry = "hard";
        builder.hardlink(entry, "../outside");
    }
    SECTION("hardlink to an absolute name") {
        reason = "outside the archive";
        entry = "hard";
        builder.hardlink(entry, "/etc/passwd");
    }
    SECTION("hardlink to a missing name") {
        reason = "not in the archive";
        entry = "hard";
        builder.hardlink(entry, "not-there");
    }
    SECTION("character device") {
        reason = "device node";
        entry = "dev/null";
        builder.special(entry, '3');
    }
    SECTION("block device") {
        reason = "device node";
        entry = "dev/sda";
        builder.special(entry, '4');
    }
    SECTION("FIFO") {
        reason = "FIFO";
        entry = "pipe";
        builder.special(entry, '6');
    }
    SECTION("duplicate file") {
        reason = "appears twice";
        entry = "manifest.json";
        builder.file(entry, "[{}]");
    }
    SECTION("duplicate after normalisation") {
        reason = "appears twice";
        entry = "./manifest.json";
        builder.file(entry, "[{}]");
    }
    SECTION("duplicate of a different type") {
        reason = "appears twice";
        entry = "manifest.json/";
        builder.directory(entry);
    }
    SECTION("sparse file") {
        reason = "sparse";
        entry = "sparse";
        builder.gnu_sparse(entry, "data!", 4096, 8192);
    }
    const auto message = open_error(temp, builder.bytes(), "hostile.tar");
    CHECK_THAT(message, Contains("hostile.tar") && Contains("'" + entry + "'") &&
                            Contains(reason) && Contains("docker save"));
}

TEST_CASE("a symlink that stays inside after '..' is accepted", "[archive]") {
    TempDir temp;
    const auto archive = TarArchive::open(TarBuilder()
                                              .file("x/target", "t")
                                              .symlink("a/b/link", "../../x/./target")
                                              .symlink("a/up", "..")
                                              .write(temp.path() / "ok.tar"),
                                          temp.mkdir("spool"));
    CHECK(entry_named(archive, "a/b/link").link_target == "x/target");
    CHECK(entry_named(archive, "a/up").link_target.empty());
    CHECK(archive.read_file("a/b/link") == "t");
    CHECK(archive.read_file("a/up/x/target") == "t");
}

TEST_CASE("truncated and corrupt tarballs are refused with libarchive's reason", "[archive]") {
    TempDir temp;
    const std::string big = pattern(4096, 'b');
    const std::string full = TarBuilder().file("first", "1").file("big", big).bytes();
    // Layout: header(0) data(512) header(1024) data(1536..5632) trailer.
    std::string bad;
    std::string expected;
    SECTION("cut inside a header") {
        bad = full.substr(0, 1024 + 100);
        expected = "Truncated";
    }
    SECTION("cut inside file data at a block boundary") {
        bad = full.substr(0, 1536 + 1024);
        expected = "big";
    }
    SECTION("cut inside file data") {
        bad = full.substr(0, 1536 + 1000);
        expected = "big";
    }
    SECTION("cut inside a large file's skipped data at a block boundary") {
        bad = TarBuilder()
                  .file("first", "1")
                  .file("big", pattern(300000, 'B'))
                  .bytes()
                  .substr(0, 1536 + 200 * 1024);
        expected = "'big'";
    }
    SECTION("cut inside a large file's skipped data") {
        bad = TarBuilder()
                  .file("first", "1")
                  .file("big", pattern(300000, 'B'))
                  .bytes()
                  .substr(0, 1536 + 200 * 1024 + 77);
        expected = "big";
    }
    SECTION("cut inside a large last file without trailer") {
        bad = TarBuilder().file("big", pattern(300000, 'B')).bytes(false).substr(0, 512 + 299008);
        expected = "'big'";
    }
    SECTION("corrupt header checksum") {
        bad = full;
        bad[1024 + 10] = 'Z';
        expected = "first";  // the entry after which it went wrong
    }
    const auto message = open_error(temp, bad, "cut.tar");
    CHECK_THAT(message,
               Contains("cut.tar") && Contains("truncated or corrupt") && Contains(expected));
}

TEST_CASE("a truncated gzip-compressed tar (valid gzip) is refused", "[archive]") {
    TempDir temp;
    const std::string full =
        TarBuilder().file("first", "1").file("big", pattern(4096, 'b')).bytes();
    const auto message = open_error(temp, gzip_stored(full.substr(0, 1536 + 700)), "cut.tgz");
    CHECK_THAT(message, Contains("cut.tgz") && Contains("big") && Contains("gzip decompression"));
}

TEST_CASE("empty files, empty archives and non-tar files are refused", "[archive]") {
    TempDir temp;
    CHECK_THAT(open_error(temp, "", "zero.tar"), Contains("zero.tar") && Contains("empty"));
    CHECK_THAT(open_error(temp, std::string(1024, '\0'), "blocks.tar"),
               Contains("blocks.tar") && Contains("no files"));
    CHECK_THAT(open_error(temp, TarBuilder().directory("./").bytes(), "root-only.tar"),
               Contains("no files"));
    CHECK_THAT(open_error(temp, gzip_stored(""), "empty.tar.gz"), Contains("empty"));
    CHECK_THAT(open_error(temp, std::string(2000, 'x'), "text.tar"),
               Contains("text.tar") && Contains("not a tar archive"));
    CHECK_THAT(
        image_error([&] { (void)TarArchive::open(temp.path() / "missing.tar", temp.path()); }),
        Contains("missing.tar"));
}
