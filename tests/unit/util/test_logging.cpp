#include <catch2/catch.hpp>

#include "util/logging.hpp"

using namespace assetctl::util;

TEST_CASE("verbosity comes from -v count and -q") {
    CHECK(verbosity_from_flags(0, false) == Verbosity::normal);
    CHECK(verbosity_from_flags(1, false) == Verbosity::verbose);
    CHECK(verbosity_from_flags(3, false) == Verbosity::trace);
    CHECK(verbosity_from_flags(2, true) == Verbosity::quiet);
}

TEST_CASE("colour only on a terminal without NO_COLOR or TERM=dumb") {
    MapEnvironment env;
    CHECK(color_wanted(env, true));
    CHECK_FALSE(color_wanted(env, false));

    env.set("NO_COLOR", "");  // empty means unset per no-color.org
    CHECK(color_wanted(env, true));
    env.set("NO_COLOR", "1");
    CHECK_FALSE(color_wanted(env, true));

    MapEnvironment dumb;
    dumb.set("TERM", "dumb");
    CHECK_FALSE(color_wanted(dumb, true));
}
