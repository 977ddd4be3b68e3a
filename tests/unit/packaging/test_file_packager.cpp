// package_file: which file a file asset uploads (the file, a cached or fresh zip, an
// executable's output) and its Content-Type, as cdk-assets 4.7.3 decides them.
#include <algorithm>
#include <filesystem>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "crypto/crypto.hpp"
#include "packaging/file_packager.hpp"
#include "packaging/zip_directory.hpp"
#include "packaging/zip_reading.hpp"
#include "support/fake_process.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"

namespace fs = std::filesystem;
using assetctl::manifest::FileAsset;
using assetctl::manifest::FilePackaging;
using assetctl::packaging::package_file;
using assetctl::packaging::PackagedFile;
using assetctl::test::FakeProcessRunner;
using assetctl::test::read_bytes;
using assetctl::test::read_zip;
using assetctl::test::TempDir;
using assetctl::util::ExitCode;
using assetctl::util::Fatal;
using Catch::Matchers::Contains;

namespace {

FileAsset path_asset(std::string id, std::string path, FilePackaging packaging) {
    FileAsset asset;
    asset.id = std::move(id);
    asset.source.path = std::move(path);
    asset.source.packaging = packaging;
    return asset;
}

FileAsset executable_asset(std::string id, std::vector<std::string> argv) {
    FileAsset asset;
    asset.id = std::move(id);
    asset.source.executable = std::move(argv);
    return asset;
}

// The Fatal package_file throws (a test failure when it returns).
Fatal fatal_of(const FileAsset& asset, const fs::path& manifest_dir, const fs::path& cache_dir,
               FakeProcessRunner& runner, const fs::path& assembly_root = {}) {
    try {
        package_file(asset, manifest_dir, cache_dir, runner, assembly_root);
    } catch (const Fatal& e) {
        return e;
    }
    FAIL("package_file did not throw");
    throw std::logic_error("unreachable");
}

std::vector<std::string> files_in(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

TEST_CASE("package_file uploads a file as it is, typed by its extension") {
    TempDir dir;
    dir.write("cdk.out/Stack.template.json", "{}");
    FakeProcessRunner runner;
    const PackagedFile packaged =
        package_file(path_asset("tpl", "Stack.template.json", FilePackaging::file),
                     dir.path() / "cdk.out", dir.path() / "cdk.out/.cache", runner);
    CHECK(packaged.path == dir.path() / "cdk.out/Stack.template.json");
    CHECK(packaged.content_type == "application/json");
    CHECK(packaged.size == 2);
    CHECK_FALSE(packaged.zipped);
    CHECK_FALSE(fs::exists(dir.path() / "cdk.out/.cache"));
}

TEST_CASE("package_file refuses a file source that is missing, a folder or outside the assembly") {
    TempDir dir;
    dir.mkdir("cdk.out/asset.folder");
    dir.write("outside.txt", "x");
    FakeProcessRunner runner;
    const fs::path out = dir.path() / "cdk.out";
    const auto missing = fatal_of(path_asset("a1", "asset.gone.txt", FilePackaging::file), out,
                                  out / ".cache", runner);
    CHECK(missing.exit_code() == ExitCode::input);
    CHECK_THAT(missing.what(), Contains("file asset a1") && Contains("asset.gone.txt"));
    CHECK_THAT(
        fatal_of(path_asset("a2", "asset.folder", FilePackaging::file), out, out / ".cache", runner)
            .what(),
        Contains("not a regular file"));
    const auto outside = fatal_of(path_asset("a3", "../outside.txt", FilePackaging::file), out,
                                  out / ".cache", runner);
    CHECK_THAT(outside.what(), Contains("file asset a3") && Contains("outside the cloud assembly"));
}

TEST_CASE("package_file takes a nested stage's ../asset path inside the assembly root") {
    TempDir dir;
    dir.write("cdk.out/asset.abc.txt", "hello");
    dir.mkdir("cdk.out/assembly-Stage");
    FakeProcessRunner runner;
    const fs::path root = dir.path() / "cdk.out";
    const auto asset = path_asset("abc", "../asset.abc.txt", FilePackaging::file);
    const auto packaged =
        package_file(asset, root / "assembly-Stage", root / "assembly-Stage/.cache", runner, root);
    CHECK(packaged.path == root / "assembly-Stage/../asset.abc.txt");
    CHECK(packaged.content_type == "text/plain");
    // Without the assembly root the manifest's own folder is the limit.
    CHECK_THAT(fatal_of(asset, root / "assembly-Stage", root / ".cache", runner).what(),
               Contains("outside the cloud assembly"));
}

TEST_CASE("package_file zips a folder into the cache once and reuses it afterwards") {
    TempDir dir;
    dir.write("cdk.out/asset.f1/index.js", "exports.handler = 1;\n");
    dir.write("cdk.out/asset.f1/lib/util.js", "module.exports = {};\n");
    FakeProcessRunner runner;
    const fs::path out = dir.path() / "cdk.out";
    const auto asset = path_asset("f1", "asset.f1", FilePackaging::zip);
    const auto first = package_file(asset, out, out / ".cache", runner);
    CHECK(first.path == out / ".cache/f1.zip");
    CHECK(first.content_type == "application/zip");
    CHECK(first.zipped);
    CHECK(first.size == fs::file_size(first.path));
    CHECK((fs::status(out / ".cache").permissions() & fs::perms::all) == fs::perms::owner_all);
    const auto entries = read_zip(first.path);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].name == "index.js");
    CHECK(entries[1].name == "lib/util.js");

    const std::string bytes = read_bytes(first.path);
    dir.write("cdk.out/asset.f1/added-later.js", "not zipped: the cache wins\n");
    const auto second = package_file(asset, out, out / ".cache", runner);
    CHECK(second.path == first.path);
    CHECK_FALSE(second.zipped);
    CHECK(second.size == first.size);
    CHECK(read_bytes(second.path) == bytes);
}

TEST_CASE("package_file uploads a .zip file with zip packaging as it is") {
    TempDir dir;
    dir.write("cdk.out/asset.z.zip", "PK pretend");
    dir.write("cdk.out/asset.t.txt", "text");
    FakeProcessRunner runner;
    const fs::path out = dir.path() / "cdk.out";
    const auto packaged = package_file(path_asset("z", "asset.z.zip", FilePackaging::zip), out,
                                       out / ".cache", runner);
    CHECK(packaged.path == out / "asset.z.zip");
    CHECK(packaged.content_type == "application/zip");
    CHECK_FALSE(packaged.zipped);
    CHECK_THAT(
        fatal_of(path_asset("t", "asset.t.txt", FilePackaging::zip), out, out / ".cache", runner)
            .what(),
        Contains("file asset t") && Contains("needs a folder or a .zip file"));
    CHECK_THAT(
        fatal_of(path_asset("n", "asset.none", FilePackaging::zip), out, out / ".cache", runner)
            .what(),
        Contains("nothing at"));
}

TEST_CASE("package_file lets two threads package the same folder at once") {
    TempDir dir;
    for (int i = 0; i < 200; ++i) {
        dir.write("cdk.out/asset.big/f" + std::to_string(i), std::string(4096, char('a' + i % 26)));
    }
    const fs::path out = dir.path() / "cdk.out";
    const auto asset = path_asset("big", "asset.big", FilePackaging::zip);
    assetctl::packaging::zip_directory(out / "asset.big", dir.path() / "reference.zip");

    FakeProcessRunner runner;
    std::latch start(2);
    std::vector<PackagedFile> results(2);
    std::vector<std::string> errors(2);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 2; ++t) {
        threads.emplace_back([&, t] {
            start.arrive_and_wait();
            try {
                results[t] = package_file(asset, out, out / ".cache", runner);
            } catch (const std::exception& e) {
                errors[t] = e.what();
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    CHECK(errors == std::vector<std::string>{"", ""});
    CHECK(results[0].path == out / ".cache/big.zip");
    CHECK(results[1].path == out / ".cache/big.zip");
    CHECK(read_bytes(out / ".cache/big.zip") == read_bytes(dir.path() / "reference.zip"));
    CHECK(files_in(out / ".cache") == std::vector<std::string>{"big.zip", "big.zip.sha256"});
}

TEST_CASE("a cached zip is reused only when it matches its checksum; otherwise it is made again") {
    TempDir dir;
    dir.write("cdk.out/asset.folder/a.txt", "a\n");
    const fs::path out = dir.path() / "cdk.out";
    const auto asset = path_asset("z", "asset.folder", FilePackaging::zip);
    FakeProcessRunner runner;
    const auto first = package_file(asset, out, out / ".cache", runner);
    CHECK(first.zipped);
    const auto good = read_bytes(out / ".cache/z.zip");
    CHECK(read_bytes(out / ".cache/z.zip.sha256") == assetctl::crypto::sha256_hex(good) + "\n");

    // Intact: reused.
    CHECK_FALSE(package_file(asset, out, out / ".cache", runner).zipped);

    // Changed since (same size, other bytes: a disk error, a truncated copy put back): made
    // again, with the right bytes.
    std::string damaged = good;
    damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x55);
    dir.write("cdk.out/.cache/z.zip", damaged);
    CHECK(package_file(asset, out, out / ".cache", runner).zipped);
    CHECK(read_bytes(out / ".cache/z.zip") == good);

    // No checksum (cdk-assets wrote it): made again, and the checksum written.
    fs::remove(out / ".cache/z.zip.sha256");
    CHECK(package_file(asset, out, out / ".cache", runner).zipped);
    CHECK(read_bytes(out / ".cache/z.zip.sha256") == assetctl::crypto::sha256_hex(good) + "\n");
}

TEST_CASE("package_file runs an executable source in the manifest's folder") {
    TempDir dir;
    dir.write("cdk.out/build/bundle.zip", "zip bytes");
    FakeProcessRunner runner;
    runner.expect({"node", "bundle.js", "--out", "build"},
                  FakeProcessRunner::exited(0, "  build/bundle.zip\n"));
    const fs::path out = dir.path() / "cdk.out";
    const auto packaged =
        package_file(executable_asset("ex", {"node", "bundle.js", "--out", "build"}), out,
                     out / ".cache", runner);
    CHECK(packaged.path == out / "build/bundle.zip");
    CHECK(packaged.content_type == "application/zip");
    CHECK(packaged.size == 9);
    CHECK_FALSE(packaged.zipped);
    REQUIRE(runner.commands().size() == 1);
    CHECK(runner.commands()[0].working_directory == out);
}

TEST_CASE("package_file sends an executable's output as application/zip, as cdk-assets does") {
    TempDir dir;
    dir.write("cdk.out/made.json", "{}");
    FakeProcessRunner runner;
    runner.expect({"make-it"}, FakeProcessRunner::exited(0, "made.json"));
    const fs::path out = dir.path() / "cdk.out";
    const auto packaged = package_file(executable_asset("ex", {"make-it"}), out, out, runner);
    CHECK(packaged.content_type == "application/zip");
}

TEST_CASE("package_file names the asset, the command and its stderr when the command fails") {
    TempDir dir;
    FakeProcessRunner runner;
    const fs::path out = dir.path() / "cdk.out";
    dir.mkdir("cdk.out");
    SECTION("a non-zero exit") {
        runner.expect({"sh", "-c", "exit 3"},
                      FakeProcessRunner::exited(3, "", "line 1\nbundling failed: no esbuild\n"));
        const auto e = fatal_of(executable_asset("ex1", {"sh", "-c", "exit 3"}), out, out, runner);
        CHECK(e.exit_code() == ExitCode::assets_failed);
        CHECK_THAT(e.what(), Contains("file asset ex1") && Contains("sh -c 'exit 3'") &&
                                 Contains("exited with 3") && Contains("no esbuild"));
    }
    SECTION("a command that cannot start") {
        runner.expect_spawn_error({"no-such-tool"}, "no-such-tool: not found");
        CHECK_THAT(fatal_of(executable_asset("ex2", {"no-such-tool"}), out, out, runner).what(),
                   Contains("file asset ex2") && Contains("not found"));
    }
    SECTION("output that names no file") {
        runner.expect({"print"}, FakeProcessRunner::exited(0, "missing.zip\n"));
        CHECK_THAT(fatal_of(executable_asset("ex3", {"print"}), out, out, runner).what(),
                   Contains("file asset ex3") && Contains("missing.zip"));
    }
    SECTION("no output at all") {
        runner.expect({"print"}, FakeProcessRunner::exited(0, " \n"));
        CHECK_THAT(fatal_of(executable_asset("ex4", {"print"}), out, out, runner).what(),
                   Contains("printed no file name"));
    }
}

TEST_CASE("package_file runs a real executable source") {
    TempDir dir;
    dir.write("cdk.out/out.txt", "made");
    const auto runner = assetctl::process::make_system_runner();
    const fs::path out = dir.path() / "cdk.out";
    const auto packaged =
        package_file(executable_asset("real", {"sh", "-c", "test -f out.txt && echo out.txt"}), out,
                     out, *runner);
    CHECK(packaged.path == out / "out.txt");
    CHECK(packaged.size == 4);
}
