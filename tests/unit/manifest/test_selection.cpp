#include <algorithm>

#include <catch2/catch.hpp>

#include "manifest/selection.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"

using namespace assetctl::manifest;
using assetctl::test::fixtures_dir;
using assetctl::util::ExitCode;
using assetctl::util::Fatal;

namespace {

const Assembly& fixture() {
    static const Assembly assembly = load_assembly(fixtures_dir() / "cdk-app/cdk.out");
    return assembly;
}

// "asset-id@destination-id" for every selected image destination, in order.
std::vector<std::string> picked(const Selection& selection) {
    std::vector<std::string> out;
    for (const auto& selected : selection.docker_images) {
        for (const auto& destination : selected.asset.destinations) {
            out.push_back(selected.asset.id.substr(0, 8) + "@" + destination.id);
        }
    }
    return out;
}

const std::string k_shared = "3c8fa9173a089e79adc937908b2f3acc627f8f9df93db56ab7495f401fb399f8";

}  // namespace

TEST_CASE("selectors parse as ASSET[:DEST] with empty or * parts as wildcards") {
    CHECK(parse_selector("abc").asset == "abc");
    CHECK(parse_selector("abc").destination == "*");
    CHECK(parse_selector("abc:").destination == "*");
    CHECK(parse_selector(":d1").asset == "*");
    CHECK(parse_selector(":d1").destination == "d1");
    CHECK(parse_selector("*:*").asset == "*");
    CHECK(parse_selector("a:b:c").destination == "b:c");
    CHECK(parse_selector("a:b").text == "a:b");
}

TEST_CASE("no criteria selects every asset and destination") {
    const auto selection = select_assets(fixture(), {});
    CHECK(selection.docker_images.size() == 8);
    CHECK(selection.files.size() == 7);
    CHECK(selection.docker_images[0].origin.stack == "ProdStage/InnerStage/WorkerStack");
    CHECK(selection.docker_images[0].manifest_index == 0);
}

TEST_CASE("an exact asset id selects it in every stack that has it") {
    const auto selection = select_assets(fixture(), {{k_shared}, {}});
    CHECK(picked(selection) ==
          std::vector<std::string>{"3c8fa917@111111111111-us-east-1-654a465d",
                                   "3c8fa917@111111111111-eu-west-1-dac94db4"});
    CHECK(selection.files.empty());
}

TEST_CASE("a destination part narrows to matching destinations") {
    const auto selection = select_assets(fixture(), {{k_shared + ":*eu-west-1*"}, {}});
    CHECK(picked(selection) ==
          std::vector<std::string>{"3c8fa917@111111111111-eu-west-1-dac94db4"});

    const auto by_destination = select_assets(fixture(), {{":*-us-east-1-*"}, {}});
    CHECK(picked(by_destination) ==
          std::vector<std::string>{"3c8fa917@111111111111-us-east-1-654a465d",
                                   "c8068171@111111111111-us-east-1-e5201024"});
}

TEST_CASE("globs and display names select assets") {
    CHECK(picked(select_assets(fixture(), {{"full-options-*"}, {}})).size() == 1);
    CHECK(picked(select_assets(fixture(), {{"SharedImage"}, {}})).size() == 2);
    CHECK(picked(select_assets(fixture(), {{"Staged*"}, {}})) ==
          std::vector<std::string>{"7d6e4efc@111111111111-eu-west-1-ca227e31"});
    // Display names select file assets too.
    const auto files = select_assets(fixture(), {{"Data file"}, {}});
    CHECK(files.docker_images.empty());
    CHECK(files.files.size() == 1);
}

TEST_CASE("several selectors select the union") {
    const auto selection = select_assets(fixture(), {{"InnerImage", "PlainImage"}, {}});
    CHECK(selection.docker_images.size() == 2);
}

TEST_CASE("stack patterns match display names (with stage paths) and artifact ids") {
    const auto prod = select_assets(fixture(), {{}, {"ProdStage/*"}});
    CHECK(prod.docker_images.size() == 2);
    CHECK(prod.files.size() == 2);

    const auto by_artifact = select_assets(fixture(), {{}, {"UsEastStack.assets"}});
    CHECK(by_artifact.docker_images.size() == 2);

    // Stack and selector combine as AND.
    const auto both = select_assets(fixture(), {{"SharedImage"}, {"EuWestStack"}});
    CHECK(picked(both) == std::vector<std::string>{"3c8fa917@111111111111-eu-west-1-dac94db4"});
}

TEST_CASE("a selector or stack pattern that matches nothing is an input error") {
    const auto expect = [](const SelectionCriteria& criteria, const std::string& message) {
        try {
            select_assets(fixture(), criteria);
            FAIL("no error");
        } catch (const Fatal& e) {
            CHECK(e.exit_code() == ExitCode::input);
            CHECK_THAT(e.what(), Catch::Contains(message));
            CHECK_THAT(e.hint(), Catch::Contains("assetctl ls"));
        }
    };
    expect({{"nope"}, {}}, "selector 'nope' matches no asset");
    // One good and one typo'd selector: the typo must not pass silently.
    expect({{"SharedImage", "SharedImgae"}, {}}, "selector 'SharedImgae' matches no asset");
    expect({{k_shared + ":no-such-destination"}, {}}, "matches no asset");
    expect({{}, {"Nope*"}}, "--stack 'Nope*' matches no stack");
    expect({{"InnerImage"}, {"UsEastStack"}}, "matches no asset in the selected stacks");
}

TEST_CASE("the --stack error lists the stacks there are") {
    try {
        select_assets(fixture(), {{}, {"x"}});
        FAIL("no error");
    } catch (const Fatal& e) {
        CHECK_THAT(e.what(), Catch::Contains("AgnosticStack") &&
                                 Catch::Contains("ProdStage/InnerStage/WorkerStack"));
    }
}

namespace {

// The hint of the input error select_assets raises for `criteria`.
std::string hint_of_failed_selection(const SelectionCriteria& criteria,
                                     const NamesExistingPath& names_existing_path = {}) {
    try {
        select_assets(fixture(), criteria, names_existing_path);
    } catch (const Fatal& e) {
        CHECK(e.exit_code() == ExitCode::input);
        return e.hint();
    }
    FAIL("no error");
    return {};
}

// As if these names, and only these, were files or folders on disk.
NamesExistingPath existing_paths(std::vector<std::string> paths) {
    return [paths = std::move(paths)](const std::string& text) {
        return std::find(paths.begin(), paths.end(), text) != paths.end();
    };
}

}  // namespace

TEST_CASE("a selector that matches no asset and names a file or folder hints --path") {
    const auto paths = existing_paths({"cdk.out.prod", "my dir/cdk.out", "SharedImage"});
    CHECK(hint_of_failed_selection({{"cdk.out.prod"}, {}}, paths) ==
          "did you mean --path cdk.out.prod? (positional arguments are ASSET[:DEST] selectors)");
    // Copied into a shell, the hint must work: quoted where the text needs it.
    CHECK_THAT(hint_of_failed_selection({{"my dir/cdk.out"}, {}}, paths),
               Catch::StartsWith("did you mean --path 'my dir/cdk.out'?"));
    // Of two selectors matching nothing, the one naming a path is the likely mistake.
    CHECK_THAT(hint_of_failed_selection({{"typo", "cdk.out.prod"}, {}}, paths),
               Catch::StartsWith("did you mean --path cdk.out.prod?"));
    // Not a path: the usual hint.
    CHECK_THAT(hint_of_failed_selection({{"typo"}, {}}, paths), Catch::Contains("assetctl ls"));
    // Without the test (pure callers), never.
    CHECK_THAT(hint_of_failed_selection({{"cdk.out.prod"}, {}}), Catch::Contains("assetctl ls"));
}

TEST_CASE("a selector that names a path but matches an asset selects it") {
    const auto selection =
        select_assets(fixture(), {{"SharedImage"}, {}}, existing_paths({"SharedImage"}));
    CHECK(selection.docker_images.size() == 2);
}
