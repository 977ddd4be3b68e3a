// docker's per-registry CA folder (certs.d) and how the registry client trusts it.
#include <catch2/catch.hpp>

#include "registry/client.hpp"
#include "registry/docker_certs.hpp"
#include "support/fake_http.hpp"
#include "support/fake_sleeper.hpp"
#include "support/temp_dir.hpp"

using namespace assetctl;
using namespace assetctl::registry;
namespace fs = std::filesystem;

namespace {

const std::string k_pem_a = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
const std::string k_pem_b = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----";

http::Request get(const std::string& url) {
    http::Request request;
    request.url = url;
    return request;
}

}  // namespace

TEST_CASE("docker_ca_files lists <dir>/<host:port>/*.crt, sorted, and nothing else") {
    test::TempDir certs;
    certs.write("127.0.0.1:5000/b.crt", k_pem_b);
    certs.write("127.0.0.1:5000/a.crt", k_pem_a);
    certs.write("127.0.0.1:5000/client.cert", "client certificate");
    certs.write("127.0.0.1:5000/client.key", "client key");
    certs.write("127.0.0.1:5000/notes.txt", "not a certificate");
    certs.mkdir("127.0.0.1:5000/folder.crt");
    certs.write("127.0.0.1/other.crt", k_pem_a);  // the same host on another port
    CHECK(docker_ca_files(certs.path(), "127.0.0.1:5000") ==
          std::vector<fs::path>{certs.path() / "127.0.0.1:5000/a.crt",
                                certs.path() / "127.0.0.1:5000/b.crt"});
    CHECK(docker_ca_files(certs.path(), "127.0.0.1") ==
          std::vector<fs::path>{certs.path() / "127.0.0.1/other.crt"});
}

TEST_CASE("docker_ca_files of a host without a folder, or without certs.d, is empty") {
    test::TempDir certs;
    certs.write("registry.test", "a file, not a folder");
    CHECK(docker_ca_files(certs.path(), "elsewhere.test:443").empty());
    CHECK(docker_ca_files(certs.path(), "registry.test").empty());
    CHECK(docker_ca_files(certs.path() / "missing", "registry.test").empty());
    CHECK(docker_ca_pem(certs.path(), "elsewhere.test") == nullptr);
}

TEST_CASE("docker_ca_pem joins the files, each ending with a newline") {
    test::TempDir certs;
    certs.write("r.test:5000/2.crt", k_pem_b);
    certs.write("r.test:5000/1.crt", k_pem_a);
    const auto pem = docker_ca_pem(certs.path(), "r.test:5000");
    REQUIRE(pem != nullptr);
    CHECK(*pem == k_pem_a + k_pem_b + "\n");
}

TEST_CASE("OriginTrustClient adds the CAs to requests for its origin only") {
    test::FakeHttpClient http;
    const auto pem = std::make_shared<const std::string>(k_pem_a);
    OriginTrustClient client(http, "https://r.test:5000", pem);
    for (const auto* url :
         {"https://r.test:5000/v2/", "https://R.TEST:5000/v2/app/blobs/uploads/?x=1",
          "https://r.test:50000/v2/", "https://r.test:5000.evil.test/v2/",
          "https://auth.test/token", "http://r.test:5000/v2/"}) {
        http.expect("GET", url).respond(200);
        client.send(get(url));
    }
    const auto received = http.received();
    REQUIRE(received.size() == 6);
    CHECK(received[0].extra_ca_pem == pem);
    CHECK(received[1].extra_ca_pem == pem);
    for (std::size_t i = 2; i < received.size(); ++i) {
        INFO(received[i].url);
        CHECK(received[i].extra_ca_pem == nullptr);
    }
}

TEST_CASE("the registry client trusts docker's CAs for its host, read from docker_certs_dir") {
    test::TempDir certs;
    certs.write("registry.test/ca.crt", k_pem_a);
    test::FakeHttpClient http;
    test::FakeSleeper sleeper;
    util::FixedClock clock{std::chrono::system_clock::time_point{}};
    http::RetryContext retry{http::RetryPolicy{}, sleeper, [] { return 1.0; }};
    ClientOptions options;
    options.docker_certs_dir = certs.path();
    RegistryClient trusting(http, retry, clock, "registry.test",
                            std::make_shared<StaticCredentials>(), options);
    http.expect("GET", "https://registry.test/v2/").respond(200);
    http.expect("GET", "https://registry.test/v2/").respond(200);
    trusting.ping();
    options.docker_certs_dir.clear();
    RegistryClient plain(http, retry, clock, "registry.test", std::make_shared<StaticCredentials>(),
                         options);
    http.expect("GET", "https://registry.test/v2/").respond(200);
    http.expect("GET", "https://registry.test/v2/").respond(200);
    plain.ping();
    const auto received = http.received();
    REQUIRE(received.size() == 4);
    for (std::size_t i = 0; i < 2; ++i) {
        REQUIRE(received[i].extra_ca_pem != nullptr);
        CHECK(*received[i].extra_ca_pem == k_pem_a);
        CHECK(received[i + 2].extra_ca_pem == nullptr);
    }
}
