// The tarball pusher against the in-memory registry of the registry tests: layers streamed as
// they compress, the layer cache turning a re-push into HEADs, a stale cache entry corrected,
// and a corrupt layer stopping the push before any manifest.
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "image/image_error.hpp"
#include "image/layer_cache.hpp"
#include "image/tar_builder.hpp"
#include "image/tarball_pusher.hpp"
#include "support/fake_registry.hpp"
#include "support/fake_sleeper.hpp"
#include "support/temp_dir.hpp"

using namespace assetctl;
using registry::Digest;

namespace {

const std::string k_auth = "Basic QVdTOnB3";  // base64("AWS:pw")

// A legacy docker-save tarball of one image whose layers are `layers` (any bytes: only their
// digests matter here); `config_diff_ids` overrides the diff_ids the config claims.
std::filesystem::path docker_save(const test::TempDir& dir, const std::vector<std::string>& layers,
                                  std::vector<std::string> config_diff_ids = {}) {
    if (config_diff_ids.empty()) {
        for (const auto& layer : layers) {
            config_diff_ids.push_back(Digest::sha256_of(layer).str());
        }
    }
    const std::string config =
        nlohmann::json{{"architecture", "amd64"},
                       {"os", "linux"},
                       {"rootfs", {{"type", "layers"}, {"diff_ids", config_diff_ids}}}}
            .dump();
    const auto config_name = Digest::sha256_of(config).hex() + ".json";
    test::TarBuilder tar;
    auto paths = nlohmann::json::array();
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const std::string path = "layer" + std::to_string(i) + "/layer.tar";
        tar.file(path, layers[i]);
        paths.push_back(path);
    }
    tar.file(config_name, config);
    tar.file("manifest.json",
             nlohmann::json::array(
                 {{{"Config", config_name}, {"RepoTags", {"app:latest"}}, {"Layers", paths}}})
                 .dump());
    return tar.write(dir.path() / "image.tar");
}

std::string layer_content(char fill, std::size_t size) {
    std::string out;
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(static_cast<char>(fill + static_cast<char>(i % 7 == 0 ? i % 13 : 0)));
    }
    return out;
}

struct Harness {
    test::TempDir dir;
    test::FakeRegistry registry{k_auth};
    test::FakeSleeper sleeper;
    util::FixedClock clock{std::chrono::system_clock::time_point{}};
    http::RetryContext retry{http::RetryPolicy{}, sleeper, [] { return 0.0; }};
    std::filesystem::path cache_dir = dir.path() / "cache";

    // A fresh pusher: what one assetctl run has.
    std::unique_ptr<image::TarballPusher> pusher() {
        image::TarballPusherOptions options;
        options.upload_jobs = 2;
        options.spool_dir = dir.path() / "spool";
        std::filesystem::create_directories(options.spool_dir);
        options.cache_dir = cache_dir;
        return image::make_tarball_pusher(registry, retry, clock, options);
    }

    image::NativePushReport push(const std::filesystem::path& tarball, const std::string& tag) {
        auto run = pusher();
        const auto prepared = run->prepare(tarball, {}, false);
        return run->push(
            *prepared, "registry.test", "id",
            std::make_shared<registry::StaticCredentials>(registry::Credentials{"AWS", "pw"}),
            "app", tag);
    }

    std::size_t count(const std::string& prefix) const {
        std::size_t n = 0;
        for (const auto& entry : registry.log()) {
            n += entry.rfind(prefix, 0) == 0 ? 1U : 0U;
        }
        return n;
    }
};

}  // namespace

TEST_CASE("tarball pusher streams each layer once, and a re-push with the cache only HEADs") {
    Harness h;
    const std::vector<std::string> layers{layer_content('a', 300'000), layer_content('k', 70'000)};
    const auto tarball = docker_save(h.dir, layers);

    const auto first = h.push(tarball, "v1");
    CHECK(first.blobs_uploaded == 3);  // two layers (streamed) and the config
    CHECK(first.blobs_present == 0);
    CHECK(h.registry.has_manifest("app", "v1"));
    CHECK(h.count("PATCH /v2/app/blobs/uploads/") == 2);  // each layer streamed in one PATCH
    const image::LayerCache cache(h.cache_dir);
    for (const auto& layer : layers) {
        const auto cached = cache.lookup(Digest::sha256_of(layer));
        REQUIRE(cached);
        CHECK(h.registry.has_blob("app", cached->digest));
    }

    const auto log_before = h.registry.log().size();
    const auto second = h.push(tarball, "v2");
    CHECK(second.blobs_uploaded == 0);
    CHECK(second.blobs_present == 3);
    CHECK(second.digest == first.digest);  // deterministic gzip: the same manifest
    const auto log = h.registry.log();
    for (std::size_t i = log_before; i < log.size(); ++i) {
        CHECK(log[i].rfind("POST", 0) != 0);  // no upload session at all
    }
    CHECK(h.registry.has_manifest("app", "v2"));
}

TEST_CASE("tarball pusher corrects a layer cache entry that does not match the compression") {
    Harness h;
    const std::vector<std::string> layers{layer_content('q', 120'000)};
    const auto tarball = docker_save(h.dir, layers);
    const auto diff_id = Digest::sha256_of(layers[0]);
    image::LayerCache(h.cache_dir).store(diff_id, {Digest::sha256_of("something else"), 42});

    const auto report = h.push(tarball, "v1");
    CHECK(report.blobs_uploaded == 2);
    CHECK(h.registry.has_manifest("app", "v1"));
    const auto corrected = image::LayerCache(h.cache_dir).lookup(diff_id);
    REQUIRE(corrected);
    CHECK(corrected->digest != Digest::sha256_of("something else"));
    CHECK(h.registry.has_blob("app", corrected->digest));
}

TEST_CASE("tarball pusher: a layer that is not its diff_id stops the push before the manifest") {
    Harness h;
    const std::vector<std::string> layers{layer_content('z', 200'000)};
    const auto tarball =
        docker_save(h.dir, layers, {Digest::sha256_of("the layer as it once was").str()});
    CHECK_THROWS_AS(h.push(tarball, "v1"), image::ImageError);
    CHECK_FALSE(h.registry.has_manifest("app", "v1"));
    CHECK(h.count("PUT /v2/app/manifests/") == 0);
    CHECK_FALSE(image::LayerCache(h.cache_dir).lookup(Digest::sha256_of(layers[0])));
}
