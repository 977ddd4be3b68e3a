#include <catch2/catch.hpp>

#include "http/url.hpp"

using namespace assetctl::http;

TEST_CASE("parse_url splits absolute http and https URLs") {
    const auto url = parse_url("https://api.ecr.us-east-1.amazonaws.com");
    REQUIRE(url.has_value());
    CHECK(url->scheme == "https");
    CHECK(url->host == "api.ecr.us-east-1.amazonaws.com");
    CHECK_FALSE(url->port.has_value());
    CHECK(url->path == "/");
    CHECK(url->authority() == "api.ecr.us-east-1.amazonaws.com");

    const auto local = parse_url("HTTP://127.0.0.1:8080/prefix/v2?x=1#frag");
    REQUIRE(local.has_value());
    CHECK(local->scheme == "http");
    CHECK(local->port == 8080);
    CHECK(local->path == "/prefix/v2");
    CHECK(local->query == "x=1");
    CHECK(local->authority() == "127.0.0.1:8080");
    CHECK(local->origin() == "http://127.0.0.1:8080");

    const auto v6 = parse_url("http://[::1]:9000/");
    REQUIRE(v6.has_value());
    CHECK(v6->host == "::1");
    CHECK(v6->authority() == "[::1]:9000");
}

TEST_CASE("the default port is left out of the Host header") {
    CHECK(parse_url("https://h:443/")->authority() == "h");
    CHECK(parse_url("http://h:80/")->authority() == "h");
    CHECK(parse_url("http://h:443/")->authority() == "h:443");
}

TEST_CASE("parse_url refuses what is not an absolute http(s) URL") {
    for (const char* text :
         {"", "api.ecr.amazonaws.com", "ftp://h/", "http://", "http://:80/", "http://h:0/",
          "http://h:70000/", "http://h:x/", "http://user:pw@h/", "http://[::1/"}) {
        CAPTURE(text);
        CHECK_FALSE(parse_url(text).has_value());
    }
}

TEST_CASE("form_encode keeps only unreserved characters") {
    CHECK(form_encode("AssumeRole") == "AssumeRole");
    CHECK(form_encode("arn:aws:iam::1:role/x") == "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx");
    CHECK(form_encode("a b+c=d&e~f") == "a%20b%2Bc%3Dd%26e~f");
    CHECK(form_encode("\xC3\xA9") == "%C3%A9");
}
