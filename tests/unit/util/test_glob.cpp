#include <catch2/catch.hpp>

#include "util/glob.hpp"

using assetctl::util::glob_match;

TEST_CASE("glob_match matches whole strings with shell wildcards") {
    CHECK(glob_match("abc", "abc"));
    CHECK_FALSE(glob_match("abc", "abcd"));
    CHECK(glob_match("*", ""));
    CHECK(glob_match("ab*", "abcdef"));
    CHECK(glob_match("*def", "abcdef"));
    CHECK(glob_match("a?c", "abc"));
    CHECK_FALSE(glob_match("a?c", "ac"));
    CHECK(glob_match("[0-9]*", "5ee1"));
    CHECK_FALSE(glob_match("[0-9]*", "full-options"));
}

TEST_CASE("glob_match lets * cross slashes, so stage paths match") {
    CHECK(glob_match("Prod*", "ProdStage/InnerStage/WorkerStack"));
    CHECK(glob_match("*/WorkerStack", "ProdStage/InnerStage/WorkerStack"));
}
