// push_image / push_index against a rule-based in-memory registry (requests arrive from
// several threads): only missing blobs go up, mounts, the manifest strictly last, failures
// leave no tag, indexes after their children.
#include <algorithm>
#include <mutex>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "registry/media_type.hpp"
#include "registry/push.hpp"
#include "support/fake_registry.hpp"
#include "support/fake_sleeper.hpp"
#include "util/interrupt.hpp"

using namespace assetctl;
using namespace assetctl::registry;
using nlohmann::json;

namespace {

// base64("AWS:pw")
const std::string k_auth = "Basic QVdTOnB3";

struct Image {
    std::vector<std::shared_ptr<const BlobSource>> blobs;
    ManifestPayload manifest;
    std::uint64_t total_size = 0;
};

json descriptor(std::string_view type, const BlobSource& blob) {
    return {{"mediaType", type}, {"digest", blob.digest().str()}, {"size", blob.size()}};
}

// A config and `layers` layers; `shared` (if any) is added as the first layer.
Image make_image(const std::string& name, int layers,
                 std::shared_ptr<const BlobSource> shared = nullptr,
                 std::string_view type = media_type::k_oci_manifest) {
    Image image;
    const bool docker = type == media_type::k_docker_manifest;
    auto config =
        make_memory_blob(json{{"architecture", "amd64"}, {"os", "linux"}, {"name", name}}.dump());
    image.blobs.push_back(config);
    json layer_list = json::array();
    if (shared) {
        image.blobs.push_back(shared);
        layer_list.push_back(descriptor(media_type::k_oci_layer_gzip, *shared));
    }
    for (int i = 0; i < layers; ++i) {
        auto layer = make_memory_blob(name + " layer " + std::to_string(i) +
                                      std::string(static_cast<std::size_t>(100 * (i + 1)), 'x'));
        layer_list.push_back(descriptor(
            docker ? media_type::k_docker_layer_gzip : media_type::k_oci_layer_gzip, *layer));
        image.blobs.push_back(layer);
    }
    for (const auto& blob : image.blobs) {
        image.total_size += blob->size();
    }
    image.manifest.media_type = std::string(type);
    image.manifest.bytes = json{
        {"schemaVersion", 2},
        {"mediaType", type},
        {"config",
         descriptor(docker ? media_type::k_docker_config : media_type::k_oci_config, *config)},
        {"layers", layer_list}}.dump();
    return image;
}

struct Harness {
    test::FakeRegistry registry{k_auth};
    test::FakeSleeper sleeper;
    util::FixedClock clock{std::chrono::system_clock::time_point{}};
    http::RetryContext retry{http::RetryPolicy{}, sleeper, [] { return 0.0; }};
    RegistryClient client{registry, retry, clock, "registry.test",
                          std::make_shared<StaticCredentials>(Credentials{"AWS", "pw"})};

    std::size_t count(const std::string& prefix) const {
        const auto log = registry.log();
        return static_cast<std::size_t>(std::count_if(
            log.begin(), log.end(), [&](const auto& e) { return e.rfind(prefix, 0) == 0; }));
    }
    // Position of the first log entry starting with `prefix` (log size when none).
    std::size_t first(const std::string& prefix) const {
        const auto log = registry.log();
        for (std::size_t i = 0; i < log.size(); ++i) {
            if (log[i].rfind(prefix, 0) == 0) {
                return i;
            }
        }
        return log.size();
    }
};

PushOptions jobs(std::size_t n) {
    PushOptions options;
    options.jobs = n;
    return options;
}

// Clears the process-wide interrupt flag however the test ends.
struct InterruptGuard {
    InterruptGuard() { util::request_interrupt(); }
    ~InterruptGuard() { util::clear_interrupt_for_tests(); }
};

}  // namespace

TEST_CASE("push_image uploads every missing blob, then puts the manifest last") {
    Harness h;
    const auto image = make_image("web", 6);
    const std::size_t n = GENERATE(1u, 4u);
    INFO(n << " jobs");
    const auto report =
        push_image(h.client, "team/app", "v1", image.blobs, image.manifest, jobs(n));
    CHECK(report.blobs_uploaded == 7);
    CHECK(report.blobs_skipped == 0);
    CHECK(report.blobs_mounted == 0);
    CHECK(report.bytes_sent == image.total_size);
    CHECK(report.digest == Digest::sha256_of(image.manifest.bytes));
    const auto log = h.registry.log();
    REQUIRE_FALSE(log.empty());
    CHECK(log.back() == "PUT /v2/team/app/manifests/v1");
    CHECK(h.count("PUT /v2/team/app/manifests/") == 1);
    CHECK(h.count("HEAD /v2/team/app/blobs/") == 7);
    CHECK(h.registry.has_manifest("team/app", "v1"));
    for (const auto& blob : image.blobs) {
        CHECK(h.registry.has_blob("team/app", blob->digest()));
    }
}

TEST_CASE("a second push of the same image uploads nothing") {
    Harness h;
    const auto image = make_image("web", 3);
    push_image(h.client, "app", "v1", image.blobs, image.manifest);
    const auto second = push_image(h.client, "app", "v2", image.blobs, image.manifest);
    CHECK(second.blobs_uploaded == 0);
    CHECK(second.blobs_skipped == 4);
    CHECK(second.bytes_sent == 0);
    CHECK(h.count("POST /v2/app/blobs/uploads/") == 4);  // all from the first push
    CHECK(h.registry.has_manifest("app", "v2"));
}

TEST_CASE("blobs the repository already has are skipped, duplicates counted once") {
    Harness h;
    const auto image = make_image("web", 2);
    h.registry.seed_blob("app", image.blobs.at(0)->read_all());
    auto blobs = image.blobs;
    blobs.push_back(image.blobs.at(1));  // given twice
    const auto report = push_image(h.client, "app", "v1", blobs, image.manifest, jobs(1));
    CHECK(report.blobs_skipped == 1);
    CHECK(report.blobs_uploaded == 2);
    CHECK(report.bytes_sent == image.total_size - image.blobs.at(0)->size());
}

TEST_CASE("missing blobs are mounted from another repository when the registry allows it") {
    Harness h;
    const auto image = make_image("web", 2);
    for (const auto& blob : image.blobs) {
        h.registry.seed_blob("base", blob->read_all());
    }
    PushOptions options = jobs(2);
    options.mount_from = {"app", "base"};  // the target itself is never tried
    SECTION("mounting works") {
        const auto report = push_image(h.client, "app", "v1", image.blobs, image.manifest, options);
        CHECK(report.blobs_mounted == 3);
        CHECK(report.blobs_uploaded == 0);
        CHECK(report.bytes_sent == 0);
    }
    SECTION("mounting is refused: the sessions it opened are cancelled and blobs uploaded") {
        h.registry.mount_supported = false;
        const auto report = push_image(h.client, "app", "v1", image.blobs, image.manifest, options);
        CHECK(report.blobs_mounted == 0);
        CHECK(report.blobs_uploaded == 3);
        CHECK(h.count("DELETE /v2/app/blobs/uploads/") == 3);
    }
    CHECK(h.registry.log().back() == "PUT /v2/app/manifests/v1");
}

TEST_CASE("a blob that cannot be uploaded stops the push before the manifest") {
    Harness h;
    const auto image = make_image("web", 5);
    const std::size_t n = GENERATE(1u, 3u);
    INFO(n << " jobs");
    h.registry.fail("PUT", "/blobs/uploads/", 403, 1000,
                    R"({"errors":[{"code":"DENIED","message":"no push"}]})");
    try {
        push_image(h.client, "app", "v1", image.blobs, image.manifest, jobs(n));
        FAIL("no exception");
    } catch (const RegistryError& e) {
        CHECK(e.is_auth_failure());
    }
    CHECK(h.count("PUT /v2/app/manifests/") == 0);
    CHECK_FALSE(h.registry.has_manifest("app", "v1"));
    if (n == 1) {
        CHECK(h.count("POST /v2/app/blobs/uploads/") == 1);  // nothing new after the failure
    }
}

TEST_CASE("a manifest PUT that fails leaves no tag") {
    Harness h;
    const auto image = make_image("web", 1);
    h.registry.fail("PUT", "/manifests/", 400, 1,
                    R"({"errors":[{"code":"MANIFEST_INVALID","message":"bad"}]})");
    CHECK_THROWS_AS(push_image(h.client, "app", "v1", image.blobs, image.manifest), RegistryError);
    CHECK_FALSE(h.registry.has_manifest("app", "v1"));
    CHECK(h.registry.has_blob("app", image.blobs.at(1)->digest()));
}

TEST_CASE("transient failures inside a push are retried with new sessions") {
    Harness h;
    const auto image = make_image("web", 2);
    h.registry.fail("PUT", "/blobs/uploads/", 500, 1);
    h.registry.fail("HEAD", "/blobs/", 503, 1);
    const auto report = push_image(h.client, "app", "v1", image.blobs, image.manifest, jobs(1));
    CHECK(report.blobs_uploaded == 3);
    // The first blob's body went twice: once into the 500, once into the new session.
    CHECK(report.bytes_sent == image.total_size + image.blobs.at(0)->size());
    CHECK(h.count("POST /v2/app/blobs/uploads/") == 4);
    CHECK(h.sleeper.sleeps().size() == 2);
    CHECK(h.registry.has_manifest("app", "v1"));
}

TEST_CASE("on_blob reports each blob once with what happened to it") {
    Harness h;
    const auto image = make_image("web", 3);
    h.registry.seed_blob("app", image.blobs.at(2)->read_all());
    std::mutex mutex;
    std::map<Digest, BlobAction> seen;
    PushOptions options = jobs(3);
    options.on_blob = [&](const BlobProgress& progress) {
        std::lock_guard lock(mutex);
        CHECK(seen.emplace(progress.digest, progress.action).second);
    };
    push_image(h.client, "app", "v1", image.blobs, image.manifest, options);
    REQUIRE(seen.size() == 4);
    CHECK(seen.at(image.blobs.at(2)->digest()) == BlobAction::skipped);
    CHECK(seen.at(image.blobs.at(0)->digest()) == BlobAction::uploaded);
}

TEST_CASE("push_image checks its input before sending anything") {
    Harness h;
    const auto image = make_image("web", 2);
    SECTION("a referenced blob is missing") {
        auto blobs = image.blobs;
        blobs.pop_back();
        CHECK_THROWS_AS(push_image(h.client, "app", "v1", blobs, image.manifest),
                        std::invalid_argument);
    }
    SECTION("the manifest is not JSON") {
        CHECK_THROWS_AS(push_image(h.client, "app", "v1", image.blobs,
                                   ManifestPayload{std::string(media_type::k_oci_manifest), "{"}),
                        std::invalid_argument);
    }
    SECTION("an index goes to push_index") {
        CHECK_THROWS_AS(push_image(h.client, "app", "v1", image.blobs,
                                   ManifestPayload{std::string(media_type::k_oci_index), "{}"}),
                        std::invalid_argument);
    }
    SECTION("the tag is invalid") {
        CHECK_THROWS_AS(push_image(h.client, "app", "-v1", image.blobs, image.manifest),
                        InvalidReference);
    }
    CHECK(h.registry.log().empty());
}

TEST_CASE("referenced_blobs lists config and layers but not foreign layers") {
    const auto config = make_memory_blob("{}");
    const auto layer = make_memory_blob("layer");
    const ManifestPayload manifest{
        std::string(media_type::k_docker_manifest),
        json{{"schemaVersion", 2},
             {"config", descriptor(media_type::k_docker_config, *config)},
             {"layers",
              {descriptor("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                          *make_memory_blob("windows")),
               descriptor(media_type::k_docker_layer_gzip, *layer)}}}
            .dump()};
    CHECK(referenced_blobs(manifest) == std::vector<Digest>{config->digest(), layer->digest()});
    CHECK_THROWS_AS(referenced_blobs(ManifestPayload{"x", R"({"layers": []})"}),
                    std::invalid_argument);
    CHECK_THROWS_AS(
        referenced_blobs(ManifestPayload{"x", R"({"config": {"digest": "sha256:bad"}})"}),
        std::invalid_argument);
}

TEST_CASE("push_index puts the blobs, then each child by digest, then the index by tag") {
    Harness h;
    const auto shared = make_memory_blob("a base layer both platforms share");
    const auto amd64 = make_image("amd64", 2, shared);
    const auto arm64 = make_image("arm64", 1, shared);
    const auto amd64_digest = Digest::sha256_of(amd64.manifest.bytes);
    const auto arm64_digest = Digest::sha256_of(arm64.manifest.bytes);
    const ManifestPayload index{std::string(media_type::k_oci_index),
                                json{{"schemaVersion", 2},
                                     {"mediaType", media_type::k_oci_index},
                                     {"manifests",
                                      {{{"mediaType", media_type::k_oci_manifest},
                                        {"digest", amd64_digest.str()},
                                        {"size", amd64.manifest.bytes.size()}},
                                       {{"mediaType", media_type::k_oci_manifest},
                                        {"digest", arm64_digest.str()},
                                        {"size", arm64.manifest.bytes.size()}}}}}
                                    .dump()};
    const auto report = push_index(
        h.client, "app", "latest",
        {ImagePayload{amd64.blobs, amd64.manifest}, ImagePayload{arm64.blobs, arm64.manifest}},
        index, jobs(4));
    CHECK(report.blobs_uploaded == 6);  // 2 configs, 3 own layers, the shared layer once
    CHECK(report.digest == Digest::sha256_of(index.bytes));
    const auto log = h.registry.log();
    CHECK(log.back() == "PUT /v2/app/manifests/latest");
    const auto first_child = h.first("PUT /v2/app/manifests/sha256:");
    CHECK(h.count("PUT /v2/app/manifests/sha256:") == 2);
    for (std::size_t i = first_child; i < log.size(); ++i) {
        CHECK(log[i].rfind("PUT /v2/app/manifests/", 0) == 0);  // no blob work after children
    }
    CHECK(h.registry.has_manifest("app", amd64_digest.str()));
    CHECK(h.registry.has_manifest("app", "latest"));
}

TEST_CASE("push_index refuses an index that does not list exactly the children") {
    Harness h;
    const auto amd64 = make_image("amd64", 1);
    const ManifestPayload index{std::string(media_type::k_docker_manifest_list),
                                R"({"schemaVersion":2,"manifests":[]})"};
    CHECK_THROWS_AS(
        push_index(h.client, "app", "latest", {ImagePayload{amd64.blobs, amd64.manifest}}, index),
        std::invalid_argument);
    CHECK_THROWS_AS(
        push_index(h.client, "app", "latest", {ImagePayload{amd64.blobs, amd64.manifest}},
                   ManifestPayload{std::string(media_type::k_oci_manifest), "{}"}),
        std::invalid_argument);
    CHECK(h.registry.log().empty());
}

TEST_CASE("an interruption starts no blob and writes no manifest") {
    Harness h;
    const auto image = make_image("web", 2);
    const InterruptGuard interrupted;
    CHECK_THROWS_AS(push_image(h.client, "app", "v1", image.blobs, image.manifest, jobs(2)),
                    PushInterrupted);
    CHECK(h.registry.log().empty());
}

TEST_CASE("push_made_image makes each blob on a worker, then builds and puts the manifest last") {
    Harness h;
    const auto image = make_image("made", 4);
    std::mutex mutex;
    std::vector<std::size_t> made_order;
    std::vector<BlobMaker> makers;
    for (std::size_t i = 0; i < image.blobs.size(); ++i) {
        makers.emplace_back([&, i] {
            std::lock_guard lock(mutex);
            made_order.push_back(i);
            return image.blobs[i];
        });
    }
    std::size_t manifest_built_with = 0;
    const auto report = push_made_image(
        h.client, "app", "v1", makers,
        [&](const std::vector<std::shared_ptr<const BlobSource>>& made) {
            manifest_built_with = made.size();
            for (std::size_t i = 0; i < made.size(); ++i) {
                CHECK(made[i] == image.blobs[i]);  // in the makers' order
            }
            return image.manifest;
        },
        jobs(3));
    CHECK(made_order.size() == image.blobs.size());
    CHECK(manifest_built_with == image.blobs.size());
    CHECK(report.blobs_uploaded == image.blobs.size());
    CHECK(h.registry.log().back() == "PUT /v2/app/manifests/v1");
    CHECK(h.registry.has_manifest("app", "v1"));
}

TEST_CASE("push_made_image puts no manifest when a maker fails or the manifest lacks a blob") {
    Harness h;
    const auto image = make_image("broken", 3);
    std::vector<BlobMaker> makers;
    for (const auto& blob : image.blobs) {
        makers.emplace_back([blob] { return blob; });
    }
    SECTION("a maker throws") {
        makers[2] = []() -> std::shared_ptr<const BlobSource> {
            throw std::runtime_error("layer changed on disk");
        };
        CHECK_THROWS_WITH(push_made_image(
                              h.client, "app", "v1", makers,
                              [&](const auto&) { return image.manifest; }, jobs(2)),
                          "layer changed on disk");
    }
    SECTION("the manifest references a blob no maker made") {
        makers.pop_back();
        CHECK_THROWS_WITH(push_made_image(
                              h.client, "app", "v1", makers,
                              [&](const auto&) { return image.manifest; }, jobs(2)),
                          Catch::Contains("not given"));
    }
    CHECK(h.count("PUT /v2/app/manifests/") == 0);
    CHECK_FALSE(h.registry.has_manifest("app", "v1"));
}
