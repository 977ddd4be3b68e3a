// The native pusher against the in-memory registry of the registry tests: tarball layers
// compressed once for every destination, the layer cache turning a re-push into HEADs and a new
// destination into uploads without compression, a stale cache entry corrected, a corrupt layer
// stopping the push before any manifest; engine images exported at most once (never when the
// cache and the registry have everything), pushed as Docker v2 schema 2 with the engine's config.
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "image/image_error.hpp"
#include "image/layer_cache.hpp"
#include "image/native_pusher.hpp"
#include "image/tar_builder.hpp"
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
    std::unique_ptr<image::NativePusher> pusher() {
        image::NativePusherOptions options;
        options.upload_jobs = 2;
        options.spool_dir = dir.path() / "spool";
        std::filesystem::create_directories(options.spool_dir);
        options.cache_dir = cache_dir;
        return image::make_native_pusher(registry, retry, clock, options);
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

TEST_CASE("a native push reports the bytes sent so far after each blob, ending at its total") {
    Harness h;
    const auto tarball =
        docker_save(h.dir, {layer_content('a', 300'000), layer_content('k', 70'000)});
    auto run = h.pusher();
    const auto prepared = run->prepare(tarball, {}, false);
    std::mutex mutex;
    std::vector<std::uint64_t> totals;
    const auto report =
        run->push(*prepared, "registry.test", "id",
                  std::make_shared<registry::StaticCredentials>(registry::Credentials{"AWS", "pw"}),
                  "app", "v1", [&](std::uint64_t total) {
                      std::lock_guard lock(mutex);
                      totals.push_back(total);
                  });
    REQUIRE(totals.size() == 3);  // two layers and the config
    std::sort(totals.begin(), totals.end());
    CHECK(totals.front() > 0);
    CHECK(totals.back() == report.bytes_uploaded);
}

TEST_CASE("tarball pusher compresses each layer once, and a re-push with the cache only HEADs") {
    Harness h;
    const std::vector<std::string> layers{layer_content('a', 300'000), layer_content('k', 70'000)};
    const auto tarball = docker_save(h.dir, layers);

    const auto first = h.push(tarball, "v1");
    CHECK(first.blobs_uploaded == 3);  // two layers (streamed) and the config
    CHECK(first.blobs_present == 0);
    CHECK(h.registry.has_manifest("app", "v1"));
    CHECK(h.count("POST /v2/app/blobs/uploads/") == 3);   // one session per blob
    CHECK(h.count("PATCH /v2/app/blobs/uploads/") == 0);  // monolithic PUTs
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

namespace {

std::shared_ptr<registry::CredentialsSource> login() {
    return std::make_shared<registry::StaticCredentials>(registry::Credentials{"AWS", "pw"});
}

std::vector<Digest> diff_ids_of(const std::vector<std::string>& layers) {
    std::vector<Digest> out;
    for (const auto& layer : layers) {
        out.push_back(Digest::sha256_of(layer));
    }
    return out;
}

// An image as an engine holds it: its config, `image inspect` facts and a legacy `docker save`
// stream of it, written into the pipe the pusher reads.
struct EngineFixture {
    std::vector<std::string> layers;
    std::string config;
    image::EngineImageInfo info;
    std::string save_bytes;
    std::shared_ptr<std::atomic<int>> saves = std::make_shared<std::atomic<int>>(0);

    explicit EngineFixture(std::vector<std::string> content) : layers(std::move(content)) {
        auto diff_ids = nlohmann::json::array();
        for (const auto& digest : diff_ids_of(layers)) {
            diff_ids.push_back(digest.str());
        }
        config = nlohmann::json{{"architecture", "amd64"},
                                {"os", "linux"},
                                {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
                     .dump();
        info = {Digest::sha256_of(config), diff_ids_of(layers), "linux", "amd64", ""};
        test::TarBuilder tar;
        for (std::size_t i = 0; i < layers.size(); ++i) {
            tar.directory("v1-" + std::to_string(i) + "/");
            tar.file("v1-" + std::to_string(i) + "/VERSION", "1.0");
            tar.file("v1-" + std::to_string(i) + "/layer.tar", layers[i]);
        }
        tar.file(info.id.hex() + ".json", config);
        tar.file("manifest.json", "[]");
        save_bytes = tar.bytes();
    }

    image::NativePusher::SaveStream save() const {
        return [bytes = save_bytes, saves = saves](const std::function<void(int)>& read) {
            ++*saves;
            int fds[2];
            REQUIRE(::pipe(fds) == 0);
            std::thread writer([&bytes, fd = fds[1]] {
                std::size_t done = 0;
                while (done < bytes.size()) {
                    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
                    if (n <= 0) {
                        break;
                    }
                    done += static_cast<std::size_t>(n);
                }
                ::close(fd);
            });
            // The reader may stop early (and throw): closing the read end ends the writer.
            struct Join {
                int fd;
                std::thread& thread;
                ~Join() {
                    ::close(fd);
                    thread.join();
                }
            } join{fds[0], writer};
            read(fds[0]);
        };
    }
};

}  // namespace

TEST_CASE("engine image: exported once for two destinations, as Docker v2 schema 2") {
    Harness h;
    const EngineFixture engine({layer_content('e', 2'000'000), layer_content('f', 1'500'000)});
    auto run = h.pusher();
    const auto prepared = run->prepare_engine_image(engine.info, engine.save(), "asset 'app'");
    const auto first = run->push(*prepared, "registry.test", "id", login(), "app", "v1");
    const auto second = run->push(*prepared, "registry.test", "id", login(), "other", "v1");
    CHECK(*engine.saves == 1);
    CHECK(first.blobs_uploaded == 3);
    CHECK(second.blobs_uploaded == 3);
    const auto report = prepared->report();
    CHECK(report.exported);
    CHECK(report.image_id == engine.info.id.str());
    CHECK(report.layers == 2);
    CHECK(report.layers_compressed == 2);
    CHECK(report.compressed_bytes == 3'500'000);

    const auto manifest = nlohmann::json::parse(h.registry.manifest_bytes("app", "v1"));
    CHECK(manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json");
    CHECK(manifest["config"]["digest"] == engine.info.id.str());
    CHECK(manifest["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json");
    REQUIRE(manifest["layers"].size() == 2);
    const image::LayerCache cache(h.cache_dir);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(manifest["layers"][i]["mediaType"] ==
              "application/vnd.docker.image.rootfs.diff.tar.gzip");
        const auto cached = cache.lookup(engine.info.diff_ids[i]);
        REQUIRE(cached);
        CHECK(manifest["layers"][i]["digest"] == cached->digest.str());  // in layer order
    }
    CHECK(h.registry.manifest_bytes("other", "v1") == h.registry.manifest_bytes("app", "v1"));
}

TEST_CASE("engine image: a later run exports nothing, for a pushed tag or a new destination") {
    Harness h;
    const EngineFixture engine({layer_content('g', 1'200'000), layer_content('h', 900'000)});
    {
        auto run = h.pusher();
        run->push(*run->prepare_engine_image(engine.info, engine.save(), "asset 'app'"),
                  "registry.test", "id", login(), "app", "v1");
    }
    REQUIRE(*engine.saves == 1);

    auto run = h.pusher();
    const auto prepared = run->prepare_engine_image(engine.info, engine.save(), "asset 'app'");
    CHECK(prepared->report().layers_from_cache == 2);
    const auto again = run->push(*prepared, "registry.test", "id", login(), "app", "v2");
    CHECK(again.blobs_uploaded == 0);
    CHECK(again.blobs_present == 3);
    const auto fresh = run->push(*prepared, "registry.test", "id", login(), "new-region", "v1");
    CHECK(fresh.blobs_uploaded == 3);  // from the cache's blobs
    CHECK(*engine.saves == 1);         // never exported again
    CHECK_FALSE(prepared->report().exported);
    CHECK(prepared->report().compressed_bytes == 0);
    CHECK(h.registry.manifest_bytes("new-region", "v1") == h.registry.manifest_bytes("app", "v1"));
}

TEST_CASE("engine image: a save stream without a layer fails the push before any manifest") {
    Harness h;
    EngineFixture engine({layer_content('i', 1'100'000)});
    engine.info.diff_ids.push_back(Digest::sha256_of("a layer the stream does not have"));
    auto run = h.pusher();
    const auto prepared = run->prepare_engine_image(engine.info, engine.save(), "asset 'app'");
    CHECK_THROWS_WITH(run->push(*prepared, "registry.test", "id", login(), "app", "v1"),
                      Catch::Contains("asset 'app'") && Catch::Contains("lacks the layer"));
    CHECK_FALSE(h.registry.has_manifest("app", "v1"));
    // The failure is remembered: a second destination fails the same way without a new export.
    CHECK_THROWS_AS(run->push(*prepared, "registry.test", "id", login(), "other", "v1"),
                    image::ImageError);
    CHECK(*engine.saves == 1);
}

TEST_CASE("engine image: a new layer sized like a cached one costs a second pass, not a failure") {
    Harness h;
    const std::string shared = layer_content('s', 1'300'000);
    const std::string fresh = layer_content('w', 1'300'000);  // the same size
    const EngineFixture first({shared});
    auto run = h.pusher();
    run->push(*run->prepare_engine_image(first.info, first.save(), "asset 'one'"), "registry.test",
              "id", login(), "one", "v1");

    const EngineFixture second({shared, fresh});
    const auto prepared = run->prepare_engine_image(second.info, second.save(), "asset 'two'");
    const auto report = run->push(*prepared, "registry.test", "id", login(), "two", "v1");
    CHECK(report.blobs_uploaded == 3);
    CHECK(*second.saves == 2);  // the first pass only hashed `fresh` (sized like `shared`)
    CHECK(prepared->report().layers_compressed == 1);
    CHECK(h.registry.has_manifest("two", "v1"));
}

TEST_CASE("engine image: a base layer two images share is compressed once and uploaded once") {
    Harness h;
    const std::string base = layer_content('b', 2'200'000);
    const EngineFixture api({base, layer_content('a', 1'100'000)});
    const EngineFixture web({base, layer_content('c', 1'400'000)});
    auto run = h.pusher();
    const auto first = run->prepare_engine_image(api.info, api.save(), "asset 'api'");
    const auto second = run->prepare_engine_image(web.info, web.save(), "asset 'web'");
    // Both to one repository (as CDK's assets repository is): the base goes up once too.
    std::thread other([&] { run->push(*second, "registry.test", "id", login(), "app", "web"); });
    run->push(*first, "registry.test", "id", login(), "app", "api");
    other.join();
    CHECK(h.registry.has_manifest("app", "api"));
    CHECK(h.registry.has_manifest("app", "web"));
    CHECK(h.count("POST /v2/app/blobs/uploads/") == 5);  // base, two tops, two configs
    // Whichever went first compressed the base; the other only hashed it (legacy save names).
    CHECK(first->report().layers_compressed + second->report().layers_compressed == 3);
    CHECK(first->report().compressed_bytes + second->report().compressed_bytes ==
          2'200'000 + 1'100'000 + 1'400'000);
}
