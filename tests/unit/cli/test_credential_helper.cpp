// docker-credential-cdk-assets: the credential helper protocol (stdin, stdout, exit codes) and
// where each login comes from (Secrets Manager, ECR, an assumed role), over fakes.
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli/credential_helper_command.hpp"
#include "support/fake_credentials.hpp"
#include "support/fake_ecr.hpp"
#include "support/fake_secrets_manager.hpp"
#include "support/fake_sleeper.hpp"
#include "support/fake_sts.hpp"
#include "support/temp_dir.hpp"
#include "util/clock.hpp"
#include "util/files.hpp"

using namespace assetctl;
namespace fs = std::filesystem;

namespace {

const char* const k_hub_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hub-AbC";

// The AWS side of the helper over fakes.
struct Harness {
    test::FakeCredentialsProvider credentials;
    test::FakeStsApi sts;
    util::FixedClock clock{std::chrono::sys_days{std::chrono::year{2026} / 12 / 3}};
    aws::AssumedRoleCache roles{sts, clock, "assetctl-test"};
    test::FakeSecretsManager secrets;
    test::FakeEcr ecr;
    test::FakeSleeper sleeper;
    cli::CredentialHelperAws aws{credentials, roles, secrets, ecr, std::string("us-west-2"),
                                 sleeper};
};

docker::DomainCredential secret_domain(std::string id) {
    docker::DomainCredential domain;
    domain.domain = "index.docker.io";
    domain.secret_id = std::move(id);
    return domain;
}

// One helper run: its exit code, stdout and stderr.
struct Answer {
    int code;
    std::string out;
    std::string err;
};

Answer run_helper(const std::vector<std::string>& args, const std::string& input,
                  const util::Environment& env, const cli::LoginFetcher& fetch) {
    std::istringstream in(input);
    std::ostringstream out;
    std::ostringstream err;
    const int code = cli::answer_credential_helper(args, in, out, err, env, fetch);
    return {code, out.str(), err.str()};
}

const char* const k_creds = R"({"version": "1.0", "domainCredentials": {
    "127.0.0.1:5000": {"secretsManagerSecretId": "local-login"},
    "index.docker.io": {"secretsManagerSecretId": "hub"}}})";

}  // namespace

TEST_CASE("a secret's JSON fields become the login, fetched in the ARN's region") {
    Harness h;
    h.secrets.secrets[k_hub_arn] = R"({"username": "hub-user", "secret": "hub-token", "x": 1})";
    const auto login = cli::fetch_docker_login(secret_domain(k_hub_arn), h.aws);
    CHECK(login.username == "hub-user");
    CHECK(login.secret == "hub-token");
    CHECK(h.secrets.calls() ==
          std::vector<std::string>{"eu-west-1 " + std::string(k_hub_arn) + " AKIDTEST"});
    CHECK(h.sts.calls().empty());
}

TEST_CASE("custom field names; a plain secret name goes to the default region") {
    Harness h;
    h.secrets.secrets["hub"] = R"({"user": "u", "token": "t"})";
    auto domain = secret_domain("hub");
    domain.username_field = "user";
    domain.password_field = "token";
    const auto login = cli::fetch_docker_login(domain, h.aws);
    CHECK(login.username == "u");
    CHECK(login.secret == "t");
    CHECK(h.secrets.calls() == std::vector<std::string>{"us-west-2 hub AKIDTEST"});
}

TEST_CASE("assumeRoleArn: the secret is read as that role") {
    Harness h;
    h.secrets.secrets["hub"] = R"({"username": "u", "secret": "t"})";
    auto domain = secret_domain("hub");
    domain.assume_role_arn = "arn:aws:iam::123456789012:role/secret-reader";
    cli::fetch_docker_login(domain, h.aws);
    REQUIRE(h.sts.calls().size() == 1);
    CHECK(h.sts.calls()[0].role_arn == "arn:aws:iam::123456789012:role/secret-reader");
    CHECK(h.sts.calls()[0].caller_access_key_id == "AKIDTEST");
    CHECK(h.secrets.calls() == std::vector<std::string>{"us-west-2 hub ASIA-STS-1"});
}

TEST_CASE("ecrRepository: an ECR token, in the region of the registry host") {
    Harness h;
    docker::DomainCredential domain;
    domain.domain = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";
    domain.ecr_repository = true;
    const auto login = cli::fetch_docker_login(domain, h.aws);
    CHECK(login.username == "AWS");
    CHECK(login.secret == "pw");
    CHECK(h.ecr.calls() == std::vector<std::string>{"GetAuthorizationToken eu-central-1"});

    domain.domain = "registry.example.com";
    cli::fetch_docker_login(domain, h.aws);
    CHECK(h.ecr.calls().back() == "GetAuthorizationToken us-west-2");
}

TEST_CASE("a secret that cannot be a login fails naming the field, never the value") {
    Harness h;
    h.secrets.secrets["no-secret-field"] = R"({"username": "u", "password": "hunter2"})";
    h.secrets.secrets["not-json"] = "hunter2";
    h.secrets.secrets["binary"] = std::nullopt;
    h.secrets.secrets["number"] = R"({"username": "u", "secret": 42})";
    h.secrets.denied = {"denied"};
    const auto failure = [&](const std::string& id) -> std::string {
        try {
            cli::fetch_docker_login(secret_domain(id), h.aws);
        } catch (const util::Fatal& e) {
            CHECK(e.exit_code() == util::ExitCode::assets_failed);
            return e.what();
        }
        FAIL("expected util::Fatal for " + id);
        return {};
    };
    CHECK_THAT(failure("no-secret-field"), Catch::Contains("\"secret\""));
    CHECK_THAT(failure("no-secret-field"), !Catch::Contains("hunter2"));
    CHECK_THAT(failure("not-json"), Catch::Contains("not a JSON object"));
    CHECK_THAT(failure("not-json"), !Catch::Contains("hunter2"));
    CHECK_THAT(failure("binary"), Catch::Contains("no SecretString"));
    CHECK_THAT(failure("number"), Catch::Contains("\"secret\""));
    CHECK_THAT(failure("denied"), Catch::Contains("AccessDeniedException"));
    CHECK_THAT(failure("denied"), Catch::Contains("index.docker.io"));
}

TEST_CASE("AccessDenied is retried 5 s apart, 12 attempts in all; other errors are not") {
    Harness h;
    h.secrets.secrets["new"] = R"({"username": "u", "secret": "t"})";
    h.secrets.access_denied_first["new"] = 2;
    CHECK(cli::fetch_docker_login(secret_domain("new"), h.aws).secret == "t");
    CHECK(h.sleeper.sleeps() == std::vector<std::chrono::milliseconds>(2, std::chrono::seconds(5)));
    CHECK(h.secrets.calls().size() == 3);

    h.secrets.access_denied_first["new"] = 100;
    CHECK_THROWS_AS(cli::fetch_docker_login(secret_domain("new"), h.aws), util::Fatal);
    CHECK(h.secrets.calls().size() == 3 + 12);
    CHECK(h.sleeper.sleeps().size() == 2 + 11);

    h.secrets.denied = {"denied"};
    CHECK_THROWS_AS(cli::fetch_docker_login(secret_domain("denied"), h.aws), util::Fatal);
    CHECK(h.sleeper.sleeps().size() == 2 + 11);  // AccessDeniedException: not retried
}

TEST_CASE("without a region for a plain secret name the helper says what to set") {
    Harness h;
    h.aws.default_region.reset();
    try {
        cli::fetch_docker_login(secret_domain("hub"), h.aws);
        FAIL("expected util::Fatal");
    } catch (const util::Fatal& e) {
        CHECK_THAT(e.what(), Catch::Contains("AWS_REGION"));
    }
    CHECK(h.secrets.calls().empty());
}

TEST_CASE("get: the server on stdin, {Username, Secret} on stdout, exit 0") {
    test::TempDir dir;
    const auto file = dir.path() / "creds.json";
    util::write_file_atomically(file, k_creds, fs::perms::owner_read);
    const util::MapEnvironment env{{"CDK_DOCKER_CREDS_FILE", file.string()}};
    std::vector<std::string> asked;
    const cli::LoginFetcher fetch = [&](const docker::DomainCredential& domain) {
        asked.push_back(*domain.secret_id);
        return cli::DockerLogin{"user \"1\"", "p@ss"};
    };
    const auto answer =
        run_helper({"docker-credential-cdk-assets", "get"}, "127.0.0.1:5000\n", env, fetch);
    CHECK(answer.code == 0);
    CHECK(nlohmann::json::parse(answer.out) ==
          nlohmann::json({{"Username", "user \"1\""}, {"Secret", "p@ss"}}));
    CHECK(answer.err.empty());
    CHECK(asked == std::vector<std::string>{"local-login"});
}

TEST_CASE("get for a server the file does not list: docker's not-found answer, exit 1") {
    test::TempDir dir;
    const auto file = dir.path() / "creds.json";
    util::write_file_atomically(file, k_creds, fs::perms::owner_read);
    const cli::LoginFetcher fetch = [](const docker::DomainCredential&) -> cli::DockerLogin {
        FAIL("no login may be fetched");
        return {};
    };
    for (const auto& env :
         {util::MapEnvironment{{"CDK_DOCKER_CREDS_FILE", file.string()}},
          util::MapEnvironment{{"CDK_DOCKER_CREDS_FILE", (dir.path() / "none.json").string()}}}) {
        const auto answer =
            run_helper({"docker-credential-cdk-assets", "get"}, "https://quay.io", env, fetch);
        CHECK(answer.code == 1);
        CHECK(answer.out == "credentials not found in native keychain\n");
    }
}

TEST_CASE("a failing fetch is one line on stdout (docker shows it) and stderr, exit 1") {
    test::TempDir dir;
    const auto file = dir.path() / "creds.json";
    util::write_file_atomically(file, k_creds, fs::perms::owner_read);
    const util::MapEnvironment env{{"CDK_DOCKER_CREDS_FILE", file.string()}};
    const cli::LoginFetcher fetch = [](const docker::DomainCredential&) -> cli::DockerLogin {
        throw util::Fatal(util::ExitCode::assets_failed, "secret hub: AccessDeniedException");
    };
    const auto answer =
        run_helper({"docker-credential-cdk-assets", "get"}, "index.docker.io", env, fetch);
    CHECK(answer.code == 1);
    CHECK(answer.out == "secret hub: AccessDeniedException\n");
    CHECK_THAT(answer.err, Catch::Contains("secret hub: AccessDeniedException"));

    util::write_file_atomically(file, "{", fs::perms::owner_read);
    const auto broken =
        run_helper({"docker-credential-cdk-assets", "get"}, "index.docker.io", env, fetch);
    CHECK(broken.code == 1);
    CHECK_THAT(broken.out, Catch::StartsWith(file.string() + ": not valid JSON"));
}

TEST_CASE("store and erase are accepted and ignored, list is empty, others are refused") {
    const util::MapEnvironment env;
    const cli::LoginFetcher fetch = [](const docker::DomainCredential&) -> cli::DockerLogin {
        FAIL("no login may be fetched");
        return {};
    };
    const auto store = run_helper({"docker-credential-cdk-assets", "store"},
                                  R"({"ServerURL":"x","Username":"u","Secret":"s"})", env, fetch);
    CHECK(store.code == 0);
    CHECK(store.out.empty());
    CHECK(run_helper({"docker-credential-cdk-assets", "erase"}, "x", env, fetch).code == 0);
    const auto list = run_helper({"docker-credential-cdk-assets", "list"}, "", env, fetch);
    CHECK(list.code == 0);
    CHECK(list.out == "{}\n");
    const auto other = run_helper({"docker-credential-cdk-assets", "delete"}, "", env, fetch);
    CHECK(other.code == 1);
    CHECK_THAT(other.out, Catch::Contains("unknown credential action"));
    CHECK(run_helper({"docker-credential-cdk-assets"}, "", env, fetch).code == 1);
}

TEST_CASE("the helper is recognised by argv[0]'s file name") {
    CHECK(cli::started_as_credential_helper("docker-credential-cdk-assets"));
    CHECK(cli::started_as_credential_helper("/tmp/x/bin/docker-credential-cdk-assets"));
    CHECK_FALSE(cli::started_as_credential_helper("assetctl"));
    CHECK_FALSE(cli::started_as_credential_helper("/usr/bin/docker-credential-cdk-assets-x"));
}

TEST_CASE("the helper link points at ASSETCTL_EXECUTABLE when set, else at /proc/self/exe") {
    // The self-contained tarball runs assetctl through its bundled loader, so /proc/self/exe
    // is the loader; its wrapper names itself in ASSETCTL_EXECUTABLE.
    const util::MapEnvironment wrapped{{"ASSETCTL_EXECUTABLE", "/opt/assetctl/bin/assetctl"}};
    CHECK(cli::assetctl_executable(wrapped) == fs::path("/opt/assetctl/bin/assetctl"));
    const util::MapEnvironment plain;
    CHECK(cli::assetctl_executable(plain) == fs::read_symlink("/proc/self/exe"));
    const util::MapEnvironment empty{{"ASSETCTL_EXECUTABLE", ""}};
    CHECK(cli::assetctl_executable(empty) == fs::read_symlink("/proc/self/exe"));
}
