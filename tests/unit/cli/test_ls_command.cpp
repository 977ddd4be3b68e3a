#include <sstream>

#include <catch2/catch.hpp>

#include "cli/ls_command.hpp"
#include "cli/run.hpp"
#include "support/temp_dir.hpp"
#include "util/environment.hpp"
#include "util/error.hpp"

using namespace assetctl;
using test::fixtures_dir;
using test::TempDir;
using util::ExitCode;
namespace fs = std::filesystem;

namespace {

manifest::Selection fixture_selection(manifest::SelectionCriteria criteria = {}) {
    const auto assembly = manifest::load_assembly(fixtures_dir() / "cdk-app/cdk.out");
    return manifest::select_assets(assembly, criteria);
}

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

// A cloud assembly copied without its asset folders but one: `img` and `data` are missing,
// `kept` is there.
fs::path incomplete_assembly(const TempDir& dir) {
    dir.write("cdk.out/manifest.json", R"({"version": "55.0.0", "artifacts": {
        "S.assets": {"type": "cdk:asset-manifest", "properties": {"file": "S.assets.json"}}}})");
    dir.write("cdk.out/S.assets.json", R"({"version": "55.0.0",
        "dockerImages": {
          "img": {"source": {"directory": "asset.img"}, "destinations": {"d": {
            "repositoryName": "repo", "imageTag": "img"}}},
          "kept": {"source": {"directory": "asset.kept"}, "destinations": {"d": {
            "repositoryName": "repo", "imageTag": "kept"}}}},
        "files": {
          "data": {"source": {"path": "asset.data.zip"}, "destinations": {"d": {
            "bucketName": "bucket-b", "objectKey": "data.zip"}}}}})");
    dir.write("cdk.out/asset.kept/Dockerfile", "FROM scratch\n");
    return dir.path() / "cdk.out";
}

}  // namespace

TEST_CASE("the source summary names every option that shapes the build") {
    const auto selection = fixture_selection({{"full-options-*"}, {}});
    REQUIRE(selection.docker_images.size() == 1);
    const auto summary = cli::source_summary(selection.docker_images[0].asset.source);
    CHECK(summary ==
          "build asset.5c38eb7818633957e775fad8a1680372651936287486dbbfdc7a65716ffc11ef "
          "(Dockerfile.full, target final, platform linux/amd64, network host, "
          "2 build args (GREETING, MOTTO), 2 secrets (FILE_SECRET, ENV_SECRET), ssh default, "
          "1 build context (extra), output type=docker, "
          "cache from registry,ref=111111111111.dkr.ecr.us-east-1.amazonaws.com/build-cache:full, "
          "cache from local,src=/tmp/assetctl-cache, "
          "cache to local,dest=/tmp/assetctl-cache,mode=max, no cache)");
}

TEST_CASE("tarballs, other executables and file assets are summarised") {
    manifest::DockerImageSource tarball;
    tarball.executable = {"sh", "-c", "docker load -i \"$1\" | tail -n 1",
                          "cdk-tarball-image-asset", "asset.t.tar"};
    CHECK(cli::source_summary(tarball) == "load tarball asset.t.tar");

    manifest::DockerImageSource script;
    script.executable = {"./build image.sh", "--tag"};
    CHECK(cli::source_summary(script) == "run './build image.sh' --tag");

    manifest::FileSource zip;
    zip.path = "asset.dir";
    zip.packaging = manifest::FilePackaging::zip;
    CHECK(cli::source_summary(zip) == "zip asset.dir");
}

TEST_CASE("the listing shows stacks, assets and a destination tree") {
    std::ostringstream out;
    cli::print_listing(cli::make_listing(fixture_selection({{}, {"UsEastStack"}})), out);
    const std::string text = out.str();
    CHECK_THAT(text, Catch::StartsWith("UsEastStack  ("));
    CHECK_THAT(text,
               Catch::Contains("  docker-image "
                               "3c8fa9173a089e79adc937908b2f3acc627f8f9df93db56ab7495f401fb399f8"
                               "  \"SharedImage\"\n"));
    CHECK_THAT(
        text, Catch::Contains("    └─ 111111111111-us-east-1-654a465d  "
                              "cdk-hnb659fds-container-assets-111111111111-us-east-1:"
                              "3c8fa9173a089e79adc937908b2f3acc627f8f9df93db56ab7495f401fb399f8  "
                              "region=us-east-1  role=arn:${AWS::Partition}:iam::111111111111:role/"
                              "cdk-hnb659fds-image-publishing-role-111111111111-us-east-1\n"));
    CHECK_THAT(text, Catch::EndsWith("2 docker image assets, 1 file asset in 1 manifest\n"));
}

TEST_CASE("the JSON listing carries the full source and destinations") {
    const auto json = cli::listing_json(cli::make_listing(fixture_selection()));
    const auto& assets = json.at("assets");
    REQUIRE(assets.size() == 15);
    const auto& first = assets.at(0);
    CHECK(first.at("type") == "docker-image");
    CHECK(first.at("stack") == "ProdStage/InnerStage/WorkerStack");
    CHECK(first.at("artifactId") == "ProdStageInnerStageWorkerStack98D89609.assets");
    CHECK(first.at("displayName") == "InnerImage");
    CHECK(first.at("source").at("directory").get<std::string>().rfind("../../asset.", 0) == 0);
    CHECK(first.at("destinations").at(0).at("region") == "eu-west-1");
    CHECK(assets.at(14).at("type") == "file");
    // The committed fixture is complete.
    for (const auto& asset : assets) {
        CHECK(asset.at("sourceMissing").is_null());
    }
}

TEST_CASE("ls lists assets whose sources are missing and marks each") {
    TempDir dir;
    const auto root = incomplete_assembly(dir);
    const auto listing =
        cli::make_listing(manifest::select_assets(manifest::load_assembly(root), {}));
    CHECK(listing.missing_count() == 2);

    std::ostringstream text;
    cli::print_listing(listing, text);
    CHECK_THAT(text.str(), Catch::Contains("  docker-image img\n    source: build asset.img "
                                           "(Dockerfile)  (missing: " +
                                           (root / "asset.img").string() + ")\n"));
    CHECK_THAT(text.str(), Catch::Contains("    source: build asset.kept (Dockerfile)\n"));
    CHECK_THAT(text.str(), Catch::Contains("    source: file asset.data.zip  (missing: " +
                                           (root / "asset.data.zip").string() + ")\n"));
    CHECK_THAT(text.str(), Catch::EndsWith("2 docker image assets, 1 file asset in 1 manifest, "
                                           "2 sources missing\n"));

    const auto json = cli::listing_json(listing);
    const auto& assets = json.at("assets");
    REQUIRE(assets.size() == 3);
    CHECK(assets.at(0).at("id") == "img");
    CHECK(assets.at(0).at("sourceMissing").at("path") == (root / "asset.img").string());
    CHECK(assets.at(0).at("sourceMissing").at("jsonPath") == "dockerImages.img.source.directory");
    CHECK(assets.at(1).at("id") == "kept");
    CHECK(assets.at(1).at("sourceMissing").is_null());
    CHECK(assets.at(2).at("sourceMissing").at("jsonPath") == "files.data.source.path");
    // The fields ls always had are unchanged.
    CHECK(assets.at(0).at("summary") == "build asset.img (Dockerfile)");
    CHECK(assets.at(0).at("destinations").size() == 1);
}

TEST_CASE("ls exits 0 on missing sources; build, publish and doctor refuse them") {
    TempDir dir;
    const auto root = incomplete_assembly(dir).string();
    const auto ls = run_cli({"ls", "--json", "--path", root});
    CHECK(ls.code == 0);
    CHECK(nlohmann::json::parse(ls.out).at("assets").size() == 3);

    for (const auto* command : {"build", "publish", "doctor"}) {
        INFO(command);
        const auto refused = run_cli({command, "--path", root});
        CHECK(refused.code == util::to_int(ExitCode::input));
        CHECK_THAT(refused.err, Catch::StartsWith("assetctl: error: "));
        CHECK(refused.out.empty());
    }
}

TEST_CASE("a positional argument naming a file or folder hints --path") {
    TempDir dir;
    const auto assembly = (fixtures_dir() / "cdk-app/cdk.out").string();
    const std::string hint = "assetctl: hint: did you mean --path " + assembly + "?";
    for (const auto* command : {"ls", "build", "publish", "doctor"}) {
        INFO(command);
        // The assembly given as a selector, beside a --path that works.
        const auto beside = run_cli({command, "--path", assembly, assembly});
        CHECK(beside.code == util::to_int(ExitCode::input));
        CHECK_THAT(beside.err, Catch::Contains("matches no asset") && Catch::Contains(hint));
        // ... and instead of a --path (here: one that does not exist).
        const auto instead =
            run_cli({command, "--path", (dir.path() / "cdk.out").string(), assembly});
        CHECK(instead.code == util::to_int(ExitCode::input));
        CHECK_THAT(instead.err, Catch::Contains("no such file or folder") && Catch::Contains(hint));
    }
    // A selector that is no path keeps the usual hint.
    const auto typo = run_cli({"ls", "--path", assembly, "NoSuchImage"});
    CHECK(typo.code == util::to_int(ExitCode::input));
    CHECK_THAT(typo.err, !Catch::Contains("did you mean"));
}

TEST_CASE("ls on a CDK v1 assembly says so and exits 3") {
    const auto result =
        run_cli({"ls", "--json", "--path", (fixtures_dir() / "cdk-v1-legacy/cdk.out").string()});
    CHECK(result.code == util::to_int(ExitCode::input));
    CHECK(result.out.empty());
    CHECK_THAT(result.err, Catch::Contains("is a CDK v1 assembly"));
}
