// Image references and digests: the docker/distribution grammar.
#include <catch2/catch.hpp>

#include "registry/reference.hpp"

using namespace assetctl::registry;

namespace {

const std::string k_hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

}  // namespace

TEST_CASE("an ECR reference splits into host, repository and tag") {
    const auto ref = parse_reference(
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/cdk-hnb659fds-container-assets-"
        "123456789012-us-east-1:0123abcd");
    CHECK(ref.registry == "123456789012.dkr.ecr.us-east-1.amazonaws.com");
    CHECK(ref.repository == "cdk-hnb659fds-container-assets-123456789012-us-east-1");
    CHECK(ref.tag == "0123abcd");
    CHECK_FALSE(ref.digest);
    CHECK(ref.manifest_reference() == "0123abcd");
}

TEST_CASE("a host is recognised by a dot, a port or the name localhost") {
    auto ref = parse_reference("localhost:5000/team/app/web:v1.2");
    CHECK(ref.registry == "localhost:5000");
    CHECK(ref.repository == "team/app/web");
    CHECK(ref.tag == "v1.2");

    ref = parse_reference("localhost/app");
    CHECK(ref.registry == "localhost");
    CHECK(ref.repository == "app");
    CHECK_FALSE(ref.tag);
    CHECK(ref.manifest_reference() == "latest");

    ref = parse_reference("127.0.0.1:5000/app");
    CHECK(ref.registry == "127.0.0.1:5000");

    ref = parse_reference("[::1]:5000/app:tag");
    CHECK(ref.registry == "[::1]:5000");
    CHECK(ref.repository == "app");
    CHECK(ref.tag == "tag");
}

TEST_CASE("names without a host are Docker Hub names with docker's library prefix") {
    auto ref = parse_reference("busybox");
    CHECK(ref.registry == "docker.io");
    CHECK(ref.repository == "library/busybox");
    CHECK(ref.str() == "docker.io/library/busybox");

    ref = parse_reference("team/app:1");
    CHECK(ref.registry == "docker.io");
    CHECK(ref.repository == "team/app");

    ref = parse_reference("index.docker.io/team/app");
    CHECK(ref.registry == "docker.io");
    CHECK(ref.repository == "team/app");

    // Without a slash, "host:port" reads as name:tag, as docker reads it.
    ref = parse_reference("localhost:5000");
    CHECK(ref.repository == "library/localhost");
    CHECK(ref.tag == "5000");
}

TEST_CASE("a digest reference wins over the tag for manifest requests") {
    const auto ref = parse_reference("registry.example.com/app:v1@sha256:" + k_hex);
    CHECK(ref.tag == "v1");
    REQUIRE(ref.digest);
    CHECK(ref.digest->str() == "sha256:" + k_hex);
    CHECK(ref.manifest_reference() == "sha256:" + k_hex);
    CHECK(ref.str() == "registry.example.com/app:v1@sha256:" + k_hex);
}

TEST_CASE("malformed references are rejected with InvalidReference") {
    const std::string text = GENERATE(
        as<std::string>{}, "", "app:", "app:-bad", "app:.bad", "a//b", "a/b/", "/a",
        "host.io/UPPER", "host.io/a..b", "host.io/a_-b", "host.io/-a", "app@sha256:abc",
        "app@md5:0123", "127.0.0.1:99999/app", "bad_host.io/app", "app:" + std::string(129, 't'));
    INFO(text);
    CHECK_THROWS_AS(parse_reference(text), InvalidReference);
}

TEST_CASE("repository components allow the distribution separators") {
    CHECK(is_valid_repository("a"));
    CHECK(is_valid_repository("a.b_c__d---e/f0"));
    CHECK_FALSE(is_valid_repository("a___b"));
    CHECK_FALSE(is_valid_repository("a/../b"));
    CHECK_FALSE(is_valid_repository("a%2Fb"));
    CHECK_FALSE(is_valid_repository(std::string(256, 'a')));
    CHECK(is_valid_tag("_x"));
    CHECK(is_valid_tag(std::string(128, 't')));
    CHECK_FALSE(is_valid_tag("a/b"));
}

TEST_CASE("digests are sha256 or sha512 in lower-case hex of the right length") {
    const auto digest = Digest::parse("sha256:" + k_hex);
    REQUIRE(digest);
    CHECK(digest->algorithm() == "sha256");
    CHECK(digest->hex() == k_hex);
    CHECK(digest->short_str() == "sha256:0123456789ab");
    CHECK(Digest::parse("sha512:" + k_hex + k_hex));

    CHECK_FALSE(Digest::parse("sha256:" + k_hex.substr(1)));
    CHECK_FALSE(Digest::parse("sha256:" + k_hex + "0"));
    CHECK_FALSE(Digest::parse("SHA256:" + k_hex));
    CHECK_FALSE(
        Digest::parse("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    CHECK_FALSE(Digest::parse("sha512:" + k_hex));
    CHECK_FALSE(Digest::parse("md5:" + k_hex));
    CHECK_FALSE(Digest::parse(k_hex));
    CHECK_THROWS_AS(Digest::from_string("sha256:xyz"), InvalidReference);
}

TEST_CASE("sha256_of hashes the bytes") {
    CHECK(Digest::sha256_of("").str() ==
          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(Digest::sha256_of("abc") == Digest::from_string("sha256:ba7816bf8f01cfea414140de5dae2223"
                                                          "b00361a396177a9cb410ff61f20015ad"));
    CHECK(Digest().empty());
}

TEST_CASE("registry_host_of takes the host of a repository URI, endpoint or config key") {
    const std::string ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    CHECK(registry_host_of(ecr + "/cdk-hnb659fds-container-assets") == ecr);
    CHECK(registry_host_of("https://" + ecr) == ecr);
    CHECK(registry_host_of("https://" + ecr + "/") == ecr);
    CHECK(registry_host_of("HTTP://localhost:5000/v2/") == "localhost:5000");
    CHECK(registry_host_of("https://index.docker.io/v1/") == "index.docker.io");
    CHECK(registry_host_of("Registry.Example:5000") == "Registry.Example:5000");
    CHECK(registry_host_of("[::1]:5000/team/app") == "[::1]:5000");
    // A `://` after the first `/` belongs to the path, not to a scheme.
    CHECK(registry_host_of("host.example/repo://x") == "host.example");
    CHECK(registry_host_of("").empty());
}
