#include <catch2/catch.hpp>

#include "aws/aws_error.hpp"

using namespace assetctl;

namespace {

http::Response answer(long status, std::string body, http::Headers headers = {}) {
    http::Response response;
    response.status = status;
    response.body = std::move(body);
    response.headers = std::move(headers);
    return response;
}

}  // namespace

TEST_CASE("JSON 1.1 errors: __type with or without namespace, message in either case") {
    auto details = aws::parse_error_details(answer(
        400,
        R"({"__type":"RepositoryNotFoundException","message":"The repository does not exist"})",
        {{"x-amzn-RequestId", "req-1"}}));
    CHECK(details.code == "RepositoryNotFoundException");
    CHECK(details.message == "The repository does not exist");
    CHECK(details.request_id == "req-1");

    details = aws::parse_error_details(answer(
        400,
        R"({"__type":"com.amazon.coral.service#ThrottlingException","Message":"Rate exceeded"})"));
    CHECK(details.code == "ThrottlingException");
    CHECK(details.message == "Rate exceeded");
}

TEST_CASE("the x-amzn-ErrorType header is used when the body says nothing") {
    const auto details = aws::parse_error_details(
        answer(400, "", {{"X-Amzn-ErrorType", "AccessDeniedException:http://internal/"}}));
    CHECK(details.code == "AccessDeniedException");
}

TEST_CASE("query protocol XML errors") {
    const auto details = aws::parse_error_details(answer(403, R"(<?xml version="1.0"?>
<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code>
    <Message>User is not authorized to perform: sts:AssumeRole</Message></Error>
  <RequestId>abc-123</RequestId>
</ErrorResponse>)"));
    CHECK(details.code == "AccessDenied");
    CHECK(details.message == "User is not authorized to perform: sts:AssumeRole");
    CHECK(details.request_id == "abc-123");
}

TEST_CASE("an unreadable error body still gives a code") {
    CHECK(aws::parse_error_details(answer(502, "<html>Bad gateway")).code == "HTTP502");
    CHECK(aws::parse_error_details(answer(500, "{not json")).code == "HTTP500");
}

TEST_CASE("AwsError classifies retryable, throttling and auth failures") {
    const aws::AwsError throttled("ecr", "DescribeImages", 400, "ThrottlingException", "slow", "");
    CHECK(throttled.is_throttling());
    CHECK(throttled.is_retryable());
    CHECK_FALSE(throttled.is_auth_failure());
    CHECK(std::string(throttled.what()) ==
          "ecr DescribeImages failed: ThrottlingException: slow (HTTP 400)");

    const aws::AwsError unavailable("sts", "AssumeRole", 503, "HTTP503", "", "");
    CHECK(unavailable.is_retryable());

    const aws::AwsError bad_key("ecr", "GetAuthorizationToken", 400, "UnrecognizedClientException",
                                "bad token", "");
    CHECK(bad_key.is_auth_failure());
    CHECK_FALSE(bad_key.is_retryable());

    const aws::AwsError denied("sts", "AssumeRole", 403, "AccessDenied", "no", "");
    CHECK_FALSE(denied.is_retryable());
    CHECK(aws::AwsError("ecr", "X", 429, "TooManyRequests", "", "").is_throttling());
}
