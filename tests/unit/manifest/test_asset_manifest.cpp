#include <catch2/catch.hpp>

#include "manifest/asset_manifest.hpp"
#include "support/temp_dir.hpp"
#include "util/files.hpp"

using namespace assetctl::manifest;
using assetctl::test::fixtures_dir;
using assetctl::test::TempDir;

namespace {

const DockerImageAsset& image(const AssetManifest& manifest, const std::string& id) {
    for (const auto& asset : manifest.docker_images) {
        if (asset.id == id) {
            return asset;
        }
    }
    FAIL("no docker image " << id);
    throw std::logic_error("unreachable");
}

const auto k_agnostic = [] { return fixtures_dir() / "cdk-app/cdk.out/AgnosticStack.assets.json"; };

}  // namespace

TEST_CASE("every DockerImageAsset option of a synthesized manifest is read") {
    const auto manifest = load_asset_manifest(k_agnostic());
    CHECK(manifest.version == "55.0.0");
    CHECK(manifest.origin.directory == k_agnostic().parent_path());
    CHECK(manifest.unknown_keys.empty());

    const auto& full = image(
        manifest, "full-options-5c38eb7818633957e775fad8a1680372651936287486dbbfdc7a65716ffc11ef");
    CHECK(full.display_name == "Full options image");
    const auto& s = full.source;
    CHECK(s.directory == "asset.5c38eb7818633957e775fad8a1680372651936287486dbbfdc7a65716ffc11ef");
    CHECK_FALSE(s.executable.has_value());
    CHECK(s.docker_file == "Dockerfile.full");
    CHECK(s.docker_build_target == "final");
    CHECK(s.docker_build_args ==
          KeyValues{{"GREETING", "hello"}, {"MOTTO", "build args may contain spaces"}});
    CHECK(s.docker_build_contexts == KeyValues{{"extra", "ctx-extra"}});
    // Manifest order is kept (FILE_SECRET before ENV_SECRET), not sorted.
    CHECK(s.docker_build_secrets ==
          KeyValues{{"FILE_SECRET", "src=secret.txt"}, {"ENV_SECRET", "env=MY_ENV_VAR"}});
    CHECK(s.docker_build_ssh == "default");
    CHECK(s.network_mode == "host");
    CHECK(s.platform == "linux/amd64");
    CHECK(s.docker_outputs == std::vector<std::string>{"type=docker"});
    REQUIRE(s.cache_from.size() == 2);
    CHECK(s.cache_from[0].type == "registry");
    CHECK(s.cache_from[0].params ==
          KeyValues{{"ref", "111111111111.dkr.ecr.us-east-1.amazonaws.com/build-cache:full"}});
    CHECK(s.cache_from[1].type == "local");
    CHECK(s.cache_from[1].params == KeyValues{{"src", "/tmp/assetctl-cache"}});
    REQUIRE(s.cache_to.has_value());
    CHECK(s.cache_to->type == "local");
    CHECK(s.cache_to->params == KeyValues{{"dest", "/tmp/assetctl-cache"}, {"mode", "max"}});
    CHECK(s.cache_disabled == true);

    REQUIRE(full.destinations.size() == 1);
    const auto& d = full.destinations[0];
    CHECK(d.id == "current_account-current_region-e21c06aa");
    CHECK(d.repository_name == "cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}");
    CHECK(d.image_tag == "5c38eb7818633957e775fad8a1680372651936287486dbbfdc7a65716ffc11ef");
    CHECK_FALSE(d.region.has_value());
    CHECK(d.assume_role_arn ==
          "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
          "cdk-hnb659fds-image-publishing-role-${AWS::AccountId}-${AWS::Region}");
}

TEST_CASE("a tarball asset is an executable source and file assets keep their packaging") {
    const auto manifest = load_asset_manifest(k_agnostic());
    const auto& tarball =
        image(manifest, "193618d10671523026b93c617346dac4b29d81725af8590faef7075e37d51a34");
    REQUIRE(tarball.source.executable.has_value());
    CHECK(tarball.source.executable->size() == 5);
    CHECK(tarball.source.executable->at(3) == "cdk-tarball-image-asset");
    CHECK_FALSE(tarball.source.directory.has_value());

    const auto eu = load_asset_manifest(fixtures_dir() / "cdk-app/cdk.out/EuWestStack.assets.json");
    bool saw_zip = false;
    for (const auto& file : eu.files) {
        if (file.source.packaging == FilePackaging::zip) {
            saw_zip = true;
            CHECK(file.destinations.at(0).bucket_name ==
                  "cdk-hnb659fds-assets-111111111111-eu-west-1");
            CHECK(file.destinations.at(0).region == "eu-west-1");
        }
    }
    CHECK(saw_zip);
}

TEST_CASE("destination AWS fields, optional source fields and unknown keys") {
    const std::string text = R"({
      "version": "21.0.0",
      "futureTopLevel": 1,
      "files": {
        "f1": {
          "source": {"executable": ["bash", "make-zip.sh"], "packaging": "zip"},
          "destinations": {"d": {"bucketName": "bucket-b", "objectKey": "k.zip",
                                 "assumeRoleExternalId": "ext"}}
        }
      },
      "dockerImages": {
        "img": {
          "source": {"executable": ["./build.sh", "--flag"], "newSourceKey": true},
          "destinations": {
            "dest-1": {
              "repositoryName": "repo", "imageTag": "tag", "region": "cn-north-1",
              "assumeRoleArn": "arn:aws-cn:iam::123456789012:role/r",
              "assumeRoleExternalId": "external-1",
              "assumeRoleAdditionalOptions": {"Tags": [{"Key": "team", "Value": "a"}],
                                              "TransitiveTagKeys": ["team"]},
              "newDestinationKey": "x"
            }
          }
        }
      }
    })";
    const auto manifest = parse_asset_manifest(text, {"m.assets.json", ".", "", ""});
    REQUIRE(manifest.docker_images.size() == 1);
    const auto& asset = manifest.docker_images[0];
    CHECK_FALSE(asset.display_name.has_value());
    CHECK(asset.source.executable == std::vector<std::string>{"./build.sh", "--flag"});
    CHECK_FALSE(asset.source.docker_file.has_value());
    CHECK_FALSE(asset.source.cache_disabled.has_value());
    CHECK(asset.source.docker_build_args.empty());
    const auto& d = asset.destinations.at(0);
    CHECK(d.region == "cn-north-1");
    CHECK(d.assume_role_external_id == "external-1");
    REQUIRE(d.assume_role_additional_options.has_value());
    CHECK((*d.assume_role_additional_options)["Tags"][0]["Key"] == "team");
    CHECK((*d.assume_role_additional_options)["TransitiveTagKeys"][0] == "team");

    const auto& file = manifest.files.at(0);
    CHECK(file.source.packaging == FilePackaging::zip);
    CHECK(file.source.executable == std::vector<std::string>{"bash", "make-zip.sh"});
    CHECK(file.destinations.at(0).assume_role_external_id == "ext");

    CHECK(manifest.unknown_keys ==
          std::vector<std::string>{"futureTopLevel", "dockerImages.img.source.newSourceKey",
                                   "dockerImages.img.destinations.dest-1.newDestinationKey"});
}

TEST_CASE("to_json writes the manifest's own field names back") {
    const auto manifest = load_asset_manifest(k_agnostic());
    const auto& full = image(
        manifest, "full-options-5c38eb7818633957e775fad8a1680372651936287486dbbfdc7a65716ffc11ef");
    const auto original = nlohmann::ordered_json::parse(assetctl::util::read_file(k_agnostic()));
    const auto& raw = original["dockerImages"][full.id];
    // Key order differs from CDK's; compare as unordered objects.
    const auto unordered = [](const nlohmann::ordered_json& j) {
        return nlohmann::json::parse(j.dump());
    };
    CHECK(unordered(to_json(full.source)) == unordered(raw["source"]));

    auto destination = raw["destinations"]["current_account-current_region-e21c06aa"];
    destination["id"] = "current_account-current_region-e21c06aa";
    CHECK(unordered(to_json(full.destinations[0])) == unordered(destination));
}

TEST_CASE("an empty manifest has no assets") {
    const auto manifest = parse_asset_manifest(R"({"version": "55.0.0"})", {"m.json", ".", "", ""});
    CHECK(manifest.docker_images.empty());
    CHECK(manifest.files.empty());
}

TEST_CASE("object options are in JavaScript's order, as cdk-assets passes them") {
    TempDir dir;
    const auto file = dir.write("S.assets.json", R"({"version": "55.0.0", "dockerImages": {"i": {
        "source": {"directory": "d", "dockerFile": "",
                   "dockerBuildArgs": {"Z": "z", "2": "b", "01": "x", "10": "c", "1": "a",
                                       "4294967295": "big", "A": "y"},
                   "dockerBuildSecrets": {"s": "env=S", "7": "env=SEVEN"},
                   "cacheFrom": [{"type": "registry", "params": {"ref": "r", "3": "x"}}]},
        "destinations": {}}}})");
    const auto manifest = load_asset_manifest(file);
    const auto& source = manifest.docker_images.at(0).source;
    // Array-index keys ascending first ("01" and 2^32-1 are not indexes), then as written.
    CHECK(source.docker_build_args == KeyValues{{"1", "a"},
                                                {"2", "b"},
                                                {"10", "c"},
                                                {"Z", "z"},
                                                {"01", "x"},
                                                {"4294967295", "big"},
                                                {"A", "y"}});
    CHECK(source.docker_build_secrets == KeyValues{{"7", "env=SEVEN"}, {"s", "env=S"}});
    CHECK(source.cache_from.at(0).params == KeyValues{{"3", "x"}, {"ref", "r"}});
    CHECK_FALSE(source.docker_file.has_value());  // "" is no dockerFile, as in cdk-assets
}
