#include <catch2/catch.hpp>

#include "util/time.hpp"

using namespace assetctl::util;
using namespace std::chrono;

TEST_CASE("ISO 8601 timestamps as AWS writes them") {
    const auto base = sys_days(year(2026) / 11 / 27) + hours(12);
    CHECK(parse_iso8601("2026-11-27T12:00:00Z") == base);
    CHECK(parse_iso8601("2026-11-27T12:00:00.250Z") == base + milliseconds(250));
    CHECK(parse_iso8601("2026-11-27T12:00:00+00:00") == base);
    CHECK(parse_iso8601("2026-11-27T14:30:00+02:30") == base);
    CHECK(parse_iso8601("2026-11-27T11:00:00-01:00") == base);
    CHECK(format_iso8601(base) == "2026-11-27T12:00:00Z");
}

TEST_CASE("malformed timestamps are refused") {
    for (const char* text :
         {"", "2026-11-27", "2026-11-27T12:00:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
          "2026-11-27T12:00:00Zjunk", "2026-11-27T12:00:00.Z", "26-11-27T12:00:00Z"}) {
        CAPTURE(text);
        CHECK_FALSE(parse_iso8601(text).has_value());
    }
}

TEST_CASE("years the clock cannot hold are refused, not overflowed") {
    // Found by fuzz_credential_documents: an Expiration in 3678 overflowed nanoseconds.
    CHECK_FALSE(parse_iso8601("3678-12-07T01:00:00Z").has_value());
    CHECK_FALSE(parse_iso8601("1014-01-01T00:00:00Z").has_value());
    CHECK(parse_iso8601("2200-12-31T23:59:59Z").has_value());
    CHECK(parse_iso8601("1700-01-01T00:00:00Z").has_value());
}
