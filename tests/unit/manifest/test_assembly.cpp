#include <algorithm>

#include <catch2/catch.hpp>

#include "manifest/assembly.hpp"
#include "manifest/errors.hpp"
#include "support/temp_dir.hpp"

using namespace assetctl::manifest;
using assetctl::test::fixtures_dir;
using assetctl::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> stacks(const Assembly& assembly) {
    std::vector<std::string> out;
    for (const auto& manifest : assembly.manifests) {
        out.push_back(manifest.origin.stack);
    }
    return out;
}

const AssetManifest& by_stack(const Assembly& assembly, const std::string& stack) {
    for (const auto& manifest : assembly.manifests) {
        if (manifest.origin.stack == stack) {
            return manifest;
        }
    }
    FAIL("no manifest for stack " << stack);
    throw std::logic_error("unreachable");
}

const char* k_asset_manifest = R"({"version": "55.0.0"})";

}  // namespace

TEST_CASE("a cloud assembly with nested stages yields every asset manifest") {
    const fs::path root = fixtures_dir() / "cdk-app/cdk.out";
    const auto assembly = load_assembly(root);
    CHECK(assembly.root == root);
    // manifest.json order: the stage comes first, and its nested stage inside it.
    CHECK(stacks(assembly) == std::vector<std::string>{"ProdStage/InnerStage/WorkerStack",
                                                       "ProdStage/ServiceStack", "AgnosticStack",
                                                       "UsEastStack", "EuWestStack"});

    const auto& inner = by_stack(assembly, "ProdStage/InnerStage/WorkerStack");
    CHECK(inner.origin.artifact_id == "ProdStageInnerStageWorkerStack98D89609.assets");
    CHECK(inner.origin.directory == root / "assembly-ProdStage" / "assembly-ProdStage-InnerStage");
    // Nested manifests point back up to the assets in the top-level folder.
    REQUIRE(inner.docker_images.size() == 1);
    CHECK(inner.docker_images[0].source.directory->rfind("../../asset.", 0) == 0);

    const auto& agnostic = by_stack(assembly, "AgnosticStack");
    CHECK(agnostic.origin.artifact_id == "AgnosticStack.assets");
    CHECK(agnostic.origin.file == root / "AgnosticStack.assets.json");
    CHECK(agnostic.docker_images.size() == 3);
}

TEST_CASE("the same asset shared by two stacks appears in both manifests") {
    const auto assembly = load_assembly(fixtures_dir() / "cdk-app/cdk.out");
    const std::string shared = "3c8fa9173a089e79adc937908b2f3acc627f8f9df93db56ab7495f401fb399f8";
    std::vector<std::string> regions;
    for (const auto& manifest : assembly.manifests) {
        for (const auto& asset : manifest.docker_images) {
            if (asset.id == shared) {
                regions.push_back(asset.destinations.at(0).region.value_or("?"));
            }
        }
    }
    CHECK(regions == std::vector<std::string>{"us-east-1", "eu-west-1"});
}

TEST_CASE("manifest.json itself and a lone asset manifest are accepted as input") {
    const fs::path root = fixtures_dir() / "cdk-app/cdk.out";
    CHECK(load_assembly(root / "manifest.json").manifests.size() == 5);

    const auto single = load_assembly(root / "UsEastStack.assets.json");
    REQUIRE(single.manifests.size() == 1);
    CHECK(single.root == root);
    CHECK(single.manifests[0].origin.stack == "UsEastStack");
    CHECK(single.manifests[0].origin.artifact_id.empty());
}

TEST_CASE("a stage's assembly read on its own keeps the outermost assembly as its root") {
    // CDK Pipelines run `cdk-assets --path assembly-<Stage>/<Stack>.assets.json publish`; the
    // stage's manifests name their sources in the parent folder (`../asset.<hash>`).
    const fs::path root = fs::weakly_canonical(fixtures_dir() / "cdk-app/cdk.out");
    const fs::path stage = root / "assembly-ProdStage";
    const fs::path inner = stage / "assembly-ProdStage-InnerStage";
    CHECK(load_assembly(stage).root == root);
    CHECK(load_assembly(stage / "manifest.json").root == root);
    CHECK(load_assembly(inner).root == root);
    const auto single = load_assembly(inner / "ProdStageInnerStageWorkerStack98D89609.assets.json");
    CHECK(single.root == root);
    CHECK(single.manifests.size() == 1);
}

TEST_CASE("a folder is nested only when its parent's manifest.json lists it") {
    TempDir dir;
    dir.write("outer/manifest.json", R"({"version": "55.0.0", "artifacts": {
        "other": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "elsewhere"}}}})");
    dir.write("outer/inner/manifest.json", R"({"version": "55.0.0"})");
    dir.write("outer/inner/S.assets.json", k_asset_manifest);
    dir.write("manifest.json", "not json, e.g. some other tool's manifest");
    CHECK(load_assembly(dir.path() / "outer/inner").root == dir.path() / "outer/inner");
    CHECK(load_assembly(dir.path() / "outer/inner/S.assets.json").root ==
          dir.path() / "outer/inner");
}

TEST_CASE("asset manifests without a stack artifact are named after the artifact id") {
    TempDir dir;
    dir.write("cdk.out/manifest.json", R"({"version": "55.0.0", "artifacts": {
        "Lonely.assets": {"type": "cdk:asset-manifest", "properties": {"file": "L.assets.json"}},
        "Other": {"type": "cdk:some-future-type"}}})");
    dir.write("cdk.out/L.assets.json", k_asset_manifest);
    const auto assembly = load_assembly(dir.path() / "cdk.out");
    CHECK(stacks(assembly) == std::vector<std::string>{"Lonely"});
}

TEST_CASE("an assembly without artifacts is empty, not an error") {
    TempDir dir;
    dir.write("cdk.out/manifest.json", R"({"version": "55.0.0"})");
    CHECK(load_assembly(dir.path() / "cdk.out").manifests.empty());
}

TEST_CASE("bad cloud assemblies give a clear input error") {
    TempDir dir;
    const auto expect_error = [](const fs::path& input, const fs::path& file,
                                 const std::string& json_path, const std::string& detail) {
        try {
            load_assembly(input);
            FAIL("no error");
        } catch (const ManifestError& e) {
            CHECK(e.file() == file);
            CHECK(e.json_path() == json_path);
            CHECK_THAT(e.detail(), Catch::Contains(detail));
            CHECK(e.exit_code() == assetctl::util::ExitCode::input);
        }
    };

    SECTION("input does not exist") {
        expect_error(dir.path() / "cdk.out", dir.path() / "cdk.out", "", "no such file or folder");
    }
    SECTION("folder without manifest.json") {
        dir.mkdir("empty");
        expect_error(dir.path() / "empty", dir.path() / "empty" / "manifest.json", "",
                     "cannot read the cloud assembly manifest");
    }
    SECTION("malformed manifest.json") {
        dir.write("a/manifest.json", "{");
        expect_error(dir.path() / "a", dir.path() / "a/manifest.json", "", "malformed JSON");
    }
    SECTION("manifest.json from a newer CDK") {
        dir.write("a/manifest.json", R"({"version": "60.0.0"})");
        expect_error(dir.path() / "a", dir.path() / "a/manifest.json", "version",
                     "schema version 60.0.0 is newer");
    }
    SECTION("asset manifest artifact without a file") {
        dir.write("a/manifest.json", R"({"version": "55.0.0", "artifacts": {
            "S.assets": {"type": "cdk:asset-manifest", "properties": {}}}})");
        expect_error(dir.path() / "a", dir.path() / "a/manifest.json",
                     "artifacts[\"S.assets\"].properties.file", "required key is missing");
    }
    SECTION("asset manifest file missing") {
        dir.write("a/manifest.json", R"({"version": "55.0.0", "artifacts": {
            "S.assets": {"type": "cdk:asset-manifest", "properties": {"file": "S.assets.json"}}}})");
        expect_error(dir.path() / "a", dir.path() / "a/S.assets.json", "",
                     "cannot read the asset manifest");
    }
    SECTION("bad asset manifest inside a nested assembly names the nested file") {
        dir.write("a/manifest.json", R"({"version": "55.0.0", "artifacts": {
            "assembly-S": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "n"}}}})");
        dir.write("a/n/manifest.json", R"({"version": "55.0.0", "artifacts": {
            "X.assets": {"type": "cdk:asset-manifest", "properties": {"file": "X.assets.json"}}}})");
        dir.write("a/n/X.assets.json", R"({"version": "55.0.0", "dockerImages": {"i": 1}})");
        expect_error(dir.path() / "a", dir.path() / "a/n/X.assets.json", "dockerImages.i",
                     "expected an object, found a number (1)");
    }
    SECTION("nested assembly folder missing") {
        dir.write("a/manifest.json", R"({"version": "55.0.0", "artifacts": {
            "assembly-S": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "gone"}}}})");
        expect_error(dir.path() / "a", dir.path() / "a/manifest.json",
                     "artifacts.assembly-S.properties.directoryName", "is not a folder");
    }
    SECTION("nested assemblies that loop") {
        dir.write("a/manifest.json", R"({"version": "55.0.0", "artifacts": {
            "assembly-S": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "n"}}}})");
        dir.write("a/n/manifest.json", R"({"version": "55.0.0", "artifacts": {
            "assembly-Back": {"type": "cdk:cloud-assembly", "properties": {"directoryName": ".."}}}})");
        expect_error(dir.path() / "a", dir.path() / "a/n/manifest.json",
                     "artifacts.assembly-Back.properties.directoryName",
                     "nested cloud assemblies form a loop");
    }
    SECTION("an assembly that contains itself") {
        dir.write("a/manifest.json", R"({"version": "55.0.0", "artifacts": {
            "assembly-Self": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "."}}}})");
        expect_error(dir.path() / "a", dir.path() / "a/manifest.json",
                     "artifacts.assembly-Self.properties.directoryName",
                     "nested cloud assemblies form a loop");
    }
    SECTION("artifact without a type") {
        dir.write("a/manifest.json", R"({"version": "55.0.0", "artifacts": {"X": {}}})");
        expect_error(dir.path() / "a", dir.path() / "a/manifest.json", "artifacts.X.type",
                     "required key is missing");
    }
}

TEST_CASE("a nested assembly reached twice is read once") {
    TempDir dir;
    dir.write("a/manifest.json", R"({"version": "55.0.0", "artifacts": {
        "assembly-S": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "n"}},
        "assembly-T": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "./n"}}}})");
    dir.write("a/n/manifest.json", R"({"version": "55.0.0", "artifacts": {
        "X.assets": {"type": "cdk:asset-manifest", "properties": {"file": "X.assets.json"}}}})");
    dir.write("a/n/X.assets.json", k_asset_manifest);
    CHECK(load_assembly(dir.path() / "a").manifests.size() == 1);
}

namespace {

// A stack artifact whose metadata describes assets the legacy (CDK v1) way.
std::string legacy_stack(const std::vector<std::string>& asset_ids) {
    std::string entries;
    for (const auto& id : asset_ids) {
        entries += std::string(entries.empty() ? "" : ",") +
                   R"({"type": "aws:cdk:asset", "data": {"id": ")" + id +
                   R"(", "packaging": "container-image", "path": "asset.)" + id + R"("}})";
    }
    return R"({"type": "aws:cloudformation:stack", "metadata": {"/S": [)" + entries +
           R"(, {"type": "aws:cdk:logicalId", "data": "X"}]}})";
}

}  // namespace

TEST_CASE("a CDK v1 assembly (aws:cdk:asset metadata, no asset manifest) is an input error") {
    const fs::path root = fixtures_dir() / "cdk-v1-legacy/cdk.out";
    for (const auto& input : {root, root / "manifest.json"}) {
        INFO(input);
        try {
            load_assembly(input);
            FAIL("no error");
        } catch (const assetctl::util::Fatal& e) {
            CHECK(e.exit_code() == assetctl::util::ExitCode::input);
            CHECK_THAT(e.what(),
                       Catch::StartsWith(input.string() + " is a CDK v1 assembly (schema 17.0.0"));
            CHECK_THAT(e.what(), Catch::Contains("its 2 assets are described by aws:cdk:asset "
                                                 "metadata, which cdk-assets and assetctl do "
                                                 "not publish"));
            CHECK_THAT(e.hint(), Catch::Contains("@aws-cdk/core:newStyleStackSynthesis"));
        }
    }
}

TEST_CASE("legacy assets are counted once per id, nested assemblies included") {
    TempDir dir;
    dir.write("a/manifest.json", R"({"version": "21.0.0", "artifacts": {
        "S": )" + legacy_stack({"img1", "img2"}) +
                                     R"(,
        "assembly-N": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "n"}}}})");
    dir.write("a/n/manifest.json", R"({"version": "21.0.0", "artifacts": {
        "T": )" + legacy_stack({"img2", "img3"}) +
                                       "}}");
    CHECK_THROWS_WITH(load_assembly(dir.path() / "a"),
                      Catch::Contains("schema 21.0.0") && Catch::Contains("its 3 assets are"));
}

TEST_CASE("legacy assets beside asset manifests are counted, and the rest still loads") {
    TempDir dir;
    dir.write("a/manifest.json", R"({"version": "21.0.0", "artifacts": {
        "Old": )" + legacy_stack({"img1"}) +
                                     R"(,
        "New.assets": {"type": "cdk:asset-manifest", "properties": {"file": "New.assets.json"}}}})");
    dir.write("a/New.assets.json", k_asset_manifest);
    const auto assembly = load_assembly(dir.path() / "a");
    CHECK(stacks(assembly) == std::vector<std::string>{"New"});
    CHECK(assembly.legacy_assets == 1);
}

TEST_CASE("a CDK v2 assembly has no legacy assets") {
    CHECK(load_assembly(fixtures_dir() / "cdk-app/cdk.out").legacy_assets == 0);
    TempDir dir;
    // Stacks without assets in a v1 assembly: nothing to publish, and nothing wrong.
    dir.write("a/manifest.json", R"({"version": "17.0.0", "artifacts": {
        "S": {"type": "aws:cloudformation:stack", "metadata": {"/S": [
            {"type": "aws:cdk:logicalId", "data": "X"}]}}}})");
    const auto empty = load_assembly(dir.path() / "a");
    CHECK(empty.manifests.empty());
    CHECK(empty.legacy_assets == 0);
}
