#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "aws/sigv4.hpp"
#include "crypto/crypto.hpp"
#include "util/clock.hpp"

using namespace assetctl::aws;
using assetctl::crypto::hex_encode;
using namespace std::chrono;

namespace {

// The parameters every case of the AWS SigV4 test suite signs with (context.json in
// github.com/awslabs/aws-c-auth, tests/aws-signing-test-suite/v4).
const Credentials k_suite_credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                      std::nullopt};
const system_clock::time_point k_suite_time =
    sys_days{year{2015} / 8 / 30} + hours{12} + minutes{36};

Request vanilla_get() {
    Request request;
    request.method = "GET";
    request.path = "/";
    request.headers = {{"Host", "example.amazonaws.com"}};
    return request;
}

std::size_t count_headers(const Request& request, std::string_view lowercase_name) {
    return static_cast<std::size_t>(
        std::count_if(request.headers.begin(), request.headers.end(), [&](const Header& h) {
            std::string name = h.name;
            std::transform(name.begin(), name.end(), name.begin(),
                           [](char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; });
            return name == lowercase_name;
        }));
}

}  // namespace

TEST_CASE("sigv4 uri_encode keeps RFC 3986 unreserved characters only", "[aws][sigv4]") {
    const std::string unreserved =
        "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    CHECK(uri_encode(unreserved) == unreserved);
    CHECK(uri_encode("a b") == "a%20b");
    CHECK(uri_encode("a+b=c&d") == "a%2Bb%3Dc%26d");
    CHECK(uri_encode("100%") == "100%25");
    CHECK(uri_encode("\xe1\x88\xb4") == "%E1%88%B4");
    CHECK(uri_encode(std::string("\0\xff", 2)) == "%00%FF");
    CHECK(uri_encode("a/b") == "a%2Fb");
    CHECK(uri_encode("a/b", true) == "a/b");
    CHECK(uri_encode("!*'();:@$,[]") == "%21%2A%27%28%29%3B%3A%40%24%2C%5B%5D");
}

TEST_CASE("sigv4 normalize_path resolves dot segments and collapses slashes", "[aws][sigv4]") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "/"},
        {"/", "/"},
        {"//", "/"},
        {"/./", "/"},
        {"/.", "/"},
        {"/..", "/"},
        {"/example/..", "/"},
        {"/example1/example2/../..", "/"},
        {"/./example", "/example"},
        {"//example//", "/example/"},
        {"/a/b/..", "/a/"},
        {"/a/b/.", "/a/b/"},
        {"/a/./b", "/a/b"},
        {"/a/../b/", "/b/"},
        {"/../../a", "/a"},
        {"/a//b///c", "/a/b/c"},
        {"a/b", "/a/b"},
        // Only literal '.' and '..' segments are special.
        {"/a/%2E%2E/b", "/a/%2E%2E/b"},
        {"/a/.../b", "/a/.../b"},
        {"/.a/b./..c", "/.a/b./..c"},
        {"/a%2Fb/", "/a%2Fb/"},
    };
    for (const auto& [input, expected] : cases) {
        INFO("path: " << input);
        CHECK(normalize_path(input) == expected);
    }
}

TEST_CASE("sigv4 canonical_uri encodes the path as sent once more", "[aws][sigv4]") {
    CHECK(canonical_uri("") == "/");
    CHECK(canonical_uri("/") == "/");
    CHECK(canonical_uri("/example space/") == "/example%20space/");
    // A path already percent-encoded by the HTTP layer is encoded again (non-S3 rule).
    CHECK(canonical_uri("/example%20space/") == "/example%2520space/");
    CHECK(canonical_uri("/\xe1\x88\xb4") == "/%E1%88%B4");
    CHECK(canonical_uri("/v2/repo/manifests/sha256:abc") == "/v2/repo/manifests/sha256%3Aabc");
    CHECK(canonical_uri("//a/./b/../c", true) == "/a/c");
    CHECK(canonical_uri("//a/./b/../c", false) == "//a/./b/../c");
    CHECK(canonical_uri("/a b//", false) == "/a%20b//");
}

TEST_CASE("sigv4 canonical_query_string sorts encoded pairs by key then value", "[aws][sigv4]") {
    CHECK(canonical_query_string({}) == "");
    CHECK(canonical_query_string({{"Param2", "value2"}, {"Param1", "value1"}}) ==
          "Param1=value1&Param2=value2");
    // Repeated keys are sorted by value, case-sensitively ('V' < 'v').
    CHECK(canonical_query_string({{"Param1", "value2"}, {"Param1", "Value1"}}) ==
          "Param1=Value1&Param1=value2");
    // Sorting is on the encoded key, and on pairs: "Param" < "Param-3" although '-' < '='.
    CHECK(canonical_query_string(
              {{"Param-3", "Value3"}, {"Param", "Value2"}, {"\xe1\x88\xb4", "Value1"}}) ==
          "%E1%88%B4=Value1&Param=Value2&Param-3=Value3");
    CHECK(canonical_query_string({{"empty", ""}, {"a b", "c+d/e"}}) == "a%20b=c%2Bd%2Fe&empty=");
    CHECK(canonical_query_string({{"", "x"}}) == "=x");
    // Identical pairs both stay.
    CHECK(canonical_query_string({{"k", "v"}, {"k", "v"}}) == "k=v&k=v");
}

TEST_CASE("sigv4 canonical_header_value trims and collapses whitespace", "[aws][sigv4]") {
    CHECK(canonical_header_value("value1") == "value1");
    CHECK(canonical_header_value(" value1 ") == "value1");
    CHECK(canonical_header_value("\"a   b   c\"") == "\"a b c\"");
    CHECK(canonical_header_value("value1\n  value2\n     value3") == "value1 value2 value3");
    CHECK(canonical_header_value("a\r\n\tb\t") == "a b");
    CHECK(canonical_header_value("") == "");
    CHECK(canonical_header_value(" \t ") == "");
    CHECK(canonical_header_value("VALUE1") == "VALUE1");
}

TEST_CASE("sigv4 canonical_headers lowercases, sorts and joins repeats in order", "[aws][sigv4]") {
    const CanonicalHeaders headers = canonical_headers({
        {"My-Header1", "value4"},
        {"Host", "example.amazonaws.com"},
        {"my-header1", " value1 "},
        {"X-Amz-Date", "20150830T123600Z"},
        {"MY-HEADER1", "value3"},
        {"a", ""},
    });
    CHECK(headers.text ==
          "a:\n"
          "host:example.amazonaws.com\n"
          "my-header1:value4,value1,value3\n"
          "x-amz-date:20150830T123600Z\n");
    CHECK(headers.signed_headers == "a;host;my-header1;x-amz-date");
    CHECK(canonical_headers({}).text.empty());
    CHECK_THROWS_AS(canonical_headers({{"", "x"}}), std::invalid_argument);
}

TEST_CASE("sigv4 payload_hash hashes the body unless a hash is given", "[aws][sigv4]") {
    Request request = vanilla_get();
    CHECK(payload_hash(request) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    request.body = "Param1=value1";
    CHECK(payload_hash(request) ==
          "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
    request.payload_hash = std::string(k_unsigned_payload);
    CHECK(payload_hash(request) == "UNSIGNED-PAYLOAD");
}

TEST_CASE("sigv4 canonical_request assembles the six parts", "[aws][sigv4]") {
    Request request = vanilla_get();
    request.method = "POST";
    request.path = "//a/./b";
    request.query = {{"b", "2"}, {"a", "1"}};
    request.headers.push_back({"X-Amz-Date", "20150830T123600Z"});
    request.body = "Param1=value1";
    CHECK(canonical_request(request) ==
          "POST\n/a/b\na=1&b=2\n"
          "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
          "host;x-amz-date\n"
          "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
    SigningOptions raw_path;
    raw_path.normalize_path = false;
    CHECK(canonical_request(request, raw_path).rfind("POST\n//a/./b\n", 0) == 0);
}

TEST_CASE("sigv4 amz_date formats UTC and truncates to the second", "[aws][sigv4]") {
    CHECK(amz_date(k_suite_time) == "20150830T123600Z");
    CHECK(amz_date(k_suite_time + milliseconds{999}) == "20150830T123600Z");
    CHECK(amz_date(sys_days{year{2024} / 2 / 29} + hours{23} + minutes{59} + seconds{59}) ==
          "20240229T235959Z");
    CHECK(amz_date(sys_days{year{1970} / 1 / 1}) == "19700101T000000Z");
    CHECK(amz_date(sys_days{year{2099} / 12 / 31} + hours{23}) == "20991231T230000Z");
}

TEST_CASE("sigv4 credential_scope and string_to_sign", "[aws][sigv4]") {
    const std::string scope = credential_scope("20150830", "us-east-1", "service");
    CHECK(scope == "20150830/us-east-1/service/aws4_request");
    CHECK(string_to_sign("20150830T123600Z", scope, "") ==
          "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("sigv4 signing_key matches the AWS documentation example", "[aws][sigv4]") {
    // "Deriving the signing key" example: secret from the docs, 20120215/us-east-1/iam.
    CHECK(hex_encode(signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                 "us-east-1", "iam")) ==
          "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST_CASE("sigv4 signature and authorization_header", "[aws][sigv4]") {
    const std::string key =
        signing_key(k_suite_credentials.secret_access_key, "20150830", "us-east-1", "service");
    const std::string sts =
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63";
    const std::string sig = signature(key, sts);
    CHECK(sig == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    CHECK(authorization_header("AKIDEXAMPLE", "20150830/us-east-1/service/aws4_request",
                               "host;x-amz-date", sig) ==
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
          "SignedHeaders=host;x-amz-date, "
          "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST_CASE("sigv4 SigningKeyCache reuses keys per secret, date, region and service",
          "[aws][sigv4]") {
    SigningKeyCache cache(2);
    const std::string secret = k_suite_credentials.secret_access_key;
    const std::string expected = signing_key(secret, "20150830", "us-east-1", "ecr");

    CHECK(cache.get(secret, "20150830", "us-east-1", "ecr") == expected);
    CHECK(cache.hits() == 0);
    CHECK(cache.get(secret, "20150830", "us-east-1", "ecr") == expected);
    CHECK(cache.hits() == 1);
    CHECK(cache.size() == 1);

    // Any part of the key differing is a miss, including a rotated secret.
    CHECK(cache.get(secret, "20150830", "us-east-1", "sts") ==
          signing_key(secret, "20150830", "us-east-1", "sts"));
    CHECK(cache.get("other-secret", "20150830", "us-east-1", "ecr") ==
          signing_key("other-secret", "20150830", "us-east-1", "ecr"));
    CHECK(cache.hits() == 1);

    // Capacity 2: the oldest entry (ecr with the first secret) was evicted.
    CHECK(cache.size() == 2);
    CHECK(cache.get(secret, "20150830", "us-east-1", "ecr") == expected);
    CHECK(cache.hits() == 1);
}

TEST_CASE("sigv4 sign adds X-Amz-Date and Authorization (suite get-vanilla)", "[aws][sigv4]") {
    const assetctl::util::FixedClock clock(k_suite_time);
    Request request = vanilla_get();
    const SigningDetails details =
        sign(request, k_suite_credentials, "us-east-1", "service", clock.now());

    CHECK(details.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    REQUIRE(request.headers.size() == 3);
    CHECK(request.headers[0].name == "Host");
    CHECK(request.headers[1].name == "X-Amz-Date");
    CHECK(request.headers[1].value == "20150830T123600Z");
    CHECK(request.headers[2].name == "Authorization");
    CHECK(request.headers[2].value ==
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
          "SignedHeaders=host;x-amz-date, "
          "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    CHECK(details.authorization == request.headers[2].value);
    CHECK(details.canonical_request.find(k_suite_credentials.secret_access_key) ==
          std::string::npos);
}

TEST_CASE("sigv4 sign signs the session token (suite get-vanilla-with-session-token)",
          "[aws][sigv4]") {
    Credentials credentials = k_suite_credentials;
    credentials.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    Request request = vanilla_get();
    const SigningDetails details = sign(request, credentials, "us-east-1", "service", k_suite_time);
    CHECK(details.signature == "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8");
    CHECK(details.authorization.find("SignedHeaders=host;x-amz-date;x-amz-security-token,") !=
          std::string::npos);
    CHECK(count_headers(request, "x-amz-security-token") == 1);
}

TEST_CASE("sigv4 sign is idempotent: re-signing replaces its own headers", "[aws][sigv4]") {
    Credentials credentials = k_suite_credentials;
    credentials.session_token = "token";
    SigningOptions options;
    options.add_content_sha256_header = true;
    Request request = vanilla_get();
    request.headers.push_back({"x-amz-date", "19990101T000000Z"});
    request.headers.push_back({"AUTHORIZATION", "stale"});
    request.headers.push_back({"X-Amz-Content-Sha256", "stale"});

    const SigningDetails first =
        sign(request, credentials, "us-east-1", "ecr", k_suite_time, options);
    const SigningDetails second =
        sign(request, credentials, "us-east-1", "ecr", k_suite_time, options);
    CHECK(first.authorization == second.authorization);
    CHECK(count_headers(request, "authorization") == 1);
    CHECK(count_headers(request, "x-amz-date") == 1);
    CHECK(count_headers(request, "x-amz-security-token") == 1);
    CHECK(count_headers(request, "x-amz-content-sha256") == 1);
    CHECK(request.headers.back().name == "Authorization");

    // A later signature without a token drops the stale token header.
    const SigningDetails third =
        sign(request, k_suite_credentials, "us-east-1", "ecr", k_suite_time);
    CHECK(count_headers(request, "x-amz-security-token") == 0);
    CHECK(third.signature != first.signature);
}

TEST_CASE("sigv4 sign adds x-amz-content-sha256 only when asked", "[aws][sigv4]") {
    Request plain = vanilla_get();
    plain.method = "POST";
    plain.body = "Param1=value1";
    Request with_header = plain;

    sign(plain, k_suite_credentials, "us-east-1", "service", k_suite_time);
    CHECK(count_headers(plain, "x-amz-content-sha256") == 0);

    SigningOptions options;
    options.add_content_sha256_header = true;
    const SigningDetails details =
        sign(with_header, k_suite_credentials, "us-east-1", "service", k_suite_time, options);
    CHECK(count_headers(with_header, "x-amz-content-sha256") == 1);
    CHECK(details.canonical_request.find(
              "x-amz-content-sha256:"
              "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\n") !=
          std::string::npos);

    // A precomputed payload hash is used for both the header and the canonical request.
    Request streamed = vanilla_get();
    streamed.payload_hash = std::string(k_unsigned_payload);
    const SigningDetails unsigned_details =
        sign(streamed, k_suite_credentials, "us-east-1", "service", k_suite_time, options);
    CHECK(unsigned_details.canonical_request.find("x-amz-content-sha256:UNSIGNED-PAYLOAD\n") !=
          std::string::npos);
    CHECK(unsigned_details.canonical_request.substr(unsigned_details.canonical_request.size() -
                                                    17) == "\nUNSIGNED-PAYLOAD");
}

TEST_CASE("sigv4 sign with a cache gives the same signature", "[aws][sigv4]") {
    SigningKeyCache cache;
    for (int i = 0; i < 3; ++i) {
        Request request = vanilla_get();
        const SigningDetails details = sign(request, k_suite_credentials, "us-east-1", "service",
                                            k_suite_time, SigningOptions{}, &cache);
        CHECK(details.signature ==
              "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    }
    CHECK(cache.hits() == 2);
}

TEST_CASE("sigv4 sign takes its time from a Clock and the date rolls over at UTC midnight",
          "[aws][sigv4]") {
    assetctl::util::FixedClock clock(sys_days{year{2023} / 12 / 31} + hours{23} + minutes{59} +
                                     seconds{59} + milliseconds{999});
    Request before = vanilla_get();
    const SigningDetails a = sign(before, k_suite_credentials, "eu-west-1", "ecr", clock.now());
    clock.advance(milliseconds{1});
    Request after = vanilla_get();
    const SigningDetails b = sign(after, k_suite_credentials, "eu-west-1", "ecr", clock.now());
    CHECK(a.authorization.find("/20231231/eu-west-1/ecr/aws4_request") != std::string::npos);
    CHECK(b.authorization.find("/20240101/eu-west-1/ecr/aws4_request") != std::string::npos);
    CHECK(a.string_to_sign.find("\n20231231T235959Z\n") != std::string::npos);
    CHECK(b.string_to_sign.find("\n20240101T000000Z\n") != std::string::npos);
}

TEST_CASE("sigv4 sign rejects incomplete input", "[aws][sigv4]") {
    Request request = vanilla_get();
    CHECK_THROWS_AS(sign(request, k_suite_credentials, "", "ecr", k_suite_time),
                    std::invalid_argument);
    CHECK_THROWS_AS(sign(request, k_suite_credentials, "us-east-1", "", k_suite_time),
                    std::invalid_argument);
    CHECK_THROWS_AS(
        sign(request, Credentials{"", "secret", std::nullopt}, "us-east-1", "ecr", k_suite_time),
        std::invalid_argument);
    CHECK_THROWS_AS(
        sign(request, Credentials{"AKID", "", std::nullopt}, "us-east-1", "ecr", k_suite_time),
        std::invalid_argument);
    Request no_host = vanilla_get();
    no_host.headers.clear();
    CHECK_THROWS_AS(sign(no_host, k_suite_credentials, "us-east-1", "ecr", k_suite_time),
                    std::invalid_argument);
    CHECK(no_host.headers.empty());  // nothing was added before the check failed
    Request no_method = vanilla_get();
    no_method.method.clear();
    CHECK_THROWS_AS(sign(no_method, k_suite_credentials, "us-east-1", "ecr", k_suite_time),
                    std::invalid_argument);
}
