// The STS and ECR clients over a scripted HTTP client: request shape, signing, answer parsing,
// typed errors, retries and the authorization token cache.
#include <catch2/catch.hpp>

#include "aws/aws_error.hpp"
#include "aws/ecr_client.hpp"
#include "aws/sts_client.hpp"
#include "support/fake_http.hpp"
#include "support/fake_sleeper.hpp"
#include "util/clock.hpp"

using namespace assetctl;
using namespace std::chrono;

namespace {

const auto k_now = sys_days(year(2026) / 11 / 27) + hours(10);

struct Harness {
    test::FakeHttpClient http;
    util::FixedClock clock{k_now};
    test::FakeSleeper sleeper;
    aws::AwsRuntime runtime{http, clock, sleeper, http::RetryPolicy{}, [] { return 0.5; }};
    aws::EndpointSettings endpoints;
};

aws::AwsCredentials caller() {
    aws::AwsCredentials credentials;
    credentials.keys = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", std::nullopt};
    credentials.source = "test";
    return credentials;
}

const char* k_assume_role_answer =
    R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>secret</SecretAccessKey>
      <SessionToken>token</SessionToken>
      <Expiration>2026-11-27T11:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
</AssumeRoleResponse>)";

}  // namespace

TEST_CASE("AssumeRole is a signed form POST to regional STS and its credentials are read") {
    Harness h;
    h.http.expect("POST", "https://sts.eu-west-1.amazonaws.com/")
        .with_header("Host", "sts.eu-west-1.amazonaws.com")
        .with_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        .with_header("X-Amz-Date", "20261127T100000Z")
        .respond(200, {}, k_assume_role_answer);
    aws::StsClient sts(h.runtime, h.endpoints, "us-east-1");
    aws::AssumeRoleRequest request;
    request.role_arn = "arn:aws:iam::123456789012:role/publisher";
    request.session_name = "assetctl-ci";
    request.external_id = "ext-1";
    request.region = "eu-west-1";
    request.additional_options = nlohmann::ordered_json::parse(
        R"({"Tags": [{"Key": "team", "Value": "a b"}], "RoleArn": "ignored"})");
    const auto credentials = sts.assume_role(caller(), request);

    CHECK(credentials.keys.access_key_id == "ASIAEXAMPLE");
    CHECK(credentials.keys.session_token == "token");
    CHECK(credentials.expiration == sys_days(year(2026) / 11 / 27) + hours(11));
    const auto sent = h.http.received().at(0);
    CHECK(sent.body ==
          "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%"
          "2Fpublisher&RoleSessionName=assetctl-ci&ExternalId=ext-1&Tags.member.1.Key=team&"
          "Tags.member.1.Value=a%20b");
    const auto authorization = http::find_header(sent.headers, "Authorization").value_or("");
    CHECK_THAT(authorization, Catch::StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/"
                                                "eu-west-1/sts/aws4_request"));
    CHECK(h.http.all_used());
}

TEST_CASE("an STS error answer becomes an AwsError and is not retried") {
    Harness h;
    h.http.expect("POST", "https://sts.us-east-1.amazonaws.com/")
        .respond(403, {}, R"(<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>
            <Message>not authorized</Message></Error><RequestId>r1</RequestId></ErrorResponse>)");
    aws::StsClient sts(h.runtime, h.endpoints, "");
    try {
        sts.get_caller_identity(caller(), std::nullopt);
        FAIL("expected AwsError");
    } catch (const aws::AwsError& e) {
        CHECK(e.code() == "AccessDenied");
        CHECK(e.message() == "not authorized");
        CHECK(e.status() == 403);
        CHECK(e.request_id() == "r1");
        CHECK(e.operation() == "GetCallerIdentity");
    }
    CHECK(h.sleeper.sleeps().empty());
}

TEST_CASE("throttling is retried with back-off, then the answer is used") {
    Harness h;
    const std::string throttled =
        R"(<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>)";
    h.http.expect("POST", "https://sts.us-east-1.amazonaws.com/").respond(400, {}, throttled);
    h.http.expect("POST", "https://sts.us-east-1.amazonaws.com/").respond(400, {}, throttled);
    h.http.expect("POST", "https://sts.us-east-1.amazonaws.com/")
        .respond(200, {}, R"(<GetCallerIdentityResponse><GetCallerIdentityResult>
            <Arn>arn:aws:iam::123456789012:user/ci</Arn><UserId>AIDA</UserId>
            <Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>)");
    aws::StsClient sts(h.runtime, h.endpoints, "us-east-1");
    const auto identity = sts.get_caller_identity(caller(), std::nullopt);
    CHECK(identity.account == "123456789012");
    CHECK(identity.arn == "arn:aws:iam::123456789012:user/ci");
    // jitter 0.5: 0.5 * 1 s, then 0.5 * 2 s
    CHECK(h.sleeper.sleeps() == std::vector<milliseconds>{milliseconds(500), milliseconds(1000)});
}

TEST_CASE("throttling on every attempt: the error says how many attempts and how to allow more") {
    Harness h;
    const std::string throttled =
        R"(<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>)";
    // Throttled answers get the throttle attempts (8), not max_attempts (3).
    for (int i = 0; i < http::k_default_throttle_attempts; ++i) {
        h.http.expect("POST", "https://sts.us-east-1.amazonaws.com/").respond(400, {}, throttled);
    }
    aws::StsClient sts(h.runtime, h.endpoints, "us-east-1");
    try {
        sts.get_caller_identity(caller(), std::nullopt);
        FAIL("expected AwsError");
    } catch (const aws::AwsError& e) {
        CHECK(e.code() == "Throttling");
        CHECK(std::string(e.what()) ==
              "sts GetCallerIdentity failed: Throttling: Rate exceeded (HTTP 400) after 8 attempts "
              "(AWS_MAX_ATTEMPTS or the profile's max_attempts allows more)");
    }
    CHECK(h.http.all_used());
}

TEST_CASE("web identity is unsigned") {
    Harness h;
    h.http.expect("POST", "https://sts.us-east-1.amazonaws.com/")
        .without_header("Authorization")
        .respond(200, {}, R"(<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>
            <Credentials><AccessKeyId>ASIAW</AccessKeyId><SecretAccessKey>s</SecretAccessKey>
            <SessionToken>t</SessionToken><Expiration>2026-11-27T11:00:00.000Z</Expiration>
            </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>)");
    aws::StsClient sts(h.runtime, h.endpoints, "us-east-1");
    const auto credentials =
        sts.assume_role_with_web_identity({"arn:aws:iam::1:role/r", "s", "oidc-token", {}, {}});
    CHECK(credentials.keys.access_key_id == "ASIAW");
}

TEST_CASE("a 200 answer without credentials is reported, not crashed on") {
    Harness h;
    h.http.expect("POST", "https://sts.us-east-1.amazonaws.com/").respond(200, {}, "<Empty/>");
    aws::StsClient sts(h.runtime, h.endpoints, "us-east-1");
    aws::AssumeRoleRequest request;
    request.role_arn = "arn:aws:iam::1:role/r";
    request.session_name = "s";
    CHECK_THROWS_AS(sts.assume_role(caller(), request), aws::AwsError);
}

TEST_CASE("ECR calls are JSON 1.1 with the operation in X-Amz-Target") {
    Harness h;
    h.http.expect("POST", "https://api.ecr.us-east-1.amazonaws.com/")
        .with_header("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories")
        .with_header("Content-Type", "application/x-amz-json-1.1")
        .respond(200, {}, R"({"repositories": [{"repositoryName": "repo",
            "repositoryUri": "1.dkr.ecr.us-east-1.amazonaws.com/repo", "registryId": "1",
            "repositoryArn": "arn:aws:ecr:us-east-1:1:repository/repo",
            "imageTagMutability": "IMMUTABLE"}]})");
    h.http.expect("POST", "https://api.ecr.us-east-1.amazonaws.com/")
        .respond(400, {}, R"({"__type": "RepositoryNotFoundException", "message": "nope"})");
    aws::EcrClient ecr(h.runtime, h.endpoints);
    const auto found = ecr.describe_repository(caller(), "us-east-1", "repo");
    REQUIRE(found.has_value());
    CHECK(found->uri == "1.dkr.ecr.us-east-1.amazonaws.com/repo");
    CHECK(found->tag_mutability == "IMMUTABLE");
    CHECK(nlohmann::json::parse(h.http.received().at(0).body) ==
          nlohmann::json::parse(R"({"repositoryNames": ["repo"]})"));
    CHECK_FALSE(ecr.describe_repository(caller(), "us-east-1", "missing").has_value());
}

TEST_CASE("DescribeImages: found and not found") {
    Harness h;
    h.http.expect("POST", "https://api.ecr.eu-west-1.amazonaws.com/")
        .respond(200, {}, R"({"imageDetails": [{"imageDigest": "sha256:abc", "imageTags": ["t"],
            "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json"}]})");
    h.http.expect("POST", "https://api.ecr.eu-west-1.amazonaws.com/")
        .respond(400, {}, R"({"__type": "ImageNotFoundException", "message": "no"})");
    aws::EcrClient ecr(h.runtime, h.endpoints);
    const auto image = ecr.describe_image(caller(), "eu-west-1", "repo", "t");
    REQUIRE(image.has_value());
    CHECK(image->digest == "sha256:abc");
    CHECK(image->tags == std::vector<std::string>{"t"});
    CHECK_FALSE(ecr.describe_image(caller(), "eu-west-1", "repo", "u").has_value());
}

TEST_CASE("other ECR errors propagate with their code") {
    Harness h;
    h.http.expect("POST", "https://api.ecr.us-east-1.amazonaws.com/")
        .respond(400, {}, R"({"__type": "AccessDeniedException", "message": "denied"})");
    aws::EcrClient ecr(h.runtime, h.endpoints);
    try {
        ecr.describe_repository(caller(), "us-east-1", "repo");
        FAIL("expected AwsError");
    } catch (const aws::AwsError& e) {
        CHECK(e.code() == "AccessDeniedException");
        CHECK(e.service() == "ecr");
    }
}

TEST_CASE("authorization tokens are cached until half their lifetime") {
    Harness h;
    const auto answer = [](const std::string& password, double expires) {
        const std::string token = password == "pw1" ? "QVdTOnB3MQ==" : "QVdTOnB3Mg==";  // AWS:pwN
        return R"({"authorizationData": [{"authorizationToken": ")" + token +
               R"(", "expiresAt": )" + std::to_string(expires) +
               R"(, "proxyEndpoint": "https://1.dkr.ecr.us-east-1.amazonaws.com"}]})";
    };
    const double now_seconds =
        static_cast<double>(duration_cast<seconds>(k_now.time_since_epoch()).count());
    h.http.expect("POST", "https://api.ecr.us-east-1.amazonaws.com/")
        .respond(200, {}, answer("pw1", now_seconds + 12 * 3600));
    h.http.expect("POST", "https://api.ecr.us-east-1.amazonaws.com/")
        .respond(200, {}, answer("pw2", now_seconds + 18 * 3600));
    aws::EcrClient ecr(h.runtime, h.endpoints);

    const auto first = ecr.get_authorization_token(caller(), "us-east-1");
    CHECK(first.username == "AWS");
    CHECK(first.password == "pw1");
    CHECK(first.proxy_endpoint == "https://1.dkr.ecr.us-east-1.amazonaws.com");
    h.clock.advance(hours(5));
    CHECK(ecr.get_authorization_token(caller(), "us-east-1").password == "pw1");  // cached
    h.clock.advance(hours(1) + seconds(1));
    CHECK(ecr.get_authorization_token(caller(), "us-east-1").password == "pw2");  // refreshed
    CHECK(h.http.all_used());
}

TEST_CASE("a token the registry refused is dropped from the cache; a newer one is kept") {
    Harness h;
    const double now_seconds =
        static_cast<double>(duration_cast<seconds>(k_now.time_since_epoch()).count());
    const auto answer = [&](const std::string& token) {  // base64 of AWS:pw1 / AWS:pw2
        return R"({"authorizationData": [{"authorizationToken": ")" + token +
               R"(", "expiresAt": )" + std::to_string(now_seconds + 12 * 3600) +
               R"(, "proxyEndpoint": "https://1.dkr.ecr.us-east-1.amazonaws.com"}]})";
    };
    h.http.expect("POST", "https://api.ecr.us-east-1.amazonaws.com/")
        .respond(200, {}, answer("QVdTOnB3MQ=="));
    h.http.expect("POST", "https://api.ecr.us-east-1.amazonaws.com/")
        .respond(200, {}, answer("QVdTOnB3Mg=="));
    aws::EcrClient ecr(h.runtime, h.endpoints);

    CHECK(ecr.get_authorization_token(caller(), "us-east-1").password == "pw1");
    ecr.forget_authorization_token(caller(), "us-east-1", "pw1");
    CHECK(ecr.get_authorization_token(caller(), "us-east-1").password == "pw2");  // asked again
    // A second thread that met the same refusal must not throw away the new token.
    ecr.forget_authorization_token(caller(), "us-east-1", "pw1");
    CHECK(ecr.get_authorization_token(caller(), "us-east-1").password == "pw2");  // cached
    CHECK(h.http.all_used());
}

TEST_CASE("BatchGetImage splits at 100 tags and reports missing ones") {
    Harness h;
    std::vector<std::string> tags;
    for (int i = 0; i < 150; ++i) {
        tags.push_back("t" + std::to_string(i));
    }
    h.http.expect("POST", "https://api.ecr.us-east-1.amazonaws.com/")
        .with_header("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.BatchGetImage")
        .respond(200, {},
                 R"({"images": [{"imageId": {"imageTag": "t0", "imageDigest": "sha256:0"}}],
            "failures": [{"imageId": {"imageTag": "t1"}, "failureCode": "ImageNotFound"}]})");
    h.http.expect("POST", "https://api.ecr.us-east-1.amazonaws.com/")
        .respond(200, {}, R"({"images": [], "failures": []})");
    aws::EcrClient ecr(h.runtime, h.endpoints);
    const auto lookup = ecr.batch_get_image(caller(), "us-east-1", "repo", tags);
    CHECK(lookup.found == std::vector<std::pair<std::string, std::string>>{{"t0", "sha256:0"}});
    CHECK(lookup.missing == std::vector<std::string>{"t1"});
    const auto requests = h.http.received();
    REQUIRE(requests.size() == 2);
    CHECK(nlohmann::json::parse(requests[0].body)["imageIds"].size() == 100);
    CHECK(nlohmann::json::parse(requests[1].body)["imageIds"].size() == 50);
}

TEST_CASE("endpoint overrides are used for both services") {
    Harness h;
    h.endpoints.url = "http://127.0.0.1:4566";
    h.http.expect("POST", "http://127.0.0.1:4566/")
        .with_header("Host", "127.0.0.1:4566")
        .respond(200, {}, R"({"repository": {"repositoryName": "r", "repositoryUri": "u"}})");
    aws::EcrClient ecr(h.runtime, h.endpoints);
    CHECK(ecr.create_repository(caller(), "us-east-1", "r").uri == "u");
}
