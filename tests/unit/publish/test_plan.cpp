// The plan is pure: a selection in, targets, images, repositories and edges out. No fake
// service is involved; only the assembly is written to a temporary folder.
#include <algorithm>

#include <catch2/catch.hpp>

#include "manifest/assembly.hpp"
#include "publish/plan.hpp"
#include "support/temp_dir.hpp"

using namespace assetctl;
using publish::NodeKind;
using publish::SourceKind;

namespace {

const std::string k_repo = "cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}";

std::string destination(const std::string& region) {
    return R"({"repositoryName": ")" + k_repo + R"(", "imageTag": "t", "region": ")" + region +
           R"(", "assumeRoleArn": "arn:aws:iam::1:role/publish-)" + region + R"("})";
}

struct Assembly {
    test::TempDir dir;
    std::optional<manifest::Assembly> loaded;
    manifest::Selection selection;

    // {id: {"source": ..., "destinations": ...}} written as one asset manifest.
    explicit Assembly(const std::string& images_json) {
        dir.write("asset.a/Dockerfile", "FROM scratch\n");
        dir.write("asset.b/Dockerfile", "FROM scratch\n");
        dir.write("image.tar", "not read by the plan");
        const auto file = dir.write(
            "S.assets.json", R"({"version": "55.0.0", "dockerImages": )" + images_json + "}");
        loaded = manifest::load_assembly(file);
        selection = manifest::select_assets(*loaded, {});
    }
};

std::size_t count_of(const publish::Plan& plan, NodeKind kind) {
    return static_cast<std::size_t>(
        std::count_if(plan.nodes.begin(), plan.nodes.end(),
                      [kind](const publish::Node& node) { return node.kind == kind; }));
}

std::vector<NodeKind> kinds(const publish::Plan& plan) {
    std::vector<NodeKind> out;
    for (const auto& node : plan.nodes) {
        out.push_back(node.kind);
    }
    return out;
}

std::size_t index_of(const publish::Plan& plan, NodeKind kind, std::size_t subject) {
    for (std::size_t n = 0; n < plan.nodes.size(); ++n) {
        if (plan.nodes[n].kind == kind && plan.nodes[n].subject == subject) {
            return n;
        }
    }
    FAIL("no node " << publish::to_string(kind) << " " << subject);
    return 0;
}

}  // namespace

TEST_CASE("one image per asset, one push per destination, edges resolve->check->engine->produce") {
    Assembly a(R"({"a": {"source": {"directory": "asset.a"}, "destinations": {"us": )" +
               destination("us-east-1") + R"(, "eu": )" + destination("eu-west-1") + "}}}");
    const auto plan = publish::make_plan(a.selection, {.default_region = "us-east-1"});

    REQUIRE(plan.targets.size() == 2);
    REQUIRE(plan.images.size() == 1);
    CHECK(plan.images[0].kind == SourceKind::docker_build);
    CHECK(plan.images[0].targets == std::vector<std::size_t>{0, 1});
    CHECK(plan.repositories.size() == 2);  // two regions
    CHECK(kinds(plan) == std::vector<NodeKind>{NodeKind::resolve, NodeKind::resolve,
                                               NodeKind::check, NodeKind::check, NodeKind::engine,
                                               NodeKind::produce, NodeKind::push, NodeKind::push});
    const auto check_us = index_of(plan, NodeKind::check, 0);
    CHECK(plan.nodes[check_us].after == std::vector<std::size_t>{0, 1});  // every resolve
    const auto engine = index_of(plan, NodeKind::engine, 0);
    CHECK(plan.nodes[engine].after == std::vector<std::size_t>{2, 3});  // every check
    const auto produce = index_of(plan, NodeKind::produce, 0);
    CHECK(plan.nodes[produce].after == std::vector<std::size_t>{2, 3, engine});
    CHECK(plan.nodes[index_of(plan, NodeKind::push, 1)].after == std::vector<std::size_t>{produce});
    for (std::size_t n = 0; n < plan.nodes.size(); ++n) {
        for (const auto dependency : plan.nodes[n].after) {
            CHECK(dependency < n);
        }
    }
}

TEST_CASE("destinations naming the same repository, region and role share one check") {
    Assembly a(R"({"a": {"source": {"directory": "asset.a"}, "destinations": {"d": )" +
               destination("us-east-1") + R"(}}, "b": {"source": {"directory": "asset.b"},
                 "destinations": {"d": )" +
               destination("us-east-1") + "}}}");
    const auto plan = publish::make_plan(a.selection, {});
    CHECK(plan.images.size() == 2);
    REQUIRE(plan.repositories.size() == 1);
    CHECK(plan.repositories[0].targets == std::vector<std::size_t>{0, 1});
    CHECK(count_of(plan, NodeKind::check) == 1);
}

TEST_CASE("a destination without a region is grouped under the default region") {
    const std::string no_region = R"({"repositoryName": "repo-r", "imageTag": "t"})";
    const std::string explicit_region =
        R"({"repositoryName": "repo-r", "imageTag": "u", "region": "eu-west-1"})";
    Assembly a(R"({"a": {"source": {"directory": "asset.a"}, "destinations": {"x": )" + no_region +
               R"(, "y": )" + explicit_region + "}}}");
    CHECK(publish::make_plan(a.selection, {.default_region = "eu-west-1"}).repositories.size() ==
          1);
    CHECK(publish::make_plan(a.selection, {.default_region = "us-east-1"}).repositories.size() ==
          2);
}

TEST_CASE("an image archive needs no engine node when pushed natively") {
    Assembly a(R"({"t": {"source": {"directory": "image.tar"}, "destinations": {"d": )" +
               destination("us-east-1") + "}}}");
    const auto native = publish::make_plan(a.selection, {.native_archives = true});
    REQUIRE(native.images.size() == 1);
    CHECK(native.images[0].kind == SourceKind::archive);
    REQUIRE(native.images[0].archive);
    CHECK(native.images[0].archive->path.filename() == "image.tar");
    CHECK(kinds(native) == std::vector<NodeKind>{NodeKind::resolve, NodeKind::check,
                                                 NodeKind::produce, NodeKind::push});

    // --tarball-mode docker: a directory naming a tarball is handed to the engine as written.
    const auto engine = publish::make_plan(a.selection, {.native_archives = false});
    CHECK(engine.images[0].kind == SourceKind::docker_build);
    CHECK(count_of(engine, NodeKind::engine) == 1);
}

TEST_CASE("a build without AWS has only produce nodes (and the engine)") {
    Assembly a(R"({"a": {"source": {"directory": "asset.a"}, "destinations": {"d": )" +
               destination("us-east-1") + R"(}}, "x": {"source": {"executable": ["make-image"]},
                 "destinations": {"d": )" +
               destination("us-east-1") + "}}}");
    const auto plan =
        publish::make_plan(a.selection, {.mode = publish::Mode::build, .consult_aws = false});
    CHECK(kinds(plan) ==
          std::vector<NodeKind>{NodeKind::engine, NodeKind::produce, NodeKind::produce});
    CHECK(plan.images[1].kind == SourceKind::executable);
    CHECK(plan.nodes[1].after == std::vector<std::size_t>{0});
}

TEST_CASE("describe lists every node with what it waits for") {
    Assembly a(R"({"a": {"source": {"directory": "asset.a"}, "destinations": {"us": )" +
               destination("us-east-1") + "}}}");
    const auto lines = publish::describe(publish::make_plan(a.selection, {}));
    CHECK(lines == std::vector<std::string>{
                       "#0 resolve a:us",
                       "#1 check " + k_repo + " (1 tags) after #0",
                       "#2 engine container engine after #1",
                       "#3 produce a (docker build) after #1 #2",
                       "#4 push a:us after #3",
                   });
}

TEST_CASE("file assets: one package per asset, edges resolve_file->check_file->package->upload") {
    test::TempDir dir;
    dir.write("asset.f/index.js", "x");
    const std::string dest =
        R"({"bucketName": "bucket-b", "objectKey": "k.zip", "region": "us-east-1"})";
    const auto file = dir.write(
        "S.assets.json", R"({"version": "55.0.0", "files": {"f": {"source": {"path": "asset.f",
        "packaging": "zip"}, "destinations": {"one": )" +
                             dest + R"(, "two": )" + dest + "}}}}");
    const auto loaded = manifest::load_assembly(file);
    const auto selection = manifest::select_assets(loaded, {});

    const auto plan = publish::make_plan(selection, {.default_region = "us-east-1"});
    REQUIRE(plan.file_targets.size() == 2);
    REQUIRE(plan.files.size() == 1);
    CHECK(plan.files[0].targets == std::vector<std::size_t>{0, 1});
    CHECK(count_of(plan, NodeKind::resolve_file) == 2);
    CHECK(count_of(plan, NodeKind::check_file) == 2);
    CHECK(count_of(plan, NodeKind::package) == 1);
    CHECK(count_of(plan, NodeKind::upload) == 2);
    const auto package = index_of(plan, NodeKind::package, 0);
    CHECK(plan.nodes[package].after ==
          std::vector<std::size_t>{index_of(plan, NodeKind::check_file, 0),
                                   index_of(plan, NodeKind::check_file, 1)});
    CHECK(plan.nodes[index_of(plan, NodeKind::check_file, 1)].after ==
          std::vector<std::size_t>{index_of(plan, NodeKind::resolve_file, 1)});
    CHECK(plan.nodes[index_of(plan, NodeKind::upload, 1)].after ==
          std::vector<std::size_t>{package});
    CHECK(count_of(plan, NodeKind::engine) == 0);

    // Without AWS (build --force) only the package node is left; a build uploads nothing.
    const auto offline =
        publish::make_plan(selection, {.mode = publish::Mode::build, .consult_aws = false});
    CHECK(kinds(offline) == std::vector<NodeKind>{NodeKind::package});
    CHECK(publish::describe(offline).at(0) == "#0 package f (zip)");
}
