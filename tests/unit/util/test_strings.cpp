#include <catch2/catch.hpp>

#include "util/strings.hpp"

using namespace assetctl::util;

TEST_CASE("trim removes surrounding whitespace only") {
    CHECK(trim("  a b \n") == "a b");
    CHECK(trim("") == "");
    CHECK(trim(" \t\n") == "");
}

TEST_CASE("join puts the separator between parts") {
    CHECK(join({}, ",") == "");
    CHECK(join({"a"}, ",") == "a");
    CHECK(join({"a", "b", "c"}, ", ") == "a, b, c");
}

TEST_CASE("to_lower lowercases ASCII") {
    CHECK(to_lower("AbC-1") == "abc-1");
}

TEST_CASE("shell_quote leaves plain words alone and quotes the rest") {
    CHECK(shell_quote("docker") == "docker");
    CHECK(shell_quote("asset.abc/Dockerfile") == "asset.abc/Dockerfile");
    CHECK(shell_quote("") == "''");
    CHECK(shell_quote("a b") == "'a b'");
    CHECK(shell_quote("it's") == "'it'\\''s'");
    CHECK(shell_join({"sh", "-c", "echo $1"}) == "sh -c 'echo $1'");
}

TEST_CASE("split_lines and last_lines give the tail of command output") {
    CHECK(split_lines("a\nb\r\nc") == std::vector<std::string>{"a", "b", "c"});
    CHECK(split_lines("a\n\nb\n") == std::vector<std::string>{"a", "", "b"});
    CHECK(split_lines("").empty());
    CHECK(last_lines({"1", "2", "3", "", "  "}, 2) == std::vector<std::string>{"2", "3"});
    CHECK(last_lines({"1"}, 5) == std::vector<std::string>{"1"});
}

TEST_CASE("parse_whole_number takes decimal digits only, within 64 bits") {
    using assetctl::util::parse_whole_number;
    CHECK(parse_whole_number("0") == 0U);
    CHECK(parse_whole_number("60") == 60U);
    CHECK(parse_whole_number("18446744073709551615") == 18446744073709551615ULL);
    CHECK_FALSE(parse_whole_number("18446744073709551616"));
    CHECK_FALSE(parse_whole_number(""));
    CHECK_FALSE(parse_whole_number("-1"));
    CHECK_FALSE(parse_whole_number("+1"));
    CHECK_FALSE(parse_whole_number(" 1"));
    CHECK_FALSE(parse_whole_number("1s"));
    CHECK_FALSE(parse_whole_number("1.5"));
}
