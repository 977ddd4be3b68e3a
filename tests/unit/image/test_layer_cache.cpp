#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "crypto/crypto.hpp"
#include "image/gzip.hpp"
#include "image/layer_cache.hpp"
#include "registry/reference.hpp"
#include "support/temp_dir.hpp"
#include "util/environment.hpp"

using assetctl::image::CachedLayer;
using assetctl::image::compressor_id;
using assetctl::image::LayerCache;
using assetctl::registry::Digest;
using assetctl::test::TempDir;
using assetctl::util::MapEnvironment;

namespace {

Digest digest_of(const std::string& text) {
    return Digest::sha256_of(text);
}

unsigned mode_of(const std::filesystem::path& path) {
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    return info.st_mode & 07777U;
}

// Files in `dir` whose names are not entries (temporary files left behind).
std::vector<std::string> stray_files(const std::filesystem::path& dir) {
    std::vector<std::string> stray;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const auto name = entry.path().filename().string();
        if (entry.path().extension() != ".json" || name.find(".tmp") != std::string::npos) {
            stray.push_back(name);
        }
    }
    return stray;
}

}  // namespace

TEST_CASE("layer cache: store then lookup gives the entry back", "[image][layer_cache]") {
    TempDir dir;
    const auto root = dir.path() / "cache" / "assetctl";  // neither folder exists yet
    LayerCache cache(root);
    const Digest diff_id = digest_of("uncompressed");
    const CachedLayer layer{digest_of("compressed"), 12345};

    CHECK_FALSE(cache.lookup(diff_id).has_value());
    cache.store(diff_id, layer);
    const auto found = cache.lookup(diff_id);
    REQUIRE(found.has_value());
    CHECK(found->digest == layer.digest);
    CHECK(found->size == 12345);

    // Another instance on the same folder (a later run) sees it too.
    const auto again = LayerCache(root).lookup(diff_id);
    REQUIRE(again.has_value());
    CHECK(again->digest == layer.digest);

    // Where it lives, and the folders it made are private.
    const auto path = cache.entry_path(diff_id);
    CHECK(path == root / "layers" / compressor_id() / ("sha256-" + diff_id.hex() + ".json"));
    CHECK(std::filesystem::is_regular_file(path));
    CHECK(mode_of(root) == 0700U);
    CHECK(mode_of(root / "layers") == 0700U);
    CHECK(mode_of(path.parent_path()) == 0700U);
    CHECK(stray_files(path.parent_path()).empty());
}

TEST_CASE("layer cache: a later store replaces the entry", "[image][layer_cache]") {
    TempDir dir;
    LayerCache cache(dir.path());
    const Digest diff_id = digest_of("layer");
    cache.store(diff_id, CachedLayer{digest_of("first"), 1});
    cache.store(diff_id, CachedLayer{digest_of("second"), 2});
    const auto found = cache.lookup(diff_id);
    REQUIRE(found.has_value());
    CHECK(found->digest == digest_of("second"));
    CHECK(found->size == 2);
    CHECK(stray_files(cache.entry_path(diff_id).parent_path()).empty());
}

TEST_CASE("layer cache: unknown diffIDs and missing folders are misses", "[image][layer_cache]") {
    TempDir dir;
    LayerCache cache(dir.path());
    cache.store(digest_of("a"), CachedLayer{digest_of("a.gz"), 10});
    CHECK_FALSE(cache.lookup(digest_of("b")).has_value());
    CHECK_FALSE(LayerCache(dir.path() / "nowhere").lookup(digest_of("a")).has_value());
}

TEST_CASE("layer cache: malformed entries are misses", "[image][layer_cache]") {
    TempDir dir;
    LayerCache cache(dir.path());
    const Digest diff_id = digest_of("layer");
    const auto path = cache.entry_path(diff_id);
    const auto relative = std::filesystem::relative(path, dir.path());
    const std::string good_digest = digest_of("gz").str();

    const std::vector<std::string> bad = {
        "",
        "not json",
        "{\"digest\": \"" + good_digest + "\", \"size\": 10",  // cut short
        "[\"" + good_digest + "\", 10]",
        "{\"size\": 10}",
        "{\"digest\": \"" + good_digest + "\"}",
        "{\"digest\": \"" + good_digest + "\", \"size\": -1}",
        "{\"digest\": \"" + good_digest + "\", \"size\": 1.5}",
        "{\"digest\": \"" + good_digest + "\", \"size\": \"10\"}",
        "{\"digest\": 7, \"size\": 10}",
        "{\"digest\": \"sha256:xyz\", \"size\": 10}",
        "{\"digest\": \"SHA256:" + std::string(64, 'A') + "\", \"size\": 10}",
        // Valid shape, but written for another layer or by another compressor.
        "{\"digest\": \"" + good_digest + "\", \"size\": 10, \"diff_id\": \"" +
            digest_of("other").str() + "\"}",
        "{\"digest\": \"" + good_digest + "\", \"size\": 10, \"compressor\": \"zlib-1.2.13-6\"}",
    };
    for (const auto& text : bad) {
        INFO(text);
        dir.write(relative, text);
        CHECK_FALSE(cache.lookup(diff_id).has_value());
    }

    // A folder where the file should be.
    std::filesystem::remove(path);
    std::filesystem::create_directory(path);
    CHECK_FALSE(cache.lookup(diff_id).has_value());
    std::filesystem::remove(path);

    // The minimal well-formed entry is accepted (extra keys are fine).
    dir.write(relative, "{\"digest\": \"" + good_digest + "\", \"size\": 10, \"note\": 1}");
    const auto found = cache.lookup(diff_id);
    REQUIRE(found.has_value());
    CHECK(found->digest.str() == good_digest);
    CHECK(found->size == 10);
}

TEST_CASE("layer cache: a folder that cannot be created disables storing without throwing",
          "[image][layer_cache]") {
    TempDir dir;
    // Tests may run as root, which ignores permission bits: a regular file in the way of the
    // folder makes mkdir fail for everyone.
    const auto blocker = dir.write("not-a-folder", "x");
    LayerCache cache(blocker / "assetctl");
    const Digest diff_id = digest_of("layer");
    CHECK_NOTHROW(cache.store(diff_id, CachedLayer{digest_of("gz"), 1}));
    CHECK_NOTHROW(cache.store(digest_of("another"), CachedLayer{digest_of("gz2"), 2}));
    CHECK_FALSE(cache.lookup(diff_id).has_value());
    CHECK(std::filesystem::is_regular_file(blocker));

    // The same with the file deeper: <dir>/layers is a file.
    LayerCache blocked_layers(dir.path() / "other");
    dir.write("other/layers", "x");
    CHECK_NOTHROW(blocked_layers.store(diff_id, CachedLayer{digest_of("gz"), 1}));
    CHECK_FALSE(blocked_layers.lookup(diff_id).has_value());
}

TEST_CASE("layer cache: entries are per compressor", "[image][layer_cache]") {
    TempDir dir;
    LayerCache cache(dir.path());
    const Digest diff_id = digest_of("layer");
    cache.store(diff_id, CachedLayer{digest_of("gz"), 1});
    // The compressor is part of the path, so another compressor's entry for the same diffID
    // lives in another folder and never answers for this one.
    CHECK(cache.entry_path(diff_id).parent_path().filename() == compressor_id());
    const auto other =
        dir.path() / "layers" / "zlib-1.2.13-level6" / ("sha256-" + diff_id.hex() + ".json");
    dir.write(std::filesystem::relative(other, dir.path()),
              "{\"digest\": \"" + digest_of("zlib").str() + "\", \"size\": 99}");
    const auto found = cache.lookup(diff_id);
    REQUIRE(found.has_value());
    CHECK(found->digest == digest_of("gz"));
}

TEST_CASE("layer cache: concurrent stores leave one whole entry", "[image][layer_cache]") {
    TempDir dir;
    LayerCache cache(dir.path());
    const Digest diff_id = digest_of("shared layer");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&cache, &diff_id, t] {
            for (int i = 0; i < 25; ++i) {
                cache.store(diff_id, CachedLayer{digest_of("gz" + std::to_string(t)),
                                                 static_cast<std::uint64_t>(t)});
                (void)cache.lookup(diff_id);
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    const auto found = cache.lookup(diff_id);
    REQUIRE(found.has_value());
    CHECK(found->digest == digest_of("gz" + std::to_string(found->size)));
    CHECK(stray_files(cache.entry_path(diff_id).parent_path()).empty());
}

TEST_CASE("layer cache: default_dir from XDG_CACHE_HOME or HOME", "[image][layer_cache]") {
    using Path = std::filesystem::path;
    CHECK(LayerCache::default_dir(MapEnvironment{{"XDG_CACHE_HOME", "/xdg"},
                                                 {"HOME", "/home/u"}}) == Path("/xdg/assetctl"));
    CHECK(LayerCache::default_dir(MapEnvironment{{"XDG_CACHE_HOME", "/xdg"}}) ==
          Path("/xdg/assetctl"));
    // A relative XDG_CACHE_HOME is invalid by the XDG spec and ignored; so is an empty one.
    CHECK(LayerCache::default_dir(
              MapEnvironment{{"XDG_CACHE_HOME", "relative/cache"}, {"HOME", "/home/u"}}) ==
          Path("/home/u/.cache/assetctl"));
    CHECK(LayerCache::default_dir(MapEnvironment{{"XDG_CACHE_HOME", ""}, {"HOME", "/home/u"}}) ==
          Path("/home/u/.cache/assetctl"));
    CHECK(LayerCache::default_dir(MapEnvironment{{"HOME", "/home/u"}}) ==
          Path("/home/u/.cache/assetctl"));
    CHECK_FALSE(LayerCache::default_dir(MapEnvironment{}).has_value());
    CHECK_FALSE(LayerCache::default_dir(MapEnvironment{{"XDG_CACHE_HOME", "rel"}, {"HOME", ""}})
                    .has_value());
}
