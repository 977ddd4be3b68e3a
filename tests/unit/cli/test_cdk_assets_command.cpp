#include <sstream>

#include <catch2/catch.hpp>

#include "cli/cdk_assets_command.hpp"
#include "cli/run.hpp"
#include "manifest/assembly.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"
#include "util/version.hpp"

using namespace assetctl;
using cli::CdkAssetsCommand;
using test::fixtures_dir;

namespace {

struct Parsed {
    std::optional<cli::CdkAssetsArgs> args;
    int code;
    std::string out;
    std::string err;
};

Parsed parse(const std::vector<std::string>& args) {
    std::ostringstream out;
    std::ostringstream err;
    auto parsed = cli::parse_cdk_assets_arguments(args, out, err);
    return {std::move(parsed.args), parsed.exit_code, out.str(), err.str()};
}

cli::CdkAssetsArgs parsed_ok(const std::vector<std::string>& args) {
    auto parsed = parse(args);
    INFO(parsed.err);
    REQUIRE(parsed.args);
    return *parsed.args;
}

struct Result {
    int code;
    std::string out;
    std::string err;
};

Result run_cli(std::vector<std::string> args) {
    std::ostringstream out;
    std::ostringstream err;
    util::MapEnvironment env;
    const int code = cli::run(args, cli::Streams{out, err, false}, env);
    return {code, out.str(), err.str()};
}

// Two image assets (the first with two destinations) and one file asset, keys in an order no
// sorting gives.
constexpr const char* k_manifest = R"({
  "version": "48.0.0",
  "dockerImages": {
    "img2": {
      "source": {"directory": "asset.img2", "dockerFile": "Dockerfile"},
      "destinations": {
        "zz-us-east-1": {"repositoryName": "repo", "imageTag": "img2", "region": "us-east-1"},
        "aa-eu-west-1": {"repositoryName": "repo", "imageTag": "img2", "region": "eu-west-1"}
      }
    },
    "img1": {
      "displayName": "img2",
      "source": {"directory": "asset.img1"},
      "destinations": {"d1": {"repositoryName": "repo", "imageTag": "img1"}}
    }
  },
  "files": {
    "file1": {
      "source": {"path": "t\u00e9mplate.json", "packaging": "file"},
      "destinations": {"d1": {"bucketName": "bucket-b", "objectKey": "k/file1.json"}}
    }
  }
})";

manifest::Selection manifest_selection(const test::TempDir& dir) {
    const auto file = dir.write("Stack.assets.json", k_manifest);
    return manifest::select_assets(manifest::load_assembly(file), {});
}

std::vector<std::string> destinations_of(const manifest::Selection& selection) {
    std::vector<std::string> out;
    for (const auto& image : selection.docker_images) {
        for (const auto& destination : image.asset.destinations) {
            out.push_back(image.asset.id + ":" + destination.id);
        }
    }
    for (const auto& file : selection.files) {
        for (const auto& destination : file.asset.destinations) {
            out.push_back(file.asset.id + ":" + destination.id);
        }
    }
    return out;
}

std::vector<std::string> select(const std::vector<std::string>& texts) {
    test::TempDir dir;
    auto selection = manifest_selection(dir);
    std::vector<cli::DestinationPattern> patterns;
    for (const auto& text : texts) {
        patterns.push_back(cli::parse_destination_pattern(text));
    }
    cli::keep_matching(selection, patterns);
    return destinations_of(selection);
}

publish::Event event(publish::EventType type, std::string destination, std::string message) {
    publish::Event e;
    e.type = type;
    e.asset = "abc";
    e.destination = std::move(destination);
    e.message = std::move(message);
    return e;
}

}  // namespace

TEST_CASE("cdk-assets: ls and publish with the global options before or after the command") {
    const auto ls = parsed_ok({"ls"});
    CHECK(ls.command == CdkAssetsCommand::ls);
    CHECK(ls.path == ".");  // cdk-assets' default
    CHECK(ls.verbose == 0);
    CHECK_FALSE(ls.profile);

    const auto before = parsed_ok({"--path", "cdk.out/A.assets.json", "-v", "publish"});
    CHECK(before.command == CdkAssetsCommand::publish);
    CHECK(before.path == "cdk.out/A.assets.json");
    CHECK(before.verbose == 1);
    CHECK(before.assets.empty());

    // CDK Pipelines' form: cdk-assets --path X --verbose publish ID:DEST
    const auto pipelines =
        parsed_ok({"--path", "assembly-P/S.assets.json", "--verbose", "publish", "id:dest"});
    CHECK(pipelines.path == "assembly-P/S.assets.json");
    CHECK(pipelines.verbose == 1);
    CHECK(pipelines.assets == std::vector<std::string>{"id:dest"});

    const auto after = parsed_ok({"publish", "a", "-p", "m.json", "b:c", "--profile", "ci", "-vv"});
    CHECK(after.path == "m.json");
    CHECK(after.assets == std::vector<std::string>{"a", "b:c"});
    CHECK(after.profile == std::optional<std::string>("ci"));
    CHECK(after.verbose == 2);

    CHECK(parsed_ok({"--path=x.json", "ls"}).path == "x.json");
    CHECK(parsed_ok({"ls", "-v", "--verbose", "-v"}).verbose == 3);
    CHECK(parsed_ok({"--profile", "p", "publish"}).profile == std::optional<std::string>("p"));
}

TEST_CASE("cdk-assets: usage errors exit 1 with nothing on stdout; help and version exit 0") {
    for (const std::vector<std::string>& args : {std::vector<std::string>{},
                                                 {"bogus"},
                                                 {"ls", "extra"},
                                                 {"ls", "--profile", "p"},
                                                 {"--path"},
                                                 {"ls", "--no-such-flag"},
                                                 {"build"}}) {
        const auto parsed = parse(args);
        INFO(parsed.err);
        CHECK_FALSE(parsed.args);
        CHECK(parsed.code == 1);
        CHECK(parsed.out.empty());
        CHECK_FALSE(parsed.err.empty());
    }
    const auto help = parse({"publish", "--help"});
    CHECK_FALSE(help.args);
    CHECK(help.code == 0);
    CHECK_THAT(help.out, Catch::Contains("ASSET"));
    const auto version = parse({"ls", "--version"});
    CHECK(version.code == 0);
    CHECK(version.out == cli::cdk_assets_version() + "\n");
    CHECK(cli::cdk_assets_version() == "4.7.3+assetctl." + std::string(util::version()));
}

TEST_CASE("cdk-assets: started by that name or as `assetctl cdk-assets`") {
    for (const auto& program : {"cdk-assets", "/usr/local/bin/cdk-assets"}) {
        const auto result = run_cli({program, "--version"});
        CHECK(result.code == 0);
        CHECK(result.out == cli::cdk_assets_version() + "\n");
    }
    const auto sub = run_cli({"assetctl", "cdk-assets", "--version"});
    CHECK(sub.code == 0);
    CHECK(sub.out == cli::cdk_assets_version() + "\n");
    // assetctl's own command line is unchanged
    const auto own = run_cli({"assetctl", "--version"});
    CHECK(own.out == std::string(util::version()) + "\n");
    CHECK(run_cli({"assetctl", "bogus"}).code == util::to_int(util::ExitCode::usage));
    CHECK(run_cli({"cdk-assets", "bogus"}).code == 1);
}

TEST_CASE("cdk-assets: destination patterns as DestinationPattern.parse reads them") {
    const auto id = cli::parse_destination_pattern("abc");
    CHECK(id.asset == std::optional<std::string>("abc"));
    CHECK_FALSE(id.destination);
    const auto both = cli::parse_destination_pattern("abc:dest");
    CHECK(both.asset == std::optional<std::string>("abc"));
    CHECK(both.destination == std::optional<std::string>("dest"));
    const auto any_asset = cli::parse_destination_pattern("*:dest");
    CHECK_FALSE(any_asset.asset);
    CHECK(any_asset.destination == std::optional<std::string>("dest"));
    const auto empty_parts = cli::parse_destination_pattern(":");
    CHECK_FALSE(empty_parts.asset);
    CHECK_FALSE(empty_parts.destination);
    CHECK_FALSE(cli::parse_destination_pattern("abc:").destination);
    CHECK(cli::parse_destination_pattern("abc:*").asset == std::optional<std::string>("abc"));

    for (const auto* bad : {"", "a:b:c", "::"}) {
        try {
            cli::parse_destination_pattern(bad);
            FAIL("accepted '" << bad << "'");
        } catch (const util::Fatal& e) {
            CHECK(e.exit_code() == util::ExitCode::usage);
        }
    }
}

TEST_CASE("cdk-assets: selection matches ids exactly, never display names or globs") {
    CHECK(select({}) == std::vector<std::string>{});  // keep_matching with no pattern: nothing
    CHECK(select({"img2"}) == std::vector<std::string>{"img2:zz-us-east-1", "img2:aa-eu-west-1"});
    CHECK(select({"img2:aa-eu-west-1"}) == std::vector<std::string>{"img2:aa-eu-west-1"});
    CHECK(select({"*:d1"}) == std::vector<std::string>{"img1:d1", "file1:d1"});
    CHECK(select({"img*"}).empty());
    CHECK(select({"img2:nope", "nothing"}).empty());  // not an error, as in cdk-assets
    CHECK(select({"img1", "file1:d1"}) == std::vector<std::string>{"img1:d1", "file1:d1"});
}

TEST_CASE("cdk-assets: --path is a manifest file or a folder's assets.json") {
    test::TempDir dir;
    CHECK(cli::cdk_assets_manifest_file(dir.path()) == dir.path() / "assets.json");
    const auto file = dir.write("S.assets.json", k_manifest);
    CHECK(cli::cdk_assets_manifest_file(file) == file);
    CHECK(cli::cdk_assets_manifest_file(dir.path() / "missing.json") ==
          dir.path() / "missing.json");
    try {
        cli::cdk_assets_manifest_file(fixtures_dir() / "cdk-app/cdk.out/manifest.json");
        FAIL("a cloud assembly manifest was taken");
    } catch (const util::Fatal& e) {
        CHECK(e.exit_code() == util::ExitCode::input);
    }
}

TEST_CASE("cdk-assets: ls prints files first, then images, JSON in the file's key order") {
    test::TempDir dir;
    const auto file = dir.write("S.assets.json", k_manifest);
    std::ostringstream out;
    cli::print_cdk_assets_listing(file, out);
    CHECK(out.str() ==
          "file1 file {\"path\":\"t\u00e9mplate.json\",\"packaging\":\"file\"}\n"
          "  \u2514 file1:d1 {\"bucketName\":\"bucket-b\",\"objectKey\":\"k/file1.json\"}\n"
          "img2 docker-image {\"directory\":\"asset.img2\",\"dockerFile\":\"Dockerfile\"}\n"
          "  \u251c img2:zz-us-east-1 "
          "{\"repositoryName\":\"repo\",\"imageTag\":\"img2\",\"region\":\"us-east-1\"}\n"
          "  \u2514 img2:aa-eu-west-1 "
          "{\"repositoryName\":\"repo\",\"imageTag\":\"img2\",\"region\":\"eu-west-1\"}\n"
          "img1 docker-image {\"directory\":\"asset.img1\"}\n"
          "  \u2514 img1:d1 {\"repositoryName\":\"repo\",\"imageTag\":\"img1\"}\n");

    const auto empty = dir.write("E.assets.json", R"({"version": "48.0.0"})");
    std::ostringstream none;
    cli::print_cdk_assets_listing(empty, none);
    CHECK(none.str() == "\n");
}

TEST_CASE("cdk-assets: ls through the command line; a missing manifest exits 1") {
    test::TempDir dir;
    dir.write("assets.json", k_manifest);
    const auto listed = run_cli({"cdk-assets", "ls", "--path", dir.path().string()});
    CHECK(listed.code == 0);
    CHECK_THAT(listed.out, Catch::StartsWith("file1 file "));
    const auto missing = run_cli({"cdk-assets", "-p", (dir.path() / "nope").string(), "ls"});
    CHECK(missing.code == 1);
    CHECK(missing.out.empty());
    const auto no_default = run_cli({"cdk-assets", "-p", dir.path().string(), "publish", ""});
    CHECK(no_default.code == 1);
    const auto bad = dir.write("bad.assets.json", "{\"version\": \"48.0.0\", \"files\": 3}");
    CHECK(run_cli({"cdk-assets", "-p", bad.string(), "ls"}).code == 1);
}

TEST_CASE("cdk-assets: events print as `<level padded to 7>: [<pct>%] <event>: <message>`") {
    std::ostringstream err;
    cli::CdkAssetsEventSink sink(err, false);
    using publish::EventType;
    sink.emit(event(EventType::start, "d1", "starting"));
    sink.emit(event(EventType::start, "d2", "starting"));
    sink.emit(event(EventType::check, "d1", "checking repo:tag"));  // verbose: hidden
    sink.emit(event(EventType::success, "d1", "published uri"));
    auto failing = event(EventType::fail, "d2", "push failed");
    failing.details = {"last line"};
    sink.emit(failing);
    CHECK(err.str() ==
          "info   : [0%] start: Publishing abc:d1\n"
          "info   : [0%] start: Publishing abc:d2\n"
          "info   : [50%] success: Published abc:d1\n"
          "error  : [100%] fail: push failed\n"
          "error  :     | last line\n");
    CHECK(sink.failures() == std::vector<std::string>{"abc:d2: push failed"});

    std::ostringstream verbose_err;
    cli::CdkAssetsEventSink verbose(verbose_err, true);
    verbose.emit(event(EventType::start, "d1", "starting"));
    verbose.emit(event(EventType::check, "d1", "checking repo:tag"));
    verbose.emit(event(EventType::build, "", "building x"));
    verbose.emit(event(EventType::found, "d1", "found uri"));
    verbose.emit(event(EventType::success, "d1", "published"));
    CHECK(verbose_err.str() ==
          "info   : [0%] start: Publishing abc:d1\n"
          "verbose: [0%] check: [abc:d1] checking repo:tag\n"
          "verbose: [0%] build: [abc] building x\n"
          "verbose: [0%] found: [abc:d1] found uri\n"
          "info   : [100%] success: Published abc:d1\n");
}

TEST_CASE("cdk-assets: start and success name a target by its display name, as cdk-assets does") {
    test::TempDir dir;
    const auto selection = manifest_selection(dir);  // img1 is displayed as "img2"
    std::ostringstream err;
    cli::CdkAssetsEventSink sink(err, false);
    sink.name_assets(selection);
    using publish::EventType;
    auto named = event(EventType::start, "d1", "starting");
    named.asset = "img1";
    sink.emit(named);
    auto unnamed = event(EventType::start, "aa-eu-west-1", "starting");
    unnamed.asset = "img2";
    sink.emit(unnamed);
    named.type = EventType::success;
    sink.emit(named);
    CHECK(err.str() ==
          "info   : [0%] start: Publishing img2 (d1)\n"
          "info   : [0%] start: Publishing img2:aa-eu-west-1\n"
          "info   : [50%] success: Published img2 (d1)\n");
}
