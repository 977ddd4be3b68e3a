#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "aws/aws_error.hpp"
#include "cli/doctor_command.hpp"
#include "support/fake_credentials.hpp"
#include "support/fake_ecr.hpp"
#include "support/fake_sts.hpp"
#include "support/temp_dir.hpp"
#include "util/clock.hpp"

using namespace assetctl;

namespace {

// One image asset `img`; `options` are more members of its source (`, "platform": ...`).
manifest::Selection selection_of(const test::TempDir& dir, const std::string& destinations,
                                 const std::string& options = "") {
    dir.write("asset.img/Dockerfile", "FROM scratch\n");
    const auto file =
        dir.write("S.assets.json", R"({"version": "55.0.0", "dockerImages": {
        "img": {"source": {"directory": "asset.img")" +
                                       options + R"(}, "destinations": )" + destinations + "}}}");
    return manifest::select_assets(manifest::load_assembly(file), {});
}

struct Harness {
    test::FakeCredentialsProvider credentials;
    test::FakeStsApi sts;
    test::FakeEcr ecr;
    util::FixedClock clock{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};
    aws::AssumedRoleCache roles{sts, clock, "assetctl-test"};
    docker::EngineStatus engine{"docker", true, true, "20.10.24", ""};
    docker::EngineIdentity identity{docker::BuildBackend::builtin_buildkit, "docker", "20.10.24"};

    publish::PushMode push_mode = publish::PushMode::native;

// GCC 12 at -O2 reports a false maybe-uninitialized for Services::default_region when the
// aggregate below is destroyed (an optional moved into a nested designated initializer; GCC
// bug 105562 and relatives). The value is always initialized.
#pragma GCC diagnostic push
#if !defined(__clang__)  // clang has no such warning (and warns about the unknown option)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
    cli::DoctorReport run(std::optional<manifest::Selection> selection,
                          std::optional<std::string> region = "us-east-1") {
        cli::DoctorInputs inputs{.aws = {.credentials = credentials,
                                         .sts = sts,
                                         .ecr = ecr,
                                         .roles = roles,
                                         .default_region = std::move(region)},
                                 .engine = engine,
                                 .engine_identity = identity,
                                 .region_source = "AWS_REGION",
                                 .selection = std::move(selection),
                                 .push_mode = push_mode};
        return cli::run_doctor(inputs);
    }
#pragma GCC diagnostic pop
};

const std::string k_cdk_destination = R"({"d1": {
    "repositoryName": "cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}",
    "imageTag": "t",
    "assumeRoleArn": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/publish-${AWS::Region}"}})";

}  // namespace

TEST_CASE("doctor resolves placeholders from the caller's account and the default region") {
    Harness h;
    h.ecr.existing.insert({"us-east-1", "cdk-hnb659fds-container-assets-123456789012-us-east-1"});
    test::TempDir dir;
    const auto report = h.run(selection_of(dir, k_cdk_destination));
    CHECK(report.ok);
    const auto& destination = report.json.at("destinations").at(0);
    CHECK(destination.at("repository") == "cdk-hnb659fds-container-assets-123456789012-us-east-1");
    CHECK(destination.at("role") == "arn:aws:iam::123456789012:role/publish-us-east-1");
    CHECK(destination.at("login").at("registry") == "123456789012.dkr.ecr.us-east-1.amazonaws.com");
    REQUIRE(h.sts.calls().size() == 1);
    CHECK(h.sts.calls()[0].role_arn == "arn:aws:iam::123456789012:role/publish-us-east-1");
    CHECK(h.sts.calls()[0].session_name == "assetctl-test");
    CHECK(report.json.at("identity").at("account") == "123456789012");
}

TEST_CASE("a missing repository says the account may not be bootstrapped") {
    Harness h;
    test::TempDir dir;
    const auto report = h.run(selection_of(dir, k_cdk_destination));
    CHECK_FALSE(report.ok);
    const auto& check = report.json.at("destinations").at(0).at("repositoryCheck");
    CHECK(check.at("exists") == false);
    CHECK(check.at("error") ==
          "No ECR repository named 'cdk-hnb659fds-container-assets-123456789012-us-east-1' in "
          "account 123456789012 (us-east-1). Is this account bootstrapped? Run `cdk bootstrap "
          "aws://123456789012/us-east-1`.");
}

TEST_CASE("destinations sharing region, role and repository are checked once") {
    Harness h;
    test::TempDir dir;
    const auto report = h.run(selection_of(dir, R"({
        "a": {"repositoryName": "repo-r", "imageTag": "1", "region": "eu-west-1"},
        "b": {"repositoryName": "repo-r", "imageTag": "2", "region": "eu-west-1"},
        "c": {"repositoryName": "repo-r", "imageTag": "3", "region": "us-west-2"}})"));
    CHECK(report.json.at("destinations").size() == 2);
    CHECK(h.ecr.repository_lookups() ==
          std::vector<std::string>{"eu-west-1/repo-r", "us-west-2/repo-r"});
    CHECK(h.sts.calls().empty());  // no role: the caller's own credentials
}

TEST_CASE("a destination without any region is a failed check, not a crash") {
    Harness h;
    test::TempDir dir;
    const auto report = h.run(selection_of(dir, k_cdk_destination), std::nullopt);
    CHECK_FALSE(report.ok);
    CHECK_THAT(report.json.at("destinations").at(0).at("error").get<std::string>(),
               Catch::Contains("no region"));
}

TEST_CASE("a failed role assumption skips the destination's other checks") {
    Harness h;
    h.sts.fail_with("sts AssumeRole failed: AccessDenied: no (HTTP 403)");
    test::TempDir dir;
    const auto report = h.run(selection_of(dir, k_cdk_destination));
    CHECK_FALSE(report.ok);
    const auto& destination = report.json.at("destinations").at(0);
    CHECK_THAT(destination.at("assumeRole").at("error").get<std::string>(),
               Catch::Contains("AccessDenied"));
    CHECK_FALSE(destination.contains("repositoryCheck"));
    CHECK(h.ecr.repository_lookups().empty());
}

TEST_CASE("engine and login failures fail the report and print what to do") {
    Harness h;
    h.engine = {"podman", false, false, "", "'podman' cannot reach its daemon: x; start it"};
    h.ecr.refuse_login = true;
    h.ecr.existing.insert({"us-east-1", "cdk-hnb659fds-container-assets-123456789012-us-east-1"});
    test::TempDir dir;
    const auto report = h.run(selection_of(dir, k_cdk_destination));
    CHECK_FALSE(report.ok);
    CHECK(report.json.at("engine").at("ok") == false);
    CHECK(report.json.at("destinations").at(0).at("login").at("ok") == false);

    std::ostringstream text;
    cli::print_doctor(report, text);
    CHECK_THAT(text.str(), Catch::Contains("FAIL  container engine: 'podman' cannot reach"));
    CHECK_THAT(text.str(), Catch::Contains("FAIL    registry login: ecr GetAuthorizationToken "
                                           "failed: AccessDeniedException"));
    CHECK_THAT(text.str(), Catch::EndsWith("some checks failed\n"));
}

TEST_CASE("without an assembly only the local checks run") {
    Harness h;
    const auto report = h.run(std::nullopt);
    CHECK(report.ok);
    CHECK(report.json.at("destinations").empty());
    CHECK(report.json.at("credentials").at("source") == "environment");
}

TEST_CASE("doctor says how each image will be pushed, and why") {
    Harness h;
    h.ecr.existing.insert({"us-east-1", "cdk-hnb659fds-container-assets-123456789012-us-east-1"});
    test::TempDir dir;
    const auto native = h.run(selection_of(dir, k_cdk_destination));
    const auto& asset = native.json.at("assets").at(0);
    CHECK(asset.at("asset") == "img");
    CHECK(asset.at("source") == "docker build");
    CHECK(asset.at("pushMode") == "native");
    CHECK_THAT(asset.at("why").get<std::string>(), Catch::Contains("--push-mode native"));

    h.push_mode = publish::PushMode::docker;
    const auto docker = h.run(selection_of(dir, k_cdk_destination));
    CHECK(docker.json.at("assets").at(0).at("pushMode") == "docker");
    std::ostringstream text;
    cli::print_doctor(docker, text);
    CHECK_THAT(text.str(), Catch::Contains("push img: docker"));
}

TEST_CASE(
    "doctor lists the engine-dependent build options an asset uses, and fails on one the "
    "engine lacks") {
    Harness h;
    h.ecr.existing.insert({"us-east-1", "cdk-hnb659fds-container-assets-123456789012-us-east-1"});
    test::TempDir dir;

    SECTION("no such option: nothing to say") {
        const auto report = h.run(selection_of(dir, k_cdk_destination, R"(, "platform": "x")"));
        CHECK(report.ok);
        CHECK_FALSE(report.json.at("assets").at(0).contains("buildOptions"));
    }
    SECTION("docker 20.10: ssh yes, cacheTo no") {
        const auto report = h.run(selection_of(
            dir, k_cdk_destination,
            R"(, "dockerBuildSsh": "default", "cacheTo": {"type": "local", "params": {"dest": "c"}})"));
        CHECK_FALSE(report.ok);
        const auto& build = report.json.at("assets").at(0).at("buildOptions");
        CHECK(build.at("ok") == false);
        CHECK_THAT(build.at("engine").get<std::string>(), Catch::Contains("docker 20.10.24"));
        REQUIRE(build.at("options").size() == 2);
        CHECK(build.at("options").at(0).at("option") == "dockerBuildSsh");
        CHECK(build.at("options").at(0).at("supported") == true);
        CHECK(build.at("options").at(1).at("option") == "cacheTo");
        CHECK(build.at("options").at(1).at("flag") == "--cache-to type=local,dest=c");
        CHECK(build.at("options").at(1).at("supported") == false);
        CHECK_THAT(build.at("hint").get<std::string>(), Catch::Contains("buildx"));
        std::ostringstream text;
        cli::print_doctor(report, text);
        CHECK_THAT(text.str(), Catch::Contains("FAIL  build options of img: docker 20.10.24"));
        CHECK_THAT(text.str(), Catch::Contains("dockerBuildSsh yes, cacheTo NO (--cache-to"));
    }
    SECTION("buildx honours them all") {
        h.identity = {docker::BuildBackend::buildx, "docker", "27.3.1"};
        const auto report = h.run(selection_of(
            dir, k_cdk_destination, R"(, "cacheTo": {"type": "local", "params": {"dest": "c"}})"));
        CHECK(report.ok);
        CHECK(report.json.at("assets").at(0).at("buildOptions").at("ok") == true);
    }
}
