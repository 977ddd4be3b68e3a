// Registry error bodies and the retry / auth / session decisions made from them.
#include <catch2/catch.hpp>

#include "registry/registry_error.hpp"

using namespace assetctl;
using namespace assetctl::registry;

namespace {

RegistryError error(long status, std::vector<std::string> codes = {}) {
    std::vector<ErrorDetail> details;
    for (auto& code : codes) {
        details.push_back({std::move(code), "", ""});
    }
    return RegistryError("op", status, details);
}

http::Response answer(long status, std::string body = {}) {
    return http::Response{status, {}, std::move(body)};
}

}  // namespace

TEST_CASE("an error body becomes codes, messages and serialised details") {
    const auto errors = parse_error_body(
        R"({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry",
                        "detail": {"digest": "sha256:00"}},
                       {"code": "DENIED", "message": "no", "detail": "plain text"},
                       "junk", {"message": "no code"}]})");
    REQUIRE(errors.size() == 3);
    CHECK(errors[0].code == "BLOB_UNKNOWN");
    CHECK(errors[0].message == "blob unknown to registry");
    CHECK(errors[0].detail == R"({"digest":"sha256:00"})");
    CHECK(errors[1].detail == "plain text");
    CHECK(errors[2].code.empty());
    CHECK(errors[2].message == "no code");
}

TEST_CASE("bodies that are not error documents give no entries") {
    CHECK(parse_error_body("").empty());
    CHECK(parse_error_body("<html>Bad Gateway</html>").empty());
    CHECK(parse_error_body(R"({"errors": "nope"})").empty());
    CHECK(parse_error_body("[1, 2]").empty());
}

TEST_CASE("the message names the operation, codes, messages and status") {
    const auto e = error_from_response(
        "PUT manifest app:v1",
        answer(400, R"({"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]})"));
    CHECK(std::string(e.what()) ==
          "registry PUT manifest app:v1 failed: MANIFEST_INVALID: manifest invalid (HTTP 400)");
    CHECK(e.status() == 400);
    CHECK(e.codes() == std::vector<std::string>{"MANIFEST_INVALID"});
    CHECK(e.has_code("MANIFEST_INVALID"));
    CHECK(e.operation() == "PUT manifest app:v1");

    const auto html = error_from_response("HEAD blob", answer(502, "<html>\nBad\tGateway</html>"));
    CHECK(std::string(html.what()) ==
          "registry HEAD blob failed: <html> Bad Gateway</html> (HTTP 502)");
    const auto empty = error_from_response("HEAD blob", answer(404));
    CHECK(std::string(empty.what()) == "registry HEAD blob failed: no error details (HTTP 404)");
}

TEST_CASE("retryable: 408, 429, 5xx and throttling codes, never plain 4xx") {
    for (long status : {408L, 429L, 500L, 502L, 503L, 504L, 599L}) {
        INFO(status);
        CHECK(error(status).retryable());
    }
    for (long status : {400L, 401L, 403L, 404L, 405L, 409L, 412L, 416L, 501L, 505L}) {
        INFO(status);
        CHECK_FALSE(error(status).retryable());
    }
    CHECK(error(400, {"TOOMANYREQUESTS"}).retryable());
    CHECK(error(403, {"TOOMANYREQUESTS"}).retryable());
    CHECK(error(400, {"UNAVAILABLE"}).retryable());
    CHECK_FALSE(error(400, {"BLOB_UPLOAD_INVALID"}).retryable());
    CHECK_FALSE(error(401, {"UNAUTHORIZED"}).retryable());
}

TEST_CASE("auth failures, not-found and broken upload sessions are recognised") {
    CHECK(error(401).is_auth_failure());
    CHECK(error(403).is_auth_failure());
    CHECK(error(400, {"DENIED"}).is_auth_failure());
    CHECK_FALSE(error(404).is_auth_failure());

    CHECK(error(404).is_not_found());
    CHECK(error(400, {"NAME_UNKNOWN"}).is_not_found());
    CHECK(error(400, {"MANIFEST_UNKNOWN"}).is_not_found());
    CHECK_FALSE(error(400, {"MANIFEST_BLOB_UNKNOWN"}).is_not_found());

    CHECK(error(404, {"BLOB_UPLOAD_UNKNOWN"}).breaks_upload_session());
    CHECK(error(400, {"BLOB_UPLOAD_INVALID"}).breaks_upload_session());
    CHECK(error(416).breaks_upload_session());
    CHECK_FALSE(error(400, {"DIGEST_INVALID"}).breaks_upload_session());
}

TEST_CASE("classify_answer retries a broken session only for a whole upload attempt") {
    const auto unknown =
        answer(404, R"({"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"gone"}]})");
    CHECK_FALSE(classify_answer(unknown).retry);
    const auto verdict = classify_answer(unknown, RetryScope::upload_session);
    CHECK(verdict.retry);
    CHECK(verdict.reason == "HTTP 404 BLOB_UPLOAD_UNKNOWN");

    CHECK(classify_answer(answer(503)).retry);
    CHECK(classify_answer(answer(503)).reason == "HTTP 503");
    CHECK_FALSE(classify_answer(answer(201)).retry);
    CHECK_FALSE(classify_answer(answer(202)).retry);
    CHECK_FALSE(classify_answer(answer(401)).retry);
    CHECK_FALSE(classify_answer(answer(404), RetryScope::upload_session).retry);
}
