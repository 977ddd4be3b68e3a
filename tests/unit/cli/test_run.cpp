#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli/run.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"

using namespace assetctl;
using test::fixtures_dir;
using util::ExitCode;

namespace {

struct Result {
    int code;
    std::string out;
    std::string err;
};

Result run_cli(std::vector<std::string> args) {
    args.insert(args.begin(), "assetctl");
    std::ostringstream out;
    std::ostringstream err;
    util::MapEnvironment env;
    const int code = cli::run(args, cli::Streams{out, err, false}, env);
    return {code, out.str(), err.str()};
}

const std::string k_fixture = (fixtures_dir() / "cdk-app/cdk.out").string();

}  // namespace

TEST_CASE("help and version exit 0 on stdout") {
    const auto help = run_cli({"--help"});
    CHECK(help.code == 0);
    CHECK_THAT(help.out, Catch::Contains("ls"));
    const auto version = run_cli({"--version"});
    CHECK(version.code == 0);
    CHECK_THAT(version.out, Catch::Contains("0."));
}

TEST_CASE("command-line mistakes are usage errors (exit 2)") {
    CHECK(run_cli({}).code == util::to_int(ExitCode::usage));
    CHECK(run_cli({"frobnicate"}).code == util::to_int(ExitCode::usage));
    const auto unknown = run_cli({"ls", "--no-such-flag"});
    CHECK(unknown.code == util::to_int(ExitCode::usage));
    CHECK_THAT(unknown.err, Catch::Contains("--no-such-flag"));
    CHECK(unknown.out.empty());
}

TEST_CASE("ls prints results on stdout and nothing else") {
    const auto result = run_cli({"ls", "-p", k_fixture});
    CHECK(result.code == 0);
    CHECK(result.err.empty());
    CHECK_THAT(result.out, Catch::Contains("8 docker image assets, 7 file assets in 5 manifests"));
}

TEST_CASE("ls --json is one JSON document, global flags may follow the command") {
    const auto result = run_cli({"ls", "--json", "-p", k_fixture, "SharedImage", "-q"});
    REQUIRE(result.code == 0);
    const auto json = nlohmann::json::parse(result.out);
    CHECK(json.at("assets").size() == 2);
}

TEST_CASE("input problems exit 3 with one error line and a hint") {
    const auto missing = run_cli({"ls", "-p", "/nonexistent/cdk.out"});
    CHECK(missing.code == util::to_int(ExitCode::input));
    CHECK(missing.out.empty());
    CHECK(missing.err ==
          "assetctl: error: /nonexistent/cdk.out: no such file or folder\n"
          "assetctl: hint: run `cdk synth` first, or point --path at a cloud assembly folder or "
          "an *.assets.json file\n");

    const auto empty = run_cli({"ls", "-p", k_fixture, "no-such-asset"});
    CHECK(empty.code == util::to_int(ExitCode::input));
    CHECK_THAT(empty.err, Catch::StartsWith("assetctl: error: selector 'no-such-asset' matches"));
}

TEST_CASE("build checks the selected sources: a missing Dockerfile is an input error") {
    test::TempDir dir;
    dir.write("cdk.out/manifest.json", R"({"version": "55.0.0", "artifacts": {
        "S.assets": {"type": "cdk:asset-manifest", "properties": {"file": "S.assets.json"}}}})");
    dir.write("cdk.out/S.assets.json", R"({"version": "55.0.0", "dockerImages": {"img": {
        "source": {"directory": "asset.img"},
        "destinations": {"d": {"repositoryName": "repo-r", "imageTag": "t"}}}}})");
    dir.mkdir("cdk.out/asset.img");
    const auto result = run_cli({"build", "-p", (dir.path() / "cdk.out").string()});
    CHECK(result.code == util::to_int(ExitCode::input));
    CHECK_THAT(result.err, Catch::Contains("S.assets.json: dockerImages.img.source.dockerFile: "
                                           "Dockerfile 'Dockerfile' (the default) not found"));
}
