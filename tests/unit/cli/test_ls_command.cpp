#include <sstream>

#include <catch2/catch.hpp>

#include "cli/ls_command.hpp"
#include "support/temp_dir.hpp"

using namespace assetctl;
using test::fixtures_dir;

namespace {

manifest::Selection fixture_selection(manifest::SelectionCriteria criteria = {}) {
    const auto assembly = manifest::load_assembly(fixtures_dir() / "cdk-app/cdk.out");
    return manifest::select_assets(assembly, criteria);
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
    cli::print_listing(fixture_selection({{}, {"UsEastStack"}}), out);
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
    const auto json = cli::listing_json(fixture_selection());
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
}
