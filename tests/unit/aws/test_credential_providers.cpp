// The environment, web identity, ECS container and EC2 instance metadata providers, and the
// command-line splitter used for credential_process.

#include <chrono>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "aws/credential_providers.hpp"
#include "support/aws_home.hpp"
#include "support/fake_http.hpp"
#include "support/fake_sleeper.hpp"
#include "support/fake_sts.hpp"
#include "util/environment.hpp"

using namespace assetctl;
using namespace assetctl::aws;
using namespace std::chrono;
using Catch::Matchers::Contains;
using http::TransportErrorKind;

namespace {

const auto k_expiration = sys_days{year{2026} / 11 / 27} + hours{12};

std::string credentials_json(std::string_view token_key = "Token") {
    return R"({"AccessKeyId": "ASIA-HTTP", "SecretAccessKey": "http-secret", ")" +
           std::string(token_key) + R"(": "http-token", "Expiration": "2026-11-27T12:00:00Z"})";
}

std::string what_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const CredentialsError& e) {
        return e.what();
    }
    return "no CredentialsError";
}

}  // namespace

// --- split_command_line --------------------------------------------------------------------

TEST_CASE("split_command_line splits on blanks like a POSIX shell") {
    CHECK(split_command_line("  /usr/bin/get-creds   --profile  ci\t-v ") ==
          std::vector<std::string>{"/usr/bin/get-creds", "--profile", "ci", "-v"});
    CHECK(split_command_line("").empty());
    CHECK(split_command_line("   ").empty());
}

TEST_CASE("split_command_line honours quotes and backslashes") {
    CHECK(split_command_line(R"(tool 'a b' "c d" e\ f)") ==
          std::vector<std::string>{"tool", "a b", "c d", "e f"});
    CHECK(split_command_line(R"(tool 'it''s' "say \"hi\"" 'back\slash' "keep\n")") ==
          std::vector<std::string>{"tool", "its", "say \"hi\"", "back\\slash", "keep\\n"});
    CHECK(split_command_line(R"(tool a"b c"d '' "")") ==
          std::vector<std::string>{"tool", "ab cd", "", ""});
    CHECK(split_command_line("tool \"$HOME\" \\$x \"\\$y\"") ==
          std::vector<std::string>{"tool", "$HOME", "$x", "$y"});
    CHECK(split_command_line("tool a\\\n b") == std::vector<std::string>{"tool", "a", "b"});
}

TEST_CASE("split_command_line rejects unclosed quotes and a trailing backslash") {
    CHECK_THROWS_WITH(split_command_line("tool 'open"), "a single quote is not closed");
    CHECK_THROWS_WITH(split_command_line("tool \"open"), "a double quote is not closed");
    CHECK_THROWS_WITH(split_command_line("tool \\"), "a backslash ends the command");
}

// --- environment ---------------------------------------------------------------------------

TEST_CASE("environment provider reads the key pair and the session token") {
    util::MapEnvironment env({{"AWS_ACCESS_KEY_ID", "AKID-ENV"},
                              {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                              {"AWS_SESSION_TOKEN", "env-token"}});
    EnvironmentProvider provider(env);
    CHECK(provider.name() == "environment");
    const auto result = provider.resolve();
    REQUIRE(result.credentials);
    CHECK(result.credentials->keys.access_key_id == "AKID-ENV");
    CHECK(result.credentials->keys.secret_access_key == "env-secret");
    CHECK(result.credentials->keys.session_token == "env-token");
    CHECK_FALSE(result.credentials->expiration);
    CHECK(result.credentials->source == "environment");
}

TEST_CASE("environment provider takes AWS_SECURITY_TOKEN and AWS_CREDENTIAL_EXPIRATION") {
    util::MapEnvironment env({{"AWS_ACCESS_KEY_ID", "AKID-ENV"},
                              {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                              {"AWS_SECURITY_TOKEN", "legacy-token"},
                              {"AWS_CREDENTIAL_EXPIRATION", "2026-11-27T12:00:00Z"}});
    const auto result = EnvironmentProvider(env).resolve();
    REQUIRE(result.credentials);
    CHECK(result.credentials->keys.session_token == "legacy-token");
    CHECK(result.credentials->expiration == k_expiration);

    env.set("AWS_CREDENTIAL_EXPIRATION", "tomorrow");
    CHECK(what_of([&] { EnvironmentProvider(env).resolve(); }) ==
          "environment: AWS_CREDENTIAL_EXPIRATION 'tomorrow' is not an ISO 8601 timestamp");
}

TEST_CASE("environment provider does not apply without the variables (empty counts as unset)") {
    util::MapEnvironment env({{"AWS_ACCESS_KEY_ID", ""}, {"AWS_SESSION_TOKEN", "x"}});
    const auto result = EnvironmentProvider(env).resolve();
    CHECK_FALSE(result.credentials);
    CHECK(result.not_applicable_reason == "AWS_ACCESS_KEY_ID is not set");
}

TEST_CASE("environment provider: half of the key pair is an error naming the missing one") {
    util::MapEnvironment only_id({{"AWS_ACCESS_KEY_ID", "AKID-ENV"}});
    CHECK(what_of([&] { EnvironmentProvider(only_id).resolve(); }) ==
          "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is missing (set both, "
          "or neither)");
    util::MapEnvironment only_secret({{"AWS_SECRET_ACCESS_KEY", "very-secret-value"}});
    const auto message = what_of([&] { EnvironmentProvider(only_secret).resolve(); });
    CHECK_THAT(message, Contains("AWS_ACCESS_KEY_ID is missing"));
    CHECK_THAT(message, !Contains("very-secret-value"));
}

// --- web identity from the environment ----------------------------------------------------

TEST_CASE("web identity provider assumes AWS_ROLE_ARN with the token file, read every time") {
    test::AwsHome home;
    const auto token_file = home.file("token", "oidc-token-1\n");
    home.env.set("AWS_WEB_IDENTITY_TOKEN_FILE", token_file);
    home.env.set("AWS_ROLE_ARN", "arn:aws:iam::1:role/ci");
    home.env.set("USER", "runner");
    test::FakeStsApi sts(k_expiration);
    WebIdentityEnvProvider provider(home.env, sts);

    const auto result = provider.resolve();
    REQUIRE(result.credentials);
    CHECK(result.credentials->keys.access_key_id == "ASIA-STS-1");
    CHECK(result.credentials->expiration == k_expiration);
    CHECK(result.credentials->source == "web identity: arn:aws:iam::1:role/ci");

    home.file("token", "oidc-token-2");
    home.env.set("AWS_ROLE_SESSION_NAME", "my-session");
    REQUIRE(provider.resolve().credentials);

    const auto calls = sts.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].operation == "AssumeRoleWithWebIdentity");
    CHECK(calls[0].role_arn == "arn:aws:iam::1:role/ci");
    CHECK(calls[0].web_identity_token == "oidc-token-1");
    CHECK(calls[0].session_name == "assetctl-runner");
    CHECK(calls[1].web_identity_token == "oidc-token-2");
    CHECK(calls[1].session_name == "my-session");
}

TEST_CASE("web identity provider: not applicable, missing role, unreadable token, STS failure") {
    test::AwsHome home;
    test::FakeStsApi sts;
    WebIdentityEnvProvider provider(home.env, sts);
    CHECK(provider.resolve().not_applicable_reason == "AWS_WEB_IDENTITY_TOKEN_FILE is not set");

    home.env.set("AWS_WEB_IDENTITY_TOKEN_FILE", home.path("missing-token"));
    CHECK_THAT(what_of([&] { provider.resolve(); }), Contains("AWS_ROLE_ARN is not"));

    home.env.set("AWS_ROLE_ARN", "arn:aws:iam::1:role/ci");
    CHECK_THAT(
        what_of([&] { provider.resolve(); }),
        Contains("web identity: AWS_WEB_IDENTITY_TOKEN_FILE: ") && Contains("missing-token"));

    home.env.set("AWS_WEB_IDENTITY_TOKEN_FILE", home.file("token", "t"));
    sts.fail_with("AccessDenied: not authorized to perform sts:AssumeRoleWithWebIdentity");
    CHECK(what_of([&] { provider.resolve(); }) ==
          "web identity: AssumeRoleWithWebIdentity for arn:aws:iam::1:role/ci failed: "
          "AccessDenied: not authorized to perform sts:AssumeRoleWithWebIdentity");
}

// --- ECS container -------------------------------------------------------------------------

TEST_CASE("container provider: relative URI on 169.254.170.2") {
    util::MapEnvironment env({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"},
                              {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/ignored"}});
    test::FakeHttpClient http;
    test::FakeSleeper sleeper;
    http.expect("GET", "http://169.254.170.2/v2/credentials/abc")
        .with_header("Accept", "application/json")
        .without_header("Authorization")
        .respond(200, {}, credentials_json());
    ContainerProvider provider(env, http, sleeper);
    CHECK(provider.name() == "ECS container");
    const auto result = provider.resolve();
    REQUIRE(result.credentials);
    CHECK(result.credentials->keys.access_key_id == "ASIA-HTTP");
    CHECK(result.credentials->keys.secret_access_key == "http-secret");
    CHECK(result.credentials->keys.session_token == "http-token");
    CHECK(result.credentials->expiration == k_expiration);
    CHECK(http.all_used());
    CHECK(http.received().front().timeout == k_container_timeout);
}

TEST_CASE("container provider: full URI with the token file preferred and re-read") {
    test::AwsHome home;
    const auto token_file = home.file("pod-token", "token-from-file-1\n");
    home.env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials");
    home.env.set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file);
    home.env.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "token-from-env");
    test::FakeHttpClient http;
    test::FakeSleeper sleeper;
    http.expect("GET", "http://169.254.170.23/v1/credentials")
        .with_header("Authorization", "token-from-file-1")
        .respond(200, {}, credentials_json());
    http.expect("GET", "http://169.254.170.23/v1/credentials")
        .with_header("Authorization", "token-from-file-2")
        .respond(200, {}, credentials_json());
    ContainerProvider provider(home.env, http, sleeper);
    REQUIRE(provider.resolve().credentials);
    home.file("pod-token", "token-from-file-2");
    REQUIRE(provider.resolve().credentials);
    CHECK(http.all_used());
}

TEST_CASE("container provider: full URI with the token from the environment") {
    util::MapEnvironment env({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://localhost:8080/creds"},
                              {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "token-from-env"}});
    test::FakeHttpClient http;
    test::FakeSleeper sleeper;
    http.expect("GET", "http://localhost:8080/creds")
        .with_header("Authorization", "token-from-env")
        .respond(200, {}, credentials_json());
    REQUIRE(ContainerProvider(env, http, sleeper).resolve().credentials);
}

TEST_CASE("container provider: a disallowed full URI host is an error before any request") {
    util::MapEnvironment env(
        {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://metadata.example.com/creds"}});
    test::FakeHttpClient http;
    test::FakeSleeper sleeper;
    CHECK_THAT(what_of([&] { ContainerProvider(env, http, sleeper).resolve(); }),
               Contains("AWS_CONTAINER_CREDENTIALS_FULL_URI http://metadata.example.com/creds is "
                        "not allowed"));
    CHECK(http.received().empty());
}

TEST_CASE("is_allowed_container_uri") {
    for (const char* url :
         {"http://127.0.0.1/x", "http://127.12.0.9:51679/creds", "http://[::1]:80/x",
          "http://localhost/x", "http://LOCALHOST:9/x", "http://169.254.170.2/v2/x",
          "http://169.254.170.23/v1/credentials", "http://[fd00:ec2::23]/v1/credentials",
          "https://anything.example.com/creds", "HTTPS://creds.internal:8443/"}) {
        CAPTURE(url);
        CHECK(is_allowed_container_uri(url));
    }
    for (const char* url :
         {"http://169.254.169.254/latest", "http://example.com/", "http://128.0.0.1/",
          "http://[::2]/", "ftp://127.0.0.1/", "http://user@evil.com/", "127.0.0.1/creds",
          "http:///path", "http://localhost.evil.com/"}) {
        CAPTURE(url);
        CHECK_FALSE(is_allowed_container_uri(url));
    }
}

TEST_CASE("container provider retries transport errors and 5xx, then gives up") {
    util::MapEnvironment env({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds"}});
    test::FakeHttpClient http;
    test::FakeSleeper sleeper;
    ContainerProvider provider(env, http, sleeper);

    http.expect("GET", "http://169.254.170.2/creds").fail(TransportErrorKind::connect);
    http.expect("GET", "http://169.254.170.2/creds").respond(503, {}, "busy");
    http.expect("GET", "http://169.254.170.2/creds").respond(200, {}, credentials_json());
    REQUIRE(provider.resolve().credentials);
    CHECK(sleeper.sleeps() ==
          std::vector<milliseconds>{k_container_retry_delay, k_container_retry_delay});

    for (int i = 0; i < k_container_attempts; ++i) {
        http.expect("GET", "http://169.254.170.2/creds").respond(500);
    }
    CHECK(what_of([&] { provider.resolve(); }) ==
          "ECS container: http://169.254.170.2/creds failed 3 attempts, the last with: HTTP 500");
    CHECK(http.all_used());
}

TEST_CASE("container provider: a 4xx answer is an error without retries") {
    util::MapEnvironment env({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds"}});
    test::FakeHttpClient http;
    test::FakeSleeper sleeper;
    http.expect("GET", "http://169.254.170.2/creds")
        .respond(403, {}, R"({"code": "AccessDenied", "message": "bad token"})");
    CHECK(what_of([&] { ContainerProvider(env, http, sleeper).resolve(); }) ==
          "ECS container: http://169.254.170.2/creds answered HTTP 403: AccessDenied bad token");
    CHECK(sleeper.sleeps().empty());
}

TEST_CASE("container provider: bad answers are errors that do not quote the body") {
    util::MapEnvironment env({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds"}});
    test::FakeHttpClient http;
    test::FakeSleeper sleeper;
    ContainerProvider provider(env, http, sleeper);
    http.expect("GET", "http://169.254.170.2/creds").respond(200, {}, "not json http-secret");
    CHECK(what_of([&] { provider.resolve(); }) ==
          "ECS container: http://169.254.170.2/creds did not answer JSON");
    http.expect("GET", "http://169.254.170.2/creds")
        .respond(200, {}, R"({"AccessKeyId": "ASIA-HTTP", "SecretAccessKey": "http-secret"})");
    CHECK(what_of([&] { provider.resolve(); }) ==
          "ECS container: http://169.254.170.2/creds: the answer has no Token");
}

TEST_CASE("container provider does not apply without its variables") {
    util::MapEnvironment env;
    test::FakeHttpClient http;
    test::FakeSleeper sleeper;
    CHECK(ContainerProvider(env, http, sleeper).resolve().not_applicable_reason ==
          "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI "
          "is set");
}

// --- EC2 instance metadata -----------------------------------------------------------------

namespace {

const std::string k_imds = "http://127.0.0.1:1338";

void expect_token(test::FakeHttpClient& http, long status = 200, std::string body = "imds-token") {
    http.expect("PUT", k_imds + "/latest/api/token")
        .with_header("X-aws-ec2-metadata-token-ttl-seconds", "21600")
        .respond(status, {}, std::move(body));
}

}  // namespace

TEST_CASE("IMDS provider: token, role name, credentials") {
    util::MapEnvironment env({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", k_imds + "/"}});
    test::FakeHttpClient http;
    expect_token(http);
    http.expect("GET", k_imds + "/latest/meta-data/iam/security-credentials/")
        .with_header("X-aws-ec2-metadata-token", "imds-token")
        .respond(200, {}, "ci-runner-role\n");
    http.expect("GET", k_imds + "/latest/meta-data/iam/security-credentials/ci-runner-role")
        .with_header("X-aws-ec2-metadata-token", "imds-token")
        .respond(200, {}, R"({"Code": "Success", "LastUpdated": "2026-11-27T06:00:00Z",
                         "Type": "AWS-HMAC", "AccessKeyId": "ASIA-HTTP",
                         "SecretAccessKey": "http-secret", "Token": "http-token",
                         "Expiration": "2026-11-27T12:00:00Z"})");
    InstanceMetadataProvider provider(env, http);
    CHECK(provider.name() == "EC2 instance metadata");
    const auto result = provider.resolve();
    REQUIRE(result.credentials);
    CHECK(result.credentials->keys.access_key_id == "ASIA-HTTP");
    CHECK(result.credentials->keys.session_token == "http-token");
    CHECK(result.credentials->expiration == k_expiration);
    CHECK(result.credentials->source == "EC2 instance metadata: role ci-runner-role");
    CHECK(http.all_used());
    for (const auto& request : http.received()) {
        CHECK(request.timeout == k_imds_timeout);
    }
}

TEST_CASE("IMDS provider: default endpoint, IPv6 mode and AWS_EC2_METADATA_DISABLED") {
    test::FakeHttpClient http;
    util::MapEnvironment env;
    http.expect("PUT", "http://169.254.169.254/latest/api/token")
        .fail(TransportErrorKind::timeout, "connect timeout");
    http.expect("PUT", "http://169.254.169.254/latest/api/token")
        .fail(TransportErrorKind::timeout, "connect timeout");
    CHECK(InstanceMetadataProvider(env, http).resolve().not_applicable_reason ==
          "nothing answered at http://169.254.169.254 (connect timeout)");

    env.set("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6");
    http.expect("PUT", "http://[fd00:ec2::254]/latest/api/token").respond(403);
    CHECK_FALSE(InstanceMetadataProvider(env, http).resolve().credentials);

    env.set("AWS_EC2_METADATA_DISABLED", "TRUE");
    CHECK(InstanceMetadataProvider(env, http).resolve().not_applicable_reason ==
          "AWS_EC2_METADATA_DISABLED is true");
    CHECK(http.all_used());
}

TEST_CASE("IMDS provider: a 403 token answer means metadata is turned off") {
    util::MapEnvironment env({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", k_imds}});
    test::FakeHttpClient http;
    expect_token(http, 403, "");
    const auto result = InstanceMetadataProvider(env, http).resolve();
    CHECK_FALSE(result.credentials);
    CHECK_THAT(result.not_applicable_reason, Contains("HTTP 403") && Contains("turned off"));
    CHECK(http.all_used());
}

TEST_CASE("IMDS provider: retries once after a transport error or 5xx, no IMDSv1 fallback") {
    util::MapEnvironment env({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", k_imds}});
    test::FakeHttpClient http;
    http.expect("PUT", k_imds + "/latest/api/token").fail(TransportErrorKind::connection_reset);
    expect_token(http, 404, "");
    const auto result = InstanceMetadataProvider(env, http).resolve();
    CHECK_FALSE(result.credentials);
    CHECK_THAT(result.not_applicable_reason, Contains("HTTP 404") && Contains("IMDSv1"));
    CHECK(http.all_used());
}

TEST_CASE("IMDS provider: no role attached does not apply, a broken role is an error") {
    util::MapEnvironment env({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", k_imds}});
    test::FakeHttpClient http;
    expect_token(http);
    http.expect("GET", k_imds + "/latest/meta-data/iam/security-credentials/").respond(404);
    CHECK_THAT(InstanceMetadataProvider(env, http).resolve().not_applicable_reason,
               Contains("no IAM role is attached"));

    expect_token(http);
    http.expect("GET", k_imds + "/latest/meta-data/iam/security-credentials/")
        .respond(200, {}, "r");
    http.expect("GET", k_imds + "/latest/meta-data/iam/security-credentials/r")
        .respond(200, {},
                 R"({"Code": "AssumeRoleUnauthorizedAccess", "Message": "EC2 cannot assume"})");
    CHECK(what_of([&] { InstanceMetadataProvider(env, http).resolve(); }) ==
          "EC2 instance metadata: role r: AssumeRoleUnauthorizedAccess: EC2 cannot assume");

    expect_token(http);
    http.expect("GET", k_imds + "/latest/meta-data/iam/security-credentials/")
        .respond(200, {}, "r");
    http.expect("GET", k_imds + "/latest/meta-data/iam/security-credentials/r").respond(500);
    http.expect("GET", k_imds + "/latest/meta-data/iam/security-credentials/r").respond(500);
    CHECK_THAT(what_of([&] { InstanceMetadataProvider(env, http).resolve(); }),
               Contains("credentials of role r failed: HTTP 500"));
    CHECK(http.all_used());
}
