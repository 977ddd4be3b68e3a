#include <catch2/catch.hpp>

#include "manifest/schema_version.hpp"

using assetctl::manifest::schema_major;

TEST_CASE("schema_major reads semver majors and refuses the rest") {
    CHECK(schema_major("55.0.0") == 55);
    CHECK(schema_major("1.2.3") == 1);
    CHECK(schema_major("56.0.0-alpha.1") == 56);
    CHECK(schema_major("55.0.0+build.5") == 55);
    CHECK_FALSE(schema_major("55").has_value());
    CHECK_FALSE(schema_major("55.0").has_value());
    CHECK_FALSE(schema_major("55.0.0.0").has_value());
    CHECK_FALSE(schema_major("v55.0.0").has_value());
    CHECK_FALSE(schema_major("").has_value());
    CHECK_FALSE(schema_major("55.x.0").has_value());
}
