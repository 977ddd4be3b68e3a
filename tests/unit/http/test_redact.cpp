#include <catch2/catch.hpp>

#include "http/redact.hpp"

using namespace assetctl::http;

TEST_CASE("is_secret_header knows credentials and cookies in any case") {
    for (const char* name : {"Authorization", "authorization", "AUTHORIZATION",
                             "Proxy-Authorization", "X-Amz-Security-Token", "x-amz-security-token",
                             "Cookie", "Set-Cookie", "set-COOKIE", "X-aws-ec2-metadata-token"}) {
        INFO(name);
        CHECK(is_secret_header(name));
    }
    for (const char* name : {"Content-Type", "X-Amz-Date", "X-Amz-Content-Sha256", "Host",
                             "Authorization-Hint", "X-Amz-Security-Token-Expiry", ""}) {
        INFO(name);
        CHECK_FALSE(is_secret_header(name));
    }
}

TEST_CASE("headers_for_log replaces secret values and keeps the others") {
    const Headers headers{{"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x"},
                          {"x-amz-security-token", "FwoGZXIvYXdzEBYaDH"},
                          {"Cookie", "session=abc"},
                          {"X-Amz-Date", "20240101T000000Z"}};
    const std::string logged = headers_for_log(headers);
    CHECK(logged ==
          "Authorization: <redacted>\n"
          "x-amz-security-token: <redacted>\n"
          "Cookie: <redacted>\n"
          "X-Amz-Date: 20240101T000000Z");
    CHECK(logged.find("AKIDEXAMPLE") == std::string::npos);
    CHECK(headers_for_log({}).empty());
}

TEST_CASE("url_for_log hides userinfo") {
    CHECK(url_for_log("http://user:pa55@proxy.example:3128") ==
          "http://<redacted>@proxy.example:3128");
    CHECK(url_for_log("https://user:pa55@host/path@x?a=b") == "https://<redacted>@host/path@x?a=b");
    // An unencoded '@' in the password: everything up to the last '@' of the authority goes.
    CHECK(url_for_log("https://user:p@ss@host/") == "https://<redacted>@host/");
    CHECK(url_for_log("https://host/path@x") == "https://host/path@x");
    CHECK(url_for_log("https://host") == "https://host");
    CHECK(url_for_log("") == "");
}

TEST_CASE("url_for_log hides the values of presigned query parameters in any case") {
    const std::string url =
        "https://bucket.s3.amazonaws.com/key?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900"
        "&X-Amz-Security-Token=FwoGZXIvYXdzEBYaDH&X-Amz-Signature=abcdef0123&x-amz-signature=low"
        "&X-Amz-SignedHeaders=host";
    const std::string logged = url_for_log(url);
    CHECK(logged ==
          "https://bucket.s3.amazonaws.com/key?X-Amz-Algorithm=AWS4-HMAC-SHA256"
          "&X-Amz-Credential=<redacted>&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900"
          "&X-Amz-Security-Token=<redacted>&X-Amz-Signature=<redacted>"
          "&x-amz-signature=<redacted>&X-Amz-SignedHeaders=host");
    CHECK(logged.find("AKIDEXAMPLE") == std::string::npos);
    CHECK(logged.find("abcdef0123") == std::string::npos);
}

TEST_CASE("url_for_log keeps ordinary queries, empty pairs and keys without values") {
    CHECK(url_for_log("https://host/p?a=1&b=2") == "https://host/p?a=1&b=2");
    CHECK(url_for_log("https://host/p?") == "https://host/p?");
    CHECK(url_for_log("https://host/p?flag&token=t0k&&x=") ==
          "https://host/p?flag&token=<redacted>&&x=");
    CHECK(url_for_log("https://u:p@host/p?token=t0k") ==
          "https://<redacted>@host/p?token=<redacted>");
}
