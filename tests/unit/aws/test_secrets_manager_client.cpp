// The Secrets Manager client over a scripted HTTP client: request shape and signing, the
// endpoint rules, answer parsing, typed errors, retries, and the region of a secret ARN.
#include <catch2/catch.hpp>

#include "aws/aws_error.hpp"
#include "aws/secrets_manager_client.hpp"
#include "support/fake_http.hpp"
#include "support/fake_sleeper.hpp"
#include "util/clock.hpp"

using namespace assetctl;
using namespace std::chrono;

namespace {

const auto k_now = sys_days(year(2026) / 12 / 3) + hours(10);
const char* const k_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hub-AbCdEf";
const char* const k_request =
    R"({"SecretId":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:hub-AbCdEf"})";
const char* const k_answer =
    R"({"ARN":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:hub-AbCdEf","Name":"hub",)"
    R"("VersionId":"v1","SecretString":"{\"username\":\"u\"}",)"
    R"("VersionStages":["AWSCURRENT"],"CreatedDate":1.7e9})";

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

}  // namespace

TEST_CASE("GetSecretValue is a signed JSON 1.1 POST and its SecretString is read") {
    Harness h;
    h.http.expect("POST", "https://secretsmanager.eu-west-1.amazonaws.com/")
        .with_header("Content-Type", "application/x-amz-json-1.1")
        .with_header("X-Amz-Target", "secretsmanager.GetSecretValue")
        .with_body(k_request)
        .respond(200, {}, k_answer);
    aws::SecretsManagerClient client(h.runtime, h.endpoints);
    const auto value = client.get_secret_value(caller(), "eu-west-1", k_arn);

    CHECK(value.arn == k_arn);
    CHECK(value.name == "hub");
    CHECK(value.version_id == "v1");
    CHECK(value.secret_string == std::optional<std::string>(R"({"username":"u"})"));
    const auto sent = h.http.received().at(0);
    const auto authorization = http::find_header(sent.headers, "Authorization").value_or("");
    CHECK_THAT(authorization,
               Catch::StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/eu-west-1/"
                                 "secretsmanager/aws4_request"));
    CHECK(h.http.all_used());
}

TEST_CASE("a binary secret has no SecretString") {
    Harness h;
    h.http.expect("POST", "https://secretsmanager.us-east-1.amazonaws.com/")
        .respond(200, {}, R"({"ARN":"a","Name":"bin","SecretBinary":"AAEC"})");
    aws::SecretsManagerClient client(h.runtime, h.endpoints);
    CHECK_FALSE(client.get_secret_value(caller(), "us-east-1", "bin").secret_string);
}

TEST_CASE("Secrets Manager errors are typed AwsErrors; throttling is retried") {
    Harness h;
    h.http.expect("POST", "https://secretsmanager.us-east-1.amazonaws.com/")
        .respond(400, {}, R"({"__type":"ThrottlingException","message":"Rate exceeded"})");
    h.http.expect("POST", "https://secretsmanager.us-east-1.amazonaws.com/")
        .respond(400, {},
                 R"({"__type":"ResourceNotFoundException","message":"can't find the secret"})");
    aws::SecretsManagerClient client(h.runtime, h.endpoints);
    try {
        client.get_secret_value(caller(), "us-east-1", "missing");
        FAIL("expected AwsError");
    } catch (const aws::AwsError& e) {
        CHECK(e.code() == "ResourceNotFoundException");
        CHECK(e.service() == "secretsmanager");
        CHECK(e.operation() == "GetSecretValue");
    }
    CHECK(h.http.all_used());
}

TEST_CASE("an answer that is not a JSON object is a MalformedResponse") {
    Harness h;
    h.http.expect("POST", "https://secretsmanager.us-east-1.amazonaws.com/")
        .respond(200, {}, "not json");
    aws::SecretsManagerClient client(h.runtime, h.endpoints);
    try {
        client.get_secret_value(caller(), "us-east-1", "x");
        FAIL("expected AwsError");
    } catch (const aws::AwsError& e) {
        CHECK(e.code() == "MalformedResponse");
    }
}

TEST_CASE("the Secrets Manager endpoint: overrides, FIPS, dual-stack, partitions") {
    aws::EndpointSettings settings;
    CHECK(aws::secrets_manager_endpoint("us-east-1", settings) ==
          "https://secretsmanager.us-east-1.amazonaws.com");
    CHECK(aws::secrets_manager_endpoint("cn-north-1", settings) ==
          "https://secretsmanager.cn-north-1.amazonaws.com.cn");
    settings.use_fips = true;
    CHECK(aws::secrets_manager_endpoint("us-gov-west-1", settings) ==
          "https://secretsmanager-fips.us-gov-west-1.amazonaws.com");
    settings.use_dualstack = true;
    CHECK(aws::secrets_manager_endpoint("us-east-1", settings) ==
          "https://secretsmanager-fips.us-east-1.api.aws");
    settings.url = "http://127.0.0.1:4566/";
    CHECK(aws::secrets_manager_endpoint("us-east-1", settings) == "http://127.0.0.1:4566");
    settings.secrets_manager_url = "http://127.0.0.1:9000";
    CHECK(aws::secrets_manager_endpoint("us-east-1", settings) == "http://127.0.0.1:9000");

    const util::MapEnvironment env{{"AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://localhost:1"}};
    CHECK(aws::endpoint_settings_from(env).secrets_manager_url ==
          std::optional<std::string>("http://localhost:1"));
}

TEST_CASE("the region of a Secrets Manager ARN") {
    CHECK(aws::secret_arn_region(k_arn) == std::optional<std::string>("eu-west-1"));
    CHECK(aws::secret_arn_region("arn:aws-cn:secretsmanager:cn-north-1:1:secret:x") ==
          std::optional<std::string>("cn-north-1"));
    CHECK_FALSE(aws::secret_arn_region("dockerhub-login"));
    CHECK_FALSE(aws::secret_arn_region("arn:aws:ssm:us-east-1:1:parameter/x"));
    CHECK_FALSE(aws::secret_arn_region("arn:aws:secretsmanager::1:secret:x"));
}
