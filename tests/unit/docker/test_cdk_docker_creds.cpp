// CDK Pipelines' docker credentials file: where it is, what is accepted and refused (errors name
// the file and the JSON path), how a server URL finds its domain, and the credHelpers entries
// and helper link the private DOCKER_CONFIG gets.
#include <filesystem>
#include <string>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "docker/cdk_docker_creds.hpp"
#include "docker/private_docker_config.hpp"
#include "support/temp_dir.hpp"
#include "util/files.hpp"

using namespace assetctl;
namespace fs = std::filesystem;

namespace {

const char* const k_file = "/c/creds.json";

docker::CdkDockerCreds parse(const std::string& text) {
    return docker::parse_cdk_docker_creds(text, k_file);
}

// The message of the CdkDockerCredsError that parsing `text` throws.
std::string error_of(const std::string& text) {
    try {
        parse(text);
    } catch (const docker::CdkDockerCredsError& e) {
        CHECK(e.exit_code() == util::ExitCode::input);
        return e.what();
    }
    FAIL("expected CdkDockerCredsError");
    return {};
}

const char* const k_two_domains = R"({
  "version": "1.0",
  "domainCredentials": {
    "index.docker.io": {"secretsManagerSecretId": "arn:aws:secretsmanager:us-east-1:1:secret:hub",
                        "secretsUsernameField": "user", "secretsPasswordField": "token",
                        "assumeRoleArn": "arn:aws:iam::1:role/reader"},
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com": {"ecrRepository": true},
    "127.0.0.1:5000": {"secretsManagerSecretId": "local", "futureField": 1}
  }
})";

}  // namespace

TEST_CASE("the creds file: its fields and cdk-assets' defaults") {
    const auto creds = parse(k_two_domains);
    CHECK(creds.file == k_file);
    CHECK(creds.version == "1.0");
    REQUIRE(creds.domains.size() == 3);
    const auto& hub = creds.domains[0];
    CHECK(hub.domain == "index.docker.io");
    CHECK(hub.secret_id ==
          std::optional<std::string>("arn:aws:secretsmanager:us-east-1:1:secret:hub"));
    CHECK(hub.username_field == "user");
    CHECK(hub.password_field == "token");
    CHECK(hub.assume_role_arn == std::optional<std::string>("arn:aws:iam::1:role/reader"));
    CHECK_FALSE(hub.ecr_repository);
    const auto& ecr = creds.domains[1];
    CHECK(ecr.ecr_repository);
    CHECK_FALSE(ecr.secret_id);
    CHECK_FALSE(ecr.assume_role_arn);
    const auto& local = creds.domains[2];
    CHECK(local.username_field == "username");
    CHECK(local.password_field == "secret");
}

TEST_CASE("a malformed creds file is refused naming the file and the JSON path") {
    CHECK(error_of("{") == std::string(k_file) + ": not valid JSON (at byte 2)");
    CHECK_THAT(error_of("[]"), Catch::StartsWith(std::string(k_file) + ": "));
    CHECK_THAT(error_of(R"({"version": "1.0"})"), Catch::Contains("domainCredentials"));
    CHECK_THAT(error_of(R"({"domainCredentials": {"r.io": "x"}})"),
               Catch::StartsWith(std::string(k_file) + ": domainCredentials[\"r.io\"]") ||
                   Catch::StartsWith(std::string(k_file) + ": domainCredentials.r.io"));
    CHECK_THAT(error_of(R"({"domainCredentials": {"r": {}}})"),
               Catch::Contains("neither secretsManagerSecretId nor \"ecrRepository\": true"));
    CHECK_THAT(error_of(R"({"domainCredentials": {"r": {"ecrRepository": false}}})"),
               Catch::Contains("neither secretsManagerSecretId"));
    CHECK_THAT(error_of(R"({"domainCredentials": {"r": {"secretsManagerSecretId": 3}}})"),
               Catch::Contains("secretsManagerSecretId"));
    CHECK_THAT(error_of(R"({"domainCredentials": {"r": {"secretsManagerSecretId": ""}}})"),
               Catch::Contains("secretsManagerSecretId"));
    CHECK_THAT(error_of(R"({"domainCredentials": {"r": {"ecrRepository": "yes"}}})"),
               Catch::Contains("ecrRepository"));
    CHECK_THAT(error_of(R"({"domainCredentials": {"": {"ecrRepository": true}}})"),
               Catch::Contains("an empty domain"));
}

TEST_CASE("the creds file's place: CDK_DOCKER_CREDS_FILE, else ~/.cdk") {
    CHECK(docker::cdk_docker_creds_path(util::MapEnvironment{{"CDK_DOCKER_CREDS_FILE", "/x.json"},
                                                             {"HOME", "/home/u"}}) == "/x.json");
    CHECK(docker::cdk_docker_creds_path(util::MapEnvironment{{"HOME", "/home/u"}}) ==
          "/home/u/.cdk/cdk-docker-creds.json");
    CHECK_FALSE(docker::cdk_docker_creds_path(util::MapEnvironment{}).empty());
}

TEST_CASE("loading: no file is no credentials; a broken one is an input error") {
    test::TempDir dir;
    const auto file = dir.path() / "creds.json";
    const util::MapEnvironment env{{"CDK_DOCKER_CREDS_FILE", file.string()}};
    CHECK_FALSE(docker::load_cdk_docker_creds(env));
    util::write_file_atomically(file, k_two_domains,
                                fs::perms::owner_read | fs::perms::owner_write);
    const auto creds = docker::load_cdk_docker_creds(env);
    REQUIRE(creds);
    CHECK(creds->domains.size() == 3);
    util::write_file_atomically(file, "{\"domainCredentials\": 1}", fs::perms::owner_read);
    CHECK_THROWS_AS(docker::load_cdk_docker_creds(env), docker::CdkDockerCredsError);
}

TEST_CASE("a server URL finds its domain by host[:port], scheme and path ignored") {
    const auto creds = parse(R"({"domainCredentials": {
        "index.docker.io": {"secretsManagerSecretId": "hub"},
        "127.0.0.1:5000": {"secretsManagerSecretId": "local"},
        "https://Registry.Example.com/v2/": {"secretsManagerSecretId": "example"},
        "10.0.0.1": {"secretsManagerSecretId": "bare"}}})");
    const auto id_for = [&](const std::string& server) -> std::string {
        const auto* found = docker::find_domain(creds, server);
        return found == nullptr ? "<none>" : *found->secret_id;
    };
    CHECK(id_for("https://index.docker.io/v1/") == "hub");
    CHECK(id_for("index.docker.io") == "hub");
    CHECK(id_for("127.0.0.1:5000\n") == "local");
    CHECK(id_for("https://127.0.0.1:5000") == "local");
    CHECK(id_for("registry.example.com") == "example");
    CHECK(id_for("10.0.0.1:8443") == "bare");  // cdk-assets matches the host name alone
    CHECK(id_for("127.0.0.1:5001") == "<none>");
    CHECK(id_for("127.0.0.1") == "<none>");
    CHECK(id_for("") == "<none>");
}

TEST_CASE("credHelpers keys: each domain as written and by host, Docker Hub by the CLI's key") {
    const auto creds = parse(R"({"domainCredentials": {
        "index.docker.io": {"secretsManagerSecretId": "hub"},
        "127.0.0.1:5000": {"ecrRepository": true},
        "https://Registry.Example.com:8443/v2/": {"secretsManagerSecretId": "x"},
        "https://index.docker.io/v1/": {"secretsManagerSecretId": "hub2"}}})");
    CHECK(docker::cred_helper_keys(creds) ==
          std::vector<std::string>{"index.docker.io", "https://index.docker.io/v1/",
                                   "127.0.0.1:5000", "https://Registry.Example.com:8443/v2/",
                                   "registry.example.com:8443"});
}

TEST_CASE("the private DOCKER_CONFIG gets credHelpers entries and a private helper link") {
    test::TempDir dir;
    const auto user = dir.path() / "user";
    fs::create_directories(user);
    util::write_file_atomically(
        user / "config.json",
        R"({"credHelpers": {"127.0.0.1:5000": "desktop", "other.io": "pass"}, "psFormat": "x"})",
        fs::perms::owner_read | fs::perms::owner_write);
    docker::PrivateDockerConfig config(user);
    const auto bin = config.add_credential_helper({"127.0.0.1:5000", "index.docker.io"},
                                                  docker::k_cred_helper_name, "/opt/assetctl");

    const auto written = nlohmann::json::parse(util::read_file(config.path() / "config.json"));
    CHECK(written["credHelpers"] == nlohmann::json({{"127.0.0.1:5000", "cdk-assets"},
                                                    {"other.io", "pass"},
                                                    {"index.docker.io", "cdk-assets"}}));
    CHECK(written["psFormat"] == "x");
    CHECK(bin == config.path() / "bin");
    const auto link = bin / "docker-credential-cdk-assets";
    CHECK(fs::is_symlink(link));
    CHECK(fs::read_symlink(link) == "/opt/assetctl");
    struct stat info {};
    REQUIRE(::stat(bin.c_str(), &info) == 0);
    CHECK((info.st_mode & 07777U) == 0700U);
    // The user's own file is untouched.
    CHECK(nlohmann::json::parse(util::read_file(user / "config.json"))["credHelpers"].size() == 2);
}
