// RegistryClient over a scripted HTTP client: request shapes, Location handling, both upload
// methods (with ECR's 201 to a PATCH), retries with new upload sessions, typed errors.
#include <catch2/catch.hpp>

#include "registry/client.hpp"
#include "registry/media_type.hpp"
#include "support/fake_http.hpp"
#include "support/fake_sleeper.hpp"

using namespace assetctl;
using namespace assetctl::registry;
using namespace std::chrono_literals;

namespace {

const std::string k_origin = "https://registry.test";
const std::string k_bytes = "layer bytes, gzip in real life";
const Digest k_digest = Digest::sha256_of(k_bytes);
const std::string k_digest_query = "digest=sha256%3A" + k_digest.hex();
const std::string k_uploads = k_origin + "/v2/team/app/blobs/uploads/";
const std::string k_manifest = R"({"schemaVersion":2})";

struct Harness {
    test::FakeHttpClient http;
    test::FakeSleeper sleeper;
    util::FixedClock clock{std::chrono::system_clock::time_point{}};
    http::RetryContext retry{http::RetryPolicy{}, sleeper, [] { return 1.0; }};

    // An anonymous registry, so the scripts below are about the operation, not auth.
    RegistryClient client(ClientOptions options = {}) {
        http.expect("GET", k_origin + "/v2/").respond(200);
        return RegistryClient(http, retry, clock, "registry.test",
                              std::make_shared<StaticCredentials>(), options);
    }
};

http::Headers location(const std::string& value) {
    return {{"Location", value}};
}

std::string error_body(const std::string& code) {
    return R"({"errors":[{"code":")" + code + R"(","message":"m"}]})";
}

}  // namespace

TEST_CASE("the registry is a host[:port] or an http(s) origin") {
    Harness h;
    CHECK_THROWS_AS(RegistryClient(h.http, h.retry, h.clock, "bad host", nullptr),
                    InvalidReference);
    CHECK_THROWS_AS(RegistryClient(h.http, h.retry, h.clock, "https://r.test/v2", nullptr),
                    InvalidReference);
    RegistryClient local(h.http, h.retry, h.clock, "http://127.0.0.1:5000", nullptr);
    CHECK(local.host() == "127.0.0.1:5000");
    h.http.expect("GET", "http://127.0.0.1:5000/v2/").respond(200);
    h.http.expect("HEAD", "http://127.0.0.1:5000/v2/app/blobs/" + k_digest.str()).respond(404);
    CHECK_FALSE(local.blob_exists("app", k_digest));
    CHECK(h.http.all_used());
}

TEST_CASE("ping learns the scheme and checks the credentials") {
    Harness h;
    h.http.expect("GET", k_origin + "/v2/").respond(401, {{"WWW-Authenticate", "Basic realm=r"}});
    h.http.expect("GET", k_origin + "/v2/").with_header("Authorization", "Basic dTpw").respond(200);
    RegistryClient client(h.http, h.retry, h.clock, "registry.test",
                          std::make_shared<StaticCredentials>(Credentials{"u", "p"}));
    CHECK(client.ping() == AuthScheme::basic);
    CHECK(h.http.all_used());
}

TEST_CASE("ping with refused credentials is an auth failure") {
    Harness h;
    h.http.expect("GET", k_origin + "/v2/").respond(401, {{"WWW-Authenticate", "Basic realm=r"}});
    h.http.expect("GET", k_origin + "/v2/").respond(401, {{"WWW-Authenticate", "Basic realm=r"}});
    RegistryClient client(h.http, h.retry, h.clock, "registry.test",
                          std::make_shared<StaticCredentials>(Credentials{"u", "wrong"}));
    try {
        client.ping();
        FAIL("no exception");
    } catch (const RegistryError& e) {
        CHECK(e.is_auth_failure());
    }
}

TEST_CASE("blob_exists: HEAD gives the size, 404 means absent") {
    Harness h;
    auto client = h.client();
    h.http.expect("HEAD", k_origin + "/v2/team/app/blobs/" + k_digest.str())
        .respond(200, {{"Content-Length", "1234"}, {"Docker-Content-Digest", k_digest.str()}});
    h.http.expect("HEAD", k_origin + "/v2/team/app/blobs/" + k_digest.str()).respond(404);
    h.http.expect("HEAD", k_origin + "/v2/team/app/blobs/" + k_digest.str()).respond(200);
    h.http.expect("HEAD", k_origin + "/v2/team/app/blobs/" + k_digest.str())
        .respond(307, location("https://storage.test/blob"));
    CHECK(client.blob_exists("team/app", k_digest) == 1234u);
    CHECK_FALSE(client.blob_exists("team/app", k_digest));
    CHECK(client.blob_exists("team/app", k_digest) == 0u);
    CHECK(client.blob_exists("team/app", k_digest) == 0u);
    CHECK(h.http.all_used());
    CHECK(h.sleeper.sleeps().empty());
}

TEST_CASE("blob_exists turns a 403 into an auth failure without retrying") {
    Harness h;
    auto client = h.client();
    h.http.expect("HEAD", k_origin + "/v2/team/app/blobs/" + k_digest.str()).respond(403);
    try {
        client.blob_exists("team/app", k_digest);
        FAIL("no exception");
    } catch (const RegistryError& e) {
        CHECK(e.is_auth_failure());
        CHECK(e.status() == 403);
    }
    CHECK(h.sleeper.sleeps().empty());
}

TEST_CASE("500 and 429 are retried, waiting what Retry-After asks") {
    Harness h;
    auto client = h.client();
    const auto url = k_origin + "/v2/team/app/blobs/" + k_digest.str();
    h.http.expect("HEAD", url).respond(500);
    h.http.expect("HEAD", url).respond(429, {{"Retry-After", "7"}});
    h.http.expect("HEAD", url).respond(200, {{"Content-Length", "5"}});
    CHECK(client.blob_exists("team/app", k_digest) == 5u);
    CHECK(h.sleeper.sleeps() == std::vector<std::chrono::milliseconds>{1'000ms, 7'000ms});
    CHECK(h.http.all_used());
}

TEST_CASE("when the attempts run out the last 503 is thrown as retryable") {
    Harness h;
    auto client = h.client();
    const auto url = k_origin + "/v2/team/app/blobs/" + k_digest.str();
    for (int i = 0; i < 3; ++i) {
        h.http.expect("HEAD", url).respond(503);
    }
    try {
        client.blob_exists("team/app", k_digest);
        FAIL("no exception");
    } catch (const RegistryError& e) {
        CHECK(e.retryable());
        CHECK(e.status() == 503);
    }
    CHECK(h.sleeper.sleeps().size() == 2);
}

TEST_CASE("names are validated before they reach a URL") {
    Harness h;
    RegistryClient client(h.http, h.retry, h.clock, "registry.test", nullptr);
    CHECK_THROWS_AS(client.blob_exists("../etc", k_digest), InvalidReference);
    CHECK_THROWS_AS(client.blob_exists("Team/App", k_digest), InvalidReference);
    CHECK_THROWS_AS(client.put_manifest("app", "bad/tag", "t", "{}"), InvalidReference);
    CHECK_THROWS_AS(client.put_manifest("app", "sha256:123", "t", "{}"), InvalidReference);
    CHECK_THROWS_AS(client.manifest_exists("app", "-x"), InvalidReference);
    CHECK_THROWS_AS(client.mount_blob("app", k_digest, "UP"), InvalidReference);
    CHECK(h.http.received().empty());
}

TEST_CASE("monolithic upload: POST, then one PUT to the Location with &digest= after its query") {
    Harness h;
    auto client = h.client();
    h.http.expect("POST", k_uploads)
        .with_body("")
        .respond(202, location("/v2/team/app/blobs/uploads/u-1?_state=s%2B1"));
    h.http.expect("PUT", k_origin + "/v2/team/app/blobs/uploads/u-1?_state=s%2B1&" + k_digest_query)
        .with_header("Content-Type", "application/octet-stream")
        .with_body(k_bytes)
        .respond(201, {{"Docker-Content-Digest", k_digest.str()}});
    const MemoryBlob blob(k_bytes);
    const auto result = client.upload_blob("team/app", blob);
    CHECK(result.bytes_sent == k_bytes.size());
    CHECK(result.sessions == 1);
    CHECK(h.http.all_used());
}

TEST_CASE("an absolute Location without a query gets ?digest=") {
    Harness h;
    auto client = h.client();
    h.http.expect("POST", k_uploads)
        .respond(202, location("https://registry.test/v2/team/app/blobs/uploads/abs"));
    h.http.expect("PUT", k_origin + "/v2/team/app/blobs/uploads/abs?" + k_digest_query)
        .with_body(k_bytes)
        .respond(201);
    client.upload_blob("team/app", MemoryBlob(k_bytes));
    CHECK(h.http.all_used());
}

TEST_CASE("the upload timeout grows with the blob's size") {
    Harness h;
    ClientOptions options;
    options.upload_timeout_floor = 1'000ms;
    options.upload_min_bytes_per_second = 10;
    auto client = h.client(options);
    h.http.expect("POST", k_uploads).respond(202, location("/u"));
    h.http.expect("PUT", k_origin + "/u?" + k_digest_query).respond(201);
    client.upload_blob("team/app", MemoryBlob(k_bytes));
    const auto put = h.http.received().back();
    CHECK(put.timeout == 1'000ms + std::chrono::milliseconds(k_bytes.size() * 100));
    CHECK(h.http.received().at(1).timeout == 0ms);  // the POST keeps the client's default
}

TEST_CASE("single PATCH upload accepts ECR's 201 and completes with an empty PUT") {
    Harness h;
    ClientOptions options;
    options.upload_method = UploadMethod::single_patch;
    auto client = h.client(options);
    const long patch_status = GENERATE(201L, 202L);
    INFO("PATCH answered " << patch_status);
    h.http.expect("POST", k_uploads)
        .respond(202, location("/v2/team/app/blobs/uploads/p?_state=1"));
    h.http.expect("PATCH", k_origin + "/v2/team/app/blobs/uploads/p?_state=1")
        .with_header("Content-Type", "application/octet-stream")
        .without_header("Content-Range")
        .with_body(k_bytes)
        .respond(patch_status, location("/v2/team/app/blobs/uploads/p?_state=2"));
    h.http.expect("PUT", k_origin + "/v2/team/app/blobs/uploads/p?_state=2&" + k_digest_query)
        .with_body("")
        .respond(201);
    const auto result = client.upload_blob("team/app", MemoryBlob(k_bytes));
    CHECK(result.bytes_sent == k_bytes.size());
    CHECK(h.http.all_used());
}

TEST_CASE("a PATCH answer without Location completes on the session's Location") {
    Harness h;
    ClientOptions options;
    options.upload_method = UploadMethod::single_patch;
    auto client = h.client(options);
    h.http.expect("POST", k_uploads).respond(202, location("https://registry.test/up/1"));
    h.http.expect("PATCH", k_origin + "/up/1").respond(201);
    h.http.expect("PUT", k_origin + "/up/1?" + k_digest_query).respond(201);
    client.upload_blob("team/app", MemoryBlob(k_bytes));
    CHECK(h.http.all_used());
}

TEST_CASE("a failed upload starts over with a new session, never the broken Location") {
    Harness h;
    auto client = h.client();
    SECTION("500 to the PUT") {
        h.http.expect("POST", k_uploads).respond(202, location("/v2/team/app/blobs/uploads/old"));
        h.http.expect("PUT", k_origin + "/v2/team/app/blobs/uploads/old?" + k_digest_query)
            .respond(500);
    }
    SECTION("the connection breaks during the PUT") {
        h.http.expect("POST", k_uploads).respond(202, location("/v2/team/app/blobs/uploads/old"));
        h.http.expect("PUT", k_origin + "/v2/team/app/blobs/uploads/old?" + k_digest_query)
            .fail(http::TransportErrorKind::connection_reset);
    }
    SECTION("the session expired") {
        h.http.expect("POST", k_uploads).respond(202, location("/v2/team/app/blobs/uploads/old"));
        h.http.expect("PUT", k_origin + "/v2/team/app/blobs/uploads/old?" + k_digest_query)
            .respond(404, {}, error_body("BLOB_UPLOAD_UNKNOWN"));
    }
    SECTION("the POST itself is throttled") {
        h.http.expect("POST", k_uploads).respond(429, {}, error_body("TOOMANYREQUESTS"));
    }
    h.http.expect("POST", k_uploads).respond(202, location("/v2/team/app/blobs/uploads/new"));
    h.http.expect("PUT", k_origin + "/v2/team/app/blobs/uploads/new?" + k_digest_query)
        .with_body(k_bytes)
        .respond(201);
    const auto result = client.upload_blob("team/app", MemoryBlob(k_bytes));
    CHECK(result.sessions == 2);
    CHECK(h.sleeper.sleeps().size() == 1);
    CHECK(h.http.all_used());
}

TEST_CASE("bytes_sent counts every body put on the wire") {
    Harness h;
    auto client = h.client();
    h.http.expect("POST", k_uploads).respond(202, location("/a"));
    h.http.expect("PUT", k_origin + "/a?" + k_digest_query).respond(502);
    h.http.expect("POST", k_uploads).respond(202, location("/b"));
    h.http.expect("PUT", k_origin + "/b?" + k_digest_query).respond(201);
    CHECK(client.upload_blob("team/app", MemoryBlob(k_bytes)).bytes_sent == 2 * k_bytes.size());
}

TEST_CASE("a digest the registry rejects is not retried") {
    Harness h;
    auto client = h.client();
    h.http.expect("POST", k_uploads).respond(202, location("/a"));
    h.http.expect("PUT", k_origin + "/a?" + k_digest_query)
        .respond(400, {}, error_body("DIGEST_INVALID"));
    try {
        client.upload_blob("team/app", MemoryBlob(k_bytes));
        FAIL("no exception");
    } catch (const RegistryError& e) {
        CHECK(e.has_code("DIGEST_INVALID"));
        CHECK_FALSE(e.retryable());
        CHECK_THAT(e.what(), Catch::Contains("PUT (upload)"));
    }
    CHECK(h.sleeper.sleeps().empty());
}

TEST_CASE("protocol violations in an upload are ProtocolErrors") {
    Harness h;
    auto client = h.client();
    SECTION("202 without Location") {
        h.http.expect("POST", k_uploads).respond(202);
    }
    SECTION("the registry stored another digest") {
        h.http.expect("POST", k_uploads).respond(202, location("/a"));
        h.http.expect("PUT", k_origin + "/a?" + k_digest_query)
            .respond(201, {{"Docker-Content-Digest", Digest::sha256_of("other").str()}});
    }
    SECTION("the POST answered 200") {
        h.http.expect("POST", k_uploads).respond(200);
    }
    CHECK_THROWS_AS(client.upload_blob("team/app", MemoryBlob(k_bytes)), ProtocolError);
    CHECK(h.sleeper.sleeps().empty());
}

TEST_CASE("mount_blob: 201 is mounted, 202 cancels the session it opened") {
    Harness h;
    auto client = h.client();
    const std::string mount_url =
        k_uploads + "?mount=sha256%3A" + k_digest.hex() + "&from=team%2Fbase";
    h.http.expect("POST", mount_url).respond(201, location("/v2/team/app/blobs/" + k_digest.str()));
    CHECK(client.mount_blob("team/app", k_digest, "team/base"));

    h.http.expect("POST", mount_url)
        .respond(202, location("/v2/team/app/blobs/uploads/m?_state=1"));
    h.http.expect("DELETE", k_origin + "/v2/team/app/blobs/uploads/m?_state=1").respond(204);
    CHECK_FALSE(client.mount_blob("team/app", k_digest, "team/base"));

    // Cancelling is best effort.
    h.http.expect("POST", mount_url).respond(202, location("/v2/team/app/blobs/uploads/m2"));
    h.http.expect("DELETE", k_origin + "/v2/team/app/blobs/uploads/m2")
        .fail(http::TransportErrorKind::connection_reset);
    CHECK_FALSE(client.mount_blob("team/app", k_digest, "team/base"));

    h.http.expect("POST", mount_url).respond(403, {}, error_body("DENIED"));
    CHECK_THROWS_AS(client.mount_blob("team/app", k_digest, "team/base"), RegistryError);
    CHECK(h.http.all_used());
}

TEST_CASE("put_manifest sends the media type and returns the registry's digest") {
    Harness h;
    auto client = h.client();
    const auto digest = Digest::sha256_of(k_manifest);
    h.http.expect("PUT", k_origin + "/v2/team/app/manifests/v1")
        .with_header("Content-Type", std::string(media_type::k_oci_manifest))
        .with_body(k_manifest)
        .respond(201, {{"Docker-Content-Digest", digest.str()}});
    CHECK(client.put_manifest("team/app", "v1", media_type::k_oci_manifest, k_manifest) == digest);
    // Without the header the digest is computed from the bytes.
    h.http.expect("PUT", k_origin + "/v2/team/app/manifests/" + digest.str()).respond(201);
    CHECK(client.put_manifest("team/app", digest.str(), media_type::k_oci_manifest, k_manifest) ==
          digest);
    CHECK(h.http.all_used());
}

TEST_CASE("put_manifest refuses a by-digest reference that does not match the bytes") {
    Harness h;
    RegistryClient client(h.http, h.retry, h.clock, "registry.test", nullptr);
    CHECK_THROWS_AS(client.put_manifest("app", Digest::sha256_of("x").str(),
                                        media_type::k_oci_manifest, k_manifest),
                    std::invalid_argument);
    CHECK(h.http.received().empty());
}

TEST_CASE("put_manifest errors: rejected manifests and a wrong reported digest") {
    Harness h;
    auto client = h.client();
    h.http.expect("PUT", k_origin + "/v2/app/manifests/v1")
        .respond(400, {}, error_body("MANIFEST_BLOB_UNKNOWN"));
    try {
        client.put_manifest("app", "v1", media_type::k_docker_manifest, k_manifest);
        FAIL("no exception");
    } catch (const RegistryError& e) {
        CHECK(e.has_code("MANIFEST_BLOB_UNKNOWN"));
        CHECK_THAT(e.what(), Catch::Contains("PUT manifest app:v1"));
    }
    h.http.expect("PUT", k_origin + "/v2/app/manifests/v1")
        .respond(201, {{"Docker-Content-Digest", Digest::sha256_of("other").str()}});
    CHECK_THROWS_AS(client.put_manifest("app", "v1", media_type::k_docker_manifest, k_manifest),
                    ProtocolError);
    CHECK(h.sleeper.sleeps().empty());
}

TEST_CASE("manifest_exists asks for all four manifest types") {
    Harness h;
    auto client = h.client();
    const auto digest = Digest::sha256_of(k_manifest);
    const std::string accept = media_type::manifest_accept_header();
    h.http.expect("HEAD", k_origin + "/v2/app/manifests/v1")
        .with_header("Accept", accept)
        .respond(200, {{"Content-Type", std::string(media_type::k_oci_index) + "; charset=utf-8"},
                       {"Docker-Content-Digest", digest.str()},
                       {"Content-Length", "19"}});
    const auto info = client.manifest_exists("app", "v1");
    REQUIRE(info);
    CHECK(info->digest == digest);
    CHECK(info->media_type == media_type::k_oci_index);
    CHECK(info->size == 19u);

    h.http.expect("HEAD", k_origin + "/v2/app/manifests/v2").respond(404);
    CHECK_FALSE(client.manifest_exists("app", "v2"));
    CHECK(h.http.all_used());
}

TEST_CASE("manifest_exists hashes the manifest when HEAD gives no digest") {
    Harness h;
    auto client = h.client();
    h.http.expect("HEAD", k_origin + "/v2/app/manifests/v1")
        .respond(200, {{"Content-Type", std::string(media_type::k_docker_manifest)}});
    h.http.expect("GET", k_origin + "/v2/app/manifests/v1")
        .with_header("Accept", media_type::manifest_accept_header())
        .respond(200, {{"Content-Type", std::string(media_type::k_docker_manifest)}}, k_manifest);
    const auto info = client.manifest_exists("app", "v1");
    REQUIRE(info);
    CHECK(info->digest == Digest::sha256_of(k_manifest));
    CHECK(info->size == k_manifest.size());
}

TEST_CASE("get_manifest returns bytes, type and digest, and checks by-digest answers") {
    Harness h;
    auto client = h.client();
    const std::string body =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"})";
    h.http.expect("GET", k_origin + "/v2/app/manifests/v1").respond(200, {}, body);
    const auto manifest = client.get_manifest("app", "v1");
    CHECK(manifest.bytes == body);
    CHECK(manifest.media_type == media_type::k_oci_index);  // from the body: no Content-Type
    CHECK(manifest.digest == Digest::sha256_of(body));

    const auto wanted = Digest::sha256_of("something else");
    h.http.expect("GET", k_origin + "/v2/app/manifests/" + wanted.str()).respond(200, {}, body);
    CHECK_THROWS_AS(client.get_manifest("app", wanted.str()), ProtocolError);

    h.http.expect("GET", k_origin + "/v2/app/manifests/v9")
        .respond(404, {}, error_body("MANIFEST_UNKNOWN"));
    try {
        client.get_manifest("app", "v9");
        FAIL("no exception");
    } catch (const RegistryError& e) {
        CHECK(e.is_not_found());
    }
}
