// Upload Locations: relative, absolute and with a query of their own.
#include <catch2/catch.hpp>

#include "registry/location.hpp"
#include "registry/registry_error.hpp"

using namespace assetctl::registry;

namespace {

const std::string k_post = "https://registry.test:5000/v2/team/app/blobs/uploads/";

}  // namespace

TEST_CASE("a path-absolute Location is resolved on the registry's origin") {
    CHECK(resolve_location(k_post, "/v2/team/app/blobs/uploads/u-1?_state=abc%3D") ==
          "https://registry.test:5000/v2/team/app/blobs/uploads/u-1?_state=abc%3D");
}

TEST_CASE("an absolute Location is kept as it is, even on another host") {
    CHECK(resolve_location(k_post, "https://uploads.test/v2/x/blobs/uploads/u?s=1") ==
          "https://uploads.test/v2/x/blobs/uploads/u?s=1");
    CHECK(resolve_location(k_post, "HTTP://other.test:8080/u") == "HTTP://other.test:8080/u");
}

TEST_CASE("network-path and bare relative Locations follow RFC 3986") {
    CHECK(resolve_location(k_post, "//cdn.test/u/1") == "https://cdn.test/u/1");
    CHECK(resolve_location(k_post, "u-2?_state=x") ==
          "https://registry.test:5000/v2/team/app/blobs/uploads/u-2?_state=x");
    CHECK(resolve_location("https://r.test/v2/a/blobs/uploads/u-1?_state=old", "?_state=new") ==
          "https://r.test/v2/a/blobs/uploads/u-1?_state=new");
    CHECK(resolve_location(k_post, "/v2/u#fragment") == "https://registry.test:5000/v2/u");
}

TEST_CASE("an empty or unusable Location is a ProtocolError") {
    CHECK_THROWS_AS(resolve_location(k_post, ""), ProtocolError);
    CHECK_THROWS_AS(resolve_location(k_post, "#only-fragment"), ProtocolError);
    CHECK_THROWS_AS(resolve_location(k_post, "ftp://x.test/u"), ProtocolError);
    CHECK_THROWS_AS(resolve_location("not a url", "/v2/u"), ProtocolError);
}

TEST_CASE("add_query_parameter appends with ? or & and percent-encodes the value") {
    const std::string digest = "sha256:0123";
    CHECK(add_query_parameter("https://r.test/u/1", "digest", digest) ==
          "https://r.test/u/1?digest=sha256%3A0123");
    CHECK(add_query_parameter("https://r.test/u/1?_state=a%2Bb", "digest", digest) ==
          "https://r.test/u/1?_state=a%2Bb&digest=sha256%3A0123");
    CHECK(add_query_parameter("https://r.test/u/1?", "digest", digest) ==
          "https://r.test/u/1?digest=sha256%3A0123");
    CHECK(add_query_parameter("https://r.test/u/1?a=1&", "from", "team/base") ==
          "https://r.test/u/1?a=1&from=team%2Fbase");
}
