// SharedProfileProvider: static keys, role chains, credential_source, credential_process and
// web identity in a profile.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "aws/credential_providers.hpp"
#include "support/aws_home.hpp"
#include "support/fake_credentials.hpp"
#include "support/fake_process.hpp"
#include "support/fake_sts.hpp"

using namespace assetctl;
using namespace assetctl::aws;
using namespace std::chrono;
using Catch::Matchers::Contains;
using test::FakeProcessRunner;

namespace {

// A credential_source provider with fixed keys, or (no key) one that does not apply here.
std::unique_ptr<test::FakeCredentialsProvider> stub_provider(std::string name,
                                                             std::optional<std::string> key) {
    using Mode = test::FakeCredentialsProvider::Mode;
    auto provider = std::make_unique<test::FakeCredentialsProvider>(
        name, key ? Mode::credentials : Mode::not_applicable);
    provider->with_keys(key.value_or(""), "stub-secret")
        .with_reason(name + " is not available here");
    return provider;
}

struct Fixture {
    test::AwsHome home;
    FakeProcessRunner processes;
    test::FakeStsApi sts;
    std::shared_ptr<std::atomic<int>> imds_calls;

    Fixture() { home.env.set("USER", "builder"); }

    enum class Imds { has_credentials, has_none };

    SharedProfileProvider provider(std::optional<std::string> profile_override = std::nullopt,
                                   Imds imds_state = Imds::has_credentials) {
        CredentialSources sources;
        sources.environment = std::make_unique<EnvironmentProvider>(home.env);
        auto imds =
            stub_provider("EC2 instance metadata", imds_state == Imds::has_credentials
                                                       ? std::optional<std::string>("AKID-IMDS")
                                                       : std::nullopt);
        imds_calls = imds->calls;
        sources.ec2_instance_metadata = std::move(imds);
        sources.ecs_container = stub_provider("ECS container", "AKID-ECS");
        return SharedProfileProvider(home.env, processes, sts,
                                     select_profile(home.env, profile_override),
                                     std::move(sources));
    }

    AwsCredentials resolve(std::optional<std::string> profile_override = std::nullopt) {
        auto result = provider(std::move(profile_override)).resolve();
        if (!result.credentials) {
            FAIL("no credentials: " << result.not_applicable_reason);
        }
        return *result.credentials;
    }

    std::string error(std::optional<std::string> profile_override = std::nullopt) {
        try {
            auto result = provider(std::move(profile_override)).resolve();
            return "no error, reason: " + result.not_applicable_reason;
        } catch (const CredentialsError& e) {
            return e.what();
        }
    }
};

}  // namespace

TEST_CASE("profile provider: static keys from the credentials file") {
    Fixture f;
    f.home.credentials(
        "[default]\naws_access_key_id = AKID-FILE\naws_secret_access_key = file-secret\n"
        "aws_session_token = file-token\n");
    const auto credentials = f.resolve();
    CHECK(credentials.keys.access_key_id == "AKID-FILE");
    CHECK(credentials.keys.secret_access_key == "file-secret");
    CHECK(credentials.keys.session_token == "file-token");
    CHECK_FALSE(credentials.expiration);
    CHECK(credentials.source ==
          "profile 'default': static keys from " + f.home.path(".aws/credentials"));
}

TEST_CASE("profile provider: static keys from the config file and AWS_PROFILE") {
    Fixture f;
    f.home.config(
        "[profile ci]\naws_access_key_id = AKID-CONFIG\naws_secret_access_key = config-secret\n");
    f.home.env.set("AWS_PROFILE", "ci");
    const auto credentials = f.resolve();
    CHECK(credentials.keys.access_key_id == "AKID-CONFIG");
    CHECK(credentials.source == "profile 'ci': static keys from " + f.home.path(".aws/config"));
}

TEST_CASE("profile provider: --profile beats AWS_PROFILE, credentials file beats config") {
    Fixture f;
    f.home.env.set("AWS_PROFILE", "from-env");
    f.home.config(
        "[profile flag]\naws_access_key_id = AKID-CONFIG\naws_secret_access_key = s1\n"
        "[profile from-env]\naws_access_key_id = AKID-ENV-PROFILE\naws_secret_access_key = s2\n");
    f.home.credentials("[flag]\naws_access_key_id = AKID-CREDS\naws_secret_access_key = s3\n");
    CHECK(f.resolve().keys.access_key_id == "AKID-ENV-PROFILE");
    const auto credentials = f.resolve(std::string("flag"));
    CHECK(credentials.keys.access_key_id == "AKID-CREDS");
    CHECK(credentials.keys.secret_access_key == "s3");
}

TEST_CASE("profile provider: not applicable without the profile or without credentials") {
    Fixture f;
    CHECK(f.provider().resolve().not_applicable_reason == "profile 'default' not found in " +
                                                              f.home.path(".aws/credentials") +
                                                              ", " + f.home.path(".aws/config"));
    f.home.config("[default]\nregion = eu-west-1\n");
    CHECK_THAT(f.provider().resolve().not_applicable_reason,
               Contains("profile 'default' in ") && Contains("has no credentials"));
}

TEST_CASE("profile provider: an explicit profile that exists nowhere is an error") {
    Fixture f;
    f.home.config("[profile other]\nregion = eu-west-1\n");
    CHECK(f.error(std::string("release")) == "profile 'release' (from --profile) not found in " +
                                                 f.home.path(".aws/credentials") + ", " +
                                                 f.home.path(".aws/config"));
    f.home.env.set("AWS_PROFILE", "default");
    CHECK_THAT(f.error(), Contains("profile 'default' (from AWS_PROFILE) not found"));
}

TEST_CASE("profile provider: half a key pair is an error naming the profile and file") {
    Fixture f;
    f.home.credentials("[default]\naws_secret_access_key = lonely-secret\n");
    const auto message = f.error();
    CHECK(message == "profile 'default' in " + f.home.path(".aws/credentials") +
                         " has aws_secret_access_key but no aws_access_key_id");
}

TEST_CASE("profile provider: role_arn with source_profile chains of three") {
    Fixture f;
    f.home.config(
        "[profile deploy]\nrole_arn = arn:aws:iam::3:role/deploy\nsource_profile = middle\n"
        "external_id = ext-123\nduration_seconds = 1800\nrole_session_name = release-7\n"
        "[profile middle]\nrole_arn = arn:aws:iam::2:role/middle\nsource_profile = base\n"
        "[profile base]\nregion = eu-west-1\n");
    f.home.credentials("[base]\naws_access_key_id = AKID-BASE\naws_secret_access_key = base-s\n");
    const auto credentials = f.resolve(std::string("deploy"));
    CHECK(credentials.keys.access_key_id == "ASIA-STS-2");
    CHECK(credentials.source == "profile 'deploy': assumed arn:aws:iam::3:role/deploy");
    CHECK(credentials.expiration.has_value());

    const auto calls = f.sts.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].operation == "AssumeRole");
    CHECK(calls[0].caller_access_key_id == "AKID-BASE");
    CHECK(calls[0].role_arn == "arn:aws:iam::2:role/middle");
    CHECK(calls[0].session_name == "assetctl-builder");
    CHECK_FALSE(calls[0].external_id);
    CHECK_FALSE(calls[0].duration_seconds);
    CHECK(calls[1].caller_access_key_id == "ASIA-STS-1");
    CHECK(calls[1].role_arn == "arn:aws:iam::3:role/deploy");
    CHECK(calls[1].external_id == "ext-123");
    CHECK(calls[1].duration_seconds == 1800);
    CHECK(calls[1].session_name == "release-7");
}

TEST_CASE("profile provider: session names default to USER, then LOGNAME, then ci") {
    Fixture f;
    f.home.config("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = keys\n");
    f.home.credentials("[keys]\naws_access_key_id = AKID\naws_secret_access_key = s\n");
    f.resolve();
    f.home.env.set("USER", "");
    f.home.env.set("LOGNAME", "log name");
    f.resolve();
    f.home.env.set("LOGNAME", "");
    f.resolve();
    const auto calls = f.sts.calls();
    REQUIRE(calls.size() == 3);
    CHECK(calls[0].session_name == "assetctl-builder");
    CHECK(calls[1].session_name == "assetctl-log-name");
    CHECK(calls[2].session_name == "assetctl-ci");
}

TEST_CASE("profile provider: a source_profile loop is a clear error") {
    Fixture f;
    f.home.config(
        "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n"
        "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = c\n"
        "[profile c]\nrole_arn = arn:aws:iam::1:role/c\nsource_profile = a\n");
    CHECK(f.error(std::string("a")) == "source_profile loop in " + f.home.path(".aws/credentials") +
                                           ", " + f.home.path(".aws/config") +
                                           ": a -> b -> c -> a");
    CHECK(f.sts.calls().empty());
}

TEST_CASE("profile provider: a profile may name itself as source for its own static keys") {
    Fixture f;
    f.home.credentials(
        "[default]\naws_access_key_id = AKID-SELF\naws_secret_access_key = self-secret\n"
        "role_arn = arn:aws:iam::1:role/self\nsource_profile = default\n");
    const auto credentials = f.resolve();
    CHECK(credentials.source == "profile 'default': assumed arn:aws:iam::1:role/self");
    REQUIRE(f.sts.calls().size() == 1);
    CHECK(f.sts.calls()[0].caller_access_key_id == "AKID-SELF");

    Fixture g;
    g.home.config("[default]\nrole_arn = arn:aws:iam::1:role/self\nsource_profile = default\n");
    CHECK_THAT(g.error(), Contains("source_profile loop") && Contains("default -> default"));
}

TEST_CASE("profile provider: a source profile's static keys win over its own role") {
    Fixture f;
    f.home.config(
        "[profile top]\nrole_arn = arn:aws:iam::1:role/top\nsource_profile = src\n"
        "[profile src]\nrole_arn = arn:aws:iam::1:role/src-role\nsource_profile = nowhere\n"
        "aws_access_key_id = AKID-SRC\naws_secret_access_key = src-secret\n");
    f.resolve(std::string("top"));
    REQUIRE(f.sts.calls().size() == 1);
    CHECK(f.sts.calls()[0].caller_access_key_id == "AKID-SRC");
    CHECK(f.sts.calls()[0].role_arn == "arn:aws:iam::1:role/top");
}

TEST_CASE("profile provider: role configuration errors") {
    Fixture f;
    f.home.config(
        "[profile both]\nrole_arn = r\nsource_profile = x\ncredential_source = Environment\n"
        "[profile neither]\nrole_arn = r\n"
        "[profile dangling]\nrole_arn = r\nsource_profile = ghost\n"
        "[profile empty-source]\nrole_arn = r\nsource_profile = bare\n"
        "[profile bare]\nregion = us-east-1\n"
        "[profile bad-duration]\nrole_arn = r\ncredential_source = Ec2InstanceMetadata\n"
        "duration_seconds = an hour\n"
        "[profile bad-source]\nrole_arn = r\ncredential_source = Lambda\n");
    CHECK_THAT(f.error(std::string("both")),
               Contains("profile 'both' sets both source_profile and credential_source"));
    CHECK_THAT(f.error(std::string("neither")),
               Contains("has role_arn but neither source_profile nor credential_source"));
    CHECK_THAT(f.error(std::string("dangling")),
               Contains("source_profile 'ghost' of profile 'dangling' not found in"));
    CHECK(f.error(std::string("empty-source")) ==
          "source_profile 'bare' of profile 'empty-source' has no credentials");
    CHECK(f.error(std::string("bad-duration")) ==
          "profile 'bad-duration': duration_seconds must be a whole number of seconds, got 'an "
          "hour'");
    CHECK(f.error(std::string("bad-source")) ==
          "profile 'bad-source': credential_source 'Lambda' is not supported (use Environment, "
          "Ec2InstanceMetadata or EcsContainer)");
    CHECK(f.sts.calls().empty());
}

TEST_CASE("profile provider: credential_source picks the named provider") {
    Fixture f;
    f.home.config(
        "[profile from-env]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n"
        "[profile from-ec2]\nrole_arn = arn:aws:iam::1:role/i\n"
        "credential_source = ec2instancemetadata\n"
        "[profile from-ecs]\nrole_arn = arn:aws:iam::1:role/c\ncredential_source = EcsContainer\n");
    f.home.env.set("AWS_ACCESS_KEY_ID", "AKID-ENV");
    f.home.env.set("AWS_SECRET_ACCESS_KEY", "env-secret");
    f.resolve(std::string("from-env"));
    f.resolve(std::string("from-ec2"));
    f.resolve(std::string("from-ecs"));
    const auto calls = f.sts.calls();
    REQUIRE(calls.size() == 3);
    CHECK(calls[0].caller_access_key_id == "AKID-ENV");
    CHECK(calls[1].caller_access_key_id == "AKID-IMDS");
    CHECK(calls[2].caller_access_key_id == "AKID-ECS");
}

TEST_CASE("profile provider: a credential_source without credentials is an error") {
    Fixture f;
    f.home.config(
        "[default]\nrole_arn = arn:aws:iam::1:role/i\n"
        "credential_source = Ec2InstanceMetadata\n");
    std::string message;
    try {
        f.provider(std::nullopt, Fixture::Imds::has_none).resolve();
    } catch (const CredentialsError& e) {
        message = e.what();
    }
    CHECK(message ==
          "profile 'default': credential_source Ec2InstanceMetadata has no credentials: EC2 "
          "instance metadata is not available here");
}

TEST_CASE("profile provider: an STS failure names the profile and role") {
    Fixture f;
    f.home.config("[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = keys\n");
    f.home.credentials("[keys]\naws_access_key_id = AKID\naws_secret_access_key = keys-secret\n");
    f.sts.fail_with("AccessDenied: User is not authorized to perform sts:AssumeRole");
    CHECK(f.error() ==
          "profile 'default': could not assume role arn:aws:iam::1:role/r: AccessDenied: User is "
          "not authorized to perform sts:AssumeRole");
}

TEST_CASE("profile provider: web identity in a profile") {
    Fixture f;
    const auto token_file = f.home.file("oidc", "profile-oidc-token\n");
    f.home.config(
        "[profile oidc]\nrole_arn = arn:aws:iam::1:role/oidc\n"
        "web_identity_token_file = " +
        token_file + "\nrole_session_name = gha\n[profile broken]\n" +
        "web_identity_token_file = " + token_file + "\n");
    const auto credentials = f.resolve(std::string("oidc"));
    CHECK(credentials.source == "profile 'oidc': web identity arn:aws:iam::1:role/oidc");
    const auto calls = f.sts.calls();
    REQUIRE(calls.size() == 1);
    CHECK(calls[0].operation == "AssumeRoleWithWebIdentity");
    CHECK(calls[0].web_identity_token == "profile-oidc-token");
    CHECK(calls[0].session_name == "gha");
    CHECK(f.error(std::string("broken")) ==
          "profile 'broken' has web_identity_token_file but no role_arn");
}

TEST_CASE("profile provider: SSO profiles are reported as unsupported") {
    Fixture f;
    f.home.config("[profile sso]\nsso_session = corp\nsso_account_id = 1\n");
    CHECK_THAT(f.error(std::string("sso")), Contains("profile 'sso' uses IAM Identity Center") &&
                                                Contains("aws configure export-credentials"));
}

// --- credential_process --------------------------------------------------------------------

TEST_CASE("credential_process: success with quoted arguments and an expiration") {
    Fixture f;
    f.home.config(R"([default]
credential_process = /opt/bin/creds --role "deploy role" --label 'a b' plain\ arg
)");
    f.processes.expect({"/opt/bin/creds", "--role", "deploy role", "--label", "a b", "plain arg"},
                       FakeProcessRunner::exited(0, R"({"Version": 1, "AccessKeyId": "AKID-PROC",
                           "SecretAccessKey": "proc-secret", "SessionToken": "proc-token",
                           "Expiration": "2026-11-27T12:00:00.123+00:00"})"));
    const auto credentials = f.resolve();
    CHECK(credentials.keys.access_key_id == "AKID-PROC");
    CHECK(credentials.keys.secret_access_key == "proc-secret");
    CHECK(credentials.keys.session_token == "proc-token");
    CHECK(credentials.expiration == sys_days{year{2026} / 11 / 27} + hours{12} + milliseconds{123});
    CHECK(credentials.source == "profile 'default': credential_process");
    REQUIRE(f.processes.commands().size() == 1);
    CHECK(f.processes.commands()[0].timeout == k_credential_process_timeout);
    CHECK(f.processes.all_used());
}

TEST_CASE("credential_process: static credentials without token or expiration") {
    Fixture f;
    f.home.credentials("[default]\ncredential_process = creds\n");
    f.processes.expect({"creds"}, FakeProcessRunner::exited(0, R"({"Version": 1,
        "AccessKeyId": "AKID-PROC", "SecretAccessKey": "proc-secret"})"));
    const auto credentials = f.resolve();
    CHECK_FALSE(credentials.keys.session_token);
    CHECK_FALSE(credentials.expiration);
}

TEST_CASE("credential_process: static keys in the credentials file come first") {
    Fixture f;
    f.home.config("[default]\ncredential_process = never-run\n");
    f.home.credentials("[default]\naws_access_key_id = AKID-FILE\naws_secret_access_key = s\n");
    CHECK(f.resolve().keys.access_key_id == "AKID-FILE");
    CHECK(f.processes.commands().empty());
}

TEST_CASE("credential_process: a failing command reports its exit and the end of stderr") {
    Fixture f;
    f.home.config("[default]\ncredential_process = get-creds --token supersecretarg\n");
    f.processes.expect({"get-creds", "--token", "supersecretarg"},
                       FakeProcessRunner::exited(2, "",
                                                 "line 1\nline 2\n\nline 3\nline 4\n"
                                                 "line 5\n  error: token expired  \n\n"));
    const auto message = f.error();
    CHECK(message ==
          "profile 'default': credential_process (get-creds) exited with code 2: line 2 | line 3 "
          "| line 4 | line 5 | error: token expired");
    CHECK_THAT(message, !Contains("supersecretarg"));
}

TEST_CASE("credential_process: timeout, signal and spawn failure") {
    Fixture f;
    f.home.config("[default]\ncredential_process = slow\n");
    process::Result timed_out;
    timed_out.timed_out = true;
    f.processes.expect({"slow"}, timed_out);
    CHECK(f.error() == "profile 'default': credential_process (slow) did not finish within 60 s");

    process::Result killed;
    killed.signal = 9;
    f.processes.expect({"slow"}, killed);
    CHECK(f.error() == "profile 'default': credential_process (slow) was killed by signal 9");

    f.processes.expect_spawn_error({"slow"}, "slow: No such file or directory");
    CHECK(f.error() ==
          "profile 'default': credential_process could not start slow: slow: No such file or "
          "directory");
}

TEST_CASE("credential_process: bad output is an error that never quotes the output") {
    Fixture f;
    f.home.config("[default]\ncredential_process = creds\n");
    const std::vector<std::pair<std::string, std::string>> cases{
        {"not json proc-secret", "did not print a JSON object on stdout"},
        {R"(["proc-secret"])", "did not print a JSON object on stdout"},
        {R"({"AccessKeyId": "A", "SecretAccessKey": "proc-secret"})", "printed no Version"},
        {R"({"Version": 2, "AccessKeyId": "A", "SecretAccessKey": "proc-secret"})",
         "printed Version 2, expected 1"},
        {R"({"Version": "1", "AccessKeyId": "A", "SecretAccessKey": "proc-secret"})",
         "printed Version \"1\", expected 1"},
        {R"({"Version": 1, "SecretAccessKey": "proc-secret"})", "the answer has no AccessKeyId"},
        {R"({"Version": 1, "AccessKeyId": "A", "SecretAccessKey": 5})",
         "SecretAccessKey must be a non-empty string"},
        {R"({"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "proc-secret",
             "Expiration": "soon"})",
         "Expiration 'soon' is not an ISO 8601 timestamp"},
    };
    for (const auto& [output, expected] : cases) {
        CAPTURE(output);
        f.processes.expect({"creds"}, FakeProcessRunner::exited(0, output));
        const auto message = f.error();
        CHECK_THAT(message, Contains("profile 'default': credential_process (creds)"));
        CHECK_THAT(message, Contains(expected));
        CHECK_THAT(message, !Contains("proc-secret"));
    }
}

TEST_CASE("credential_process: a command that cannot be split or is empty") {
    Fixture f;
    f.home.config(
        "[profile q]\ncredential_process = creds 'open\n[profile e]\n"
        "credential_process = ''\n[profile blank]\ncredential_process =\n");
    CHECK(f.error(std::string("q")) ==
          "profile 'q': credential_process cannot be split into arguments: a single quote is not "
          "closed");
    CHECK(f.error(std::string("e")) == "profile 'e': credential_process is empty");
    CHECK(f.error(std::string("blank")) == "profile 'blank': credential_process is empty");
}
