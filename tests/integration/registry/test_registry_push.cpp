// The registry client against a real registry (Debian docker-registry, TLS + htpasswd), started
// by run_with_registry.py, which passes its address, CA, users and a tiny layer in
// ASSETCTL_TEST_REGISTRY_* / ASSETCTL_TEST_LAYER_* variables. skopeo, an independent client,
// reads every pushed image back. Run directly without those variables, this program exits 77.
#define CATCH_CONFIG_RUNNER
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "catch_session.hpp"
#include "crypto/crypto.hpp"
#include "http/http_client.hpp"
#include "http/retry.hpp"
#include "process/process_runner.hpp"
#include "registry/client.hpp"
#include "registry/media_type.hpp"
#include "registry/push.hpp"
#include "support/temp_dir.hpp"
#include "util/clock.hpp"
#include "util/sleeper.hpp"

using namespace assetctl;
using namespace assetctl::registry;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Setup {
    std::string host;
    std::string ca;
    std::string cert_dir;
    std::string htpasswd;
    std::string user;
    std::string password;
    std::string revokee;
    std::string revokee_password;
    std::string layer_tar;
    std::string layer_gzip;
};

Setup g_setup;

std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string digest_of(std::string_view bytes) {
    return "sha256:" + crypto::sha256_hex(bytes);
}

// A one-layer linux/amd64 image assembled here: the gzip layer from the driver, a config whose
// diff_ids name the uncompressed tar, and a manifest of the given type.
struct TinyImage {
    std::shared_ptr<const BlobSource> config;
    std::shared_ptr<const BlobSource> layer;
    ManifestPayload manifest;
    std::vector<std::shared_ptr<const BlobSource>> blobs() const { return {layer, config}; }
};

TinyImage tiny_image(std::string_view manifest_type, const std::string& label) {
    const bool docker = manifest_type == media_type::k_docker_manifest;
    const std::string tar = read_file(g_setup.layer_tar);
    TinyImage image;
    image.layer = make_memory_blob(read_file(g_setup.layer_gzip));
    image.config =
        make_memory_blob(json{{"architecture", "amd64"},
                              {"os", "linux"},
                              {"config", {{"Labels", {{"test", label}}}}},
                              {"rootfs", {{"type", "layers"}, {"diff_ids", {digest_of(tar)}}}}}
                             .dump());
    const auto descriptor = [](std::string_view type, const BlobSource& blob) {
        return json{{"mediaType", type}, {"digest", blob.digest().str()}, {"size", blob.size()}};
    };
    image.manifest.media_type = std::string(manifest_type);
    image.manifest.bytes = json{
        {"schemaVersion", 2},
        {"mediaType", manifest_type},
        {"config", descriptor(docker ? media_type::k_docker_config : media_type::k_oci_config,
                              *image.config)},
        {"layers",
         {descriptor(
             docker ? media_type::k_docker_layer_gzip : media_type::k_oci_layer_gzip,
             *image.layer)}}}.dump();
    return image;
}

// Passes requests through to the real client; before the first manifest PUT it runs `before`.
class HookedHttp final : public http::HttpClient {
  public:
    HookedHttp(http::HttpClient& inner, std::function<void()> before_manifest)
        : inner_(inner), before_manifest_(std::move(before_manifest)) {}
    http::Response send(const http::Request& request) override {
        if (request.method == "PUT" && request.url.find("/manifests/") != std::string::npos) {
            if (manifest_puts_++ == 0) {
                before_manifest_();
            }
        }
        return inner_.send(request);
    }
    int manifest_puts() const { return manifest_puts_.load(); }

  private:
    http::HttpClient& inner_;
    std::function<void()> before_manifest_;
    std::atomic<int> manifest_puts_{0};
};

// Fixed credentials that count how often they were asked for fresh ones.
class CountingCredentials final : public CredentialsSource {
  public:
    explicit CountingCredentials(Credentials credentials) : credentials_(std::move(credentials)) {}
    std::optional<Credentials> get(bool refresh) override {
        refreshes += refresh ? 1 : 0;
        return credentials_;
    }
    int refreshes = 0;

  private:
    Credentials credentials_;
};

// Removes `user` from the htpasswd file the way registry.py edits it (a new file renamed over
// the old one), so the registry, which re-reads it when its mtime changes, refuses that user.
void revoke(const std::string& user) {
    std::istringstream lines(read_file(g_setup.htpasswd));
    std::string kept;
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line.rfind(user + ":", 0) != 0) {
            kept += line + "\n";
        }
    }
    const std::string temporary = g_setup.htpasswd + ".revoke";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << kept;
    }
    fs::rename(temporary, g_setup.htpasswd);
}

struct Clients {
    std::unique_ptr<http::HttpClient> curl;
    util::ThreadSleeper sleeper;
    util::SystemClock clock;
    http::RetryContext retry{http::RetryPolicy{}, sleeper, http::random_jitter()};

    Clients() {
        http::ClientOptions options;
        options.ca_bundle = g_setup.ca;
        curl = http::make_curl_client(options);
    }
};

std::shared_ptr<CredentialsSource> pusher() {
    return std::make_shared<StaticCredentials>(Credentials{g_setup.user, g_setup.password});
}

// `skopeo inspect [extra...] docker://HOST/repo:tag` with the test CA and the pusher's login.
process::Result skopeo_inspect(const std::string& image, std::vector<std::string> extra = {}) {
    process::Command command;
    command.argv = {"/usr/bin/skopeo", "inspect", "--cert-dir",
                    g_setup.cert_dir,  "--creds", g_setup.user + ":" + g_setup.password};
    command.argv.insert(command.argv.end(), extra.begin(), extra.end());
    command.argv.push_back("docker://" + g_setup.host + "/" + image);
    command.timeout = std::chrono::seconds(60);
    return process::make_system_runner()->run(command);
}

}  // namespace

TEST_CASE(
    "a pushed image reads back through skopeo with the same digests, and a re-push "
    "uploads nothing") {
    Clients c;
    RegistryClient client(*c.curl, c.retry, c.clock, g_setup.host, pusher());
    CHECK(client.ping() == AuthScheme::basic);
    const auto image = tiny_image(media_type::k_oci_manifest, "first");

    const auto report = push_image(client, "it/oci", "v1", image.blobs(), image.manifest);
    CHECK(report.blobs_uploaded == 2);
    CHECK(report.blobs_skipped == 0);
    CHECK(report.bytes_sent == image.layer->size() + image.config->size());
    CHECK(report.digest.str() == digest_of(image.manifest.bytes));

    const auto inspected = skopeo_inspect("it/oci:v1");
    INFO(inspected.err);
    REQUIRE(inspected.ok());
    const auto summary = json::parse(inspected.out);
    CHECK(summary.at("Digest") == report.digest.str());
    CHECK(summary.at("Layers") == json::array({digest_of(read_file(g_setup.layer_gzip))}));
    CHECK(summary.at("Labels").at("test") == "first");

    const auto raw = skopeo_inspect("it/oci:v1", {"--raw"});
    REQUIRE(raw.ok());
    CHECK(raw.out == image.manifest.bytes);
    const auto config = skopeo_inspect("it/oci:v1", {"--config", "--raw"});
    REQUIRE(config.ok());
    CHECK(digest_of(config.out) == image.config->digest().str());

    const auto again = push_image(client, "it/oci", "v1", image.blobs(), image.manifest);
    CHECK(again.blobs_uploaded == 0);
    CHECK(again.blobs_skipped == 2);
    CHECK(again.bytes_sent == 0);
    CHECK(again.digest == report.digest);

    const auto info = client.manifest_exists("it/oci", "v1");
    REQUIRE(info);
    CHECK(info->digest == report.digest);
    CHECK(info->media_type == media_type::k_oci_manifest);
    CHECK(client.get_manifest("it/oci", report.digest.str()).bytes == image.manifest.bytes);
    CHECK(client.blob_exists("it/oci", image.layer->digest()) == image.layer->size());
}

TEST_CASE("Docker v2 manifests pushed with a single PATCH per blob") {
    Clients c;
    ClientOptions options;
    options.upload_method = UploadMethod::single_patch;
    RegistryClient client(*c.curl, c.retry, c.clock, g_setup.host, pusher(), options);
    const auto image = tiny_image(media_type::k_docker_manifest, "patched");
    PushOptions push_options;
    push_options.jobs = 2;
    const auto report =
        push_image(client, "it/docker", "v1", image.blobs(), image.manifest, push_options);
    CHECK(report.blobs_uploaded == 2);

    const auto inspected = skopeo_inspect("it/docker:v1");
    INFO(inspected.err);
    REQUIRE(inspected.ok());
    CHECK(json::parse(inspected.out).at("Digest") == report.digest.str());
    const auto raw = skopeo_inspect("it/docker:v1", {"--raw"});
    REQUIRE(raw.ok());
    CHECK(json::parse(raw.out).at("mediaType") == media_type::k_docker_manifest);
}

TEST_CASE("blobs are mounted from another repository of the same registry") {
    Clients c;
    RegistryClient client(*c.curl, c.retry, c.clock, g_setup.host, pusher());
    const auto image = tiny_image(media_type::k_oci_manifest, "mounted");
    push_image(client, "it/mount-source", "v1", image.blobs(), image.manifest);
    PushOptions options;
    options.mount_from = {"it/mount-source"};
    const auto report =
        push_image(client, "it/mount-target", "v1", image.blobs(), image.manifest, options);
    CHECK(report.blobs_mounted == 2);
    CHECK(report.blobs_uploaded == 0);
    CHECK(report.bytes_sent == 0);
    CHECK(skopeo_inspect("it/mount-target:v1").ok());
}

TEST_CASE("a manifest the registry rejects leaves no tag visible") {
    Clients c;
    RegistryClient client(*c.curl, c.retry, c.clock, g_setup.host, pusher());
    auto image = tiny_image(media_type::k_oci_manifest, "rejected");
    image.manifest.media_type = "application/vnd.assetctl.not-a-manifest+json";
    try {
        push_image(client, "it/rejected", "v1", image.blobs(), image.manifest);
        FAIL("no exception");
    } catch (const RegistryError& e) {
        INFO(e.what());
        CHECK(e.status() == 400);
        CHECK(e.has_code("MANIFEST_INVALID"));
        CHECK_FALSE(e.retryable());
    }
    // The blobs went up (they are invisible without a manifest); the tag did not.
    CHECK(client.blob_exists("it/rejected", image.layer->digest()));
    CHECK_FALSE(client.manifest_exists("it/rejected", "v1"));
    CHECK_FALSE(skopeo_inspect("it/rejected:v1").ok());
}

TEST_CASE("credentials revoked before the manifest: one re-authentication, then no tag") {
    Clients c;
    HookedHttp hooked(*c.curl, [] { revoke(g_setup.revokee); });
    auto credentials = std::make_shared<CountingCredentials>(
        Credentials{g_setup.revokee, g_setup.revokee_password});
    RegistryClient client(hooked, c.retry, c.clock, g_setup.host, credentials);
    const auto image = tiny_image(media_type::k_oci_manifest, "revoked");
    try {
        push_image(client, "it/revoked", "v1", image.blobs(), image.manifest);
        FAIL("no exception");
    } catch (const RegistryError& e) {
        INFO(e.what());
        CHECK(e.is_auth_failure());
        CHECK(e.status() == 401);
    }
    CHECK(credentials->refreshes == 1);  // asked once for fresh credentials ...
    CHECK(hooked.manifest_puts() == 1);  // ... which were the refused ones: not sent again
    RegistryClient checker(*c.curl, c.retry, c.clock, g_setup.host, pusher());
    CHECK(checker.blob_exists("it/revoked", image.layer->digest()));
    CHECK_FALSE(checker.manifest_exists("it/revoked", "v1"));
    CHECK_FALSE(skopeo_inspect("it/revoked:v1").ok());
}

TEST_CASE("a CA found only in docker's certs.d folder makes the registry trusted natively") {
    // The HTTP client trusts the system store only, as without AWS_CA_BUNDLE; the registry's
    // self-signed CA is in a certs.d folder of this test's, as docker would find it.
    const auto system_trust = http::make_curl_client({});
    util::ThreadSleeper sleeper;
    util::SystemClock clock;
    http::RetryContext retry{http::RetryPolicy{}, sleeper, http::random_jitter()};
    test::TempDir empty_certs;
    ClientOptions untrusted;
    untrusted.docker_certs_dir = empty_certs.path();
    RegistryClient without(*system_trust, retry, clock, g_setup.host, pusher(), untrusted);
    try {
        without.ping();
        FAIL("expected a TLS failure");
    } catch (const http::TransportError& e) {
        INFO(e.what());
        CHECK(e.kind() == http::TransportErrorKind::tls);
    }

    test::TempDir certs;
    certs.write(g_setup.host + "/ca.crt", read_file(g_setup.ca));
    ClientOptions trusted;
    trusted.docker_certs_dir = certs.path();
    RegistryClient with(*system_trust, retry, clock, g_setup.host, pusher(), trusted);
    CHECK(with.ping() == AuthScheme::basic);
    const auto image = tiny_image(media_type::k_docker_manifest, "certs.d");
    const auto report = push_image(with, "it/certsd", "v1", image.blobs(), image.manifest);
    CHECK(report.blobs_uploaded == 2);
    const auto inspected = skopeo_inspect("it/certsd:v1", {"--raw"});
    INFO(inspected.err);
    REQUIRE(inspected.ok());
    CHECK(inspected.out == image.manifest.bytes);
}

int main(int argc, char* argv[]) {
    g_setup = Setup{
        env("ASSETCTL_TEST_REGISTRY_HOST"),     env("ASSETCTL_TEST_REGISTRY_CA"),
        env("ASSETCTL_TEST_REGISTRY_CERT_DIR"), env("ASSETCTL_TEST_REGISTRY_HTPASSWD"),
        env("ASSETCTL_TEST_REGISTRY_USER"),     env("ASSETCTL_TEST_REGISTRY_PASSWORD"),
        env("ASSETCTL_TEST_REGISTRY_REVOKEE"),  env("ASSETCTL_TEST_REGISTRY_REVOKEE_PASSWORD"),
        env("ASSETCTL_TEST_LAYER_TAR"),         env("ASSETCTL_TEST_LAYER_GZIP")};
    if (g_setup.host.empty() || g_setup.layer_gzip.empty()) {
        std::cerr << "registry_push_test: skipped: run it through run_with_registry.py, which "
                     "starts the registry and sets ASSETCTL_TEST_REGISTRY_*\n";
        return assetctl::test::k_skipped_exit_code;
    }
    return assetctl::test::run_catch_session(argc, argv);
}
