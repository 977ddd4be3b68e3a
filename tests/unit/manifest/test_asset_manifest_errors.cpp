// Every kind of bad asset manifest gives one ManifestError naming the file, the JSON path and
// what was expected, with the `input` exit code.
#include <catch2/catch.hpp>

#include "manifest/asset_manifest.hpp"
#include "manifest/errors.hpp"
#include "support/temp_dir.hpp"

using namespace assetctl::manifest;
using assetctl::test::TempDir;
using assetctl::util::ExitCode;

namespace {

struct BadCase {
    const char* name;
    const char* text;
    const char* json_path;
    const char* detail;  // a substring of the detail
};

// A valid image asset with one field replaced by the placeholder @.
std::string image_with_source(const std::string& source) {
    return R"({"version": "55.0.0", "dockerImages": {"abc": {"source": )" + source +
           R"(, "destinations": {"d1": {"repositoryName": "repo-r", "imageTag": "t"}}}}})";
}

std::string image_with_destination(const std::string& destination) {
    return R"({"version": "55.0.0", "dockerImages": {"abc": {"source": {"directory": "x"},
             "destinations": {"d1": )" +
           destination + "}}}}";
}

}  // namespace

TEST_CASE("bad asset manifests name file, JSON path and expectation") {
    const std::vector<std::pair<BadCase, std::string>> cases = {
        {{"malformed JSON", "", "", "malformed JSON: parse error at line 1, column 22"},
         R"({"version": "55.0.0",,})"},
        {{"top level not an object", "", "", "expected an object, found an array"}, "[]"},
        {{"missing version", "", "version", "required key is missing"}, R"({"files": {}})"},
        {{"version wrong type", "", "version", "expected a string, found a number (55)"},
         R"({"version": 55})"},
        {{"version malformed", "", "version", "expected a version like \"55.0.0\""},
         R"({"version": "fifty"})"},
        {{"newer schema major", "", "version",
          "schema version 56.0.0 is newer than this assetctl understands (55.x)"},
         R"({"version": "56.0.0"})"},
        {{"dockerImages not an object", "", "dockerImages", "expected an object, found an array"},
         R"({"version": "55.0.0", "dockerImages": []})"},
        {{"missing source", "", "dockerImages.abc.source", "required key is missing"},
         R"({"version": "55.0.0", "dockerImages": {"abc": {"destinations": {}}}})"},
        {{"missing destinations", "", "dockerImages.abc.destinations", "required key is missing"},
         R"({"version": "55.0.0", "dockerImages": {"abc": {"source": {"directory": "x"}}}})"},
        {{"both directory and executable", "", "dockerImages.abc.source",
          "expected exactly one of 'directory' or 'executable', found both"},
         image_with_source(R"({"directory": "x", "executable": ["a"]})")},
        {{"neither directory nor executable", "", "dockerImages.abc.source",
          "expected exactly one of 'directory' or 'executable', found neither"},
         image_with_source(R"({"dockerFile": "Dockerfile"})")},
        {{"empty executable", "", "dockerImages.abc.source.executable",
          "expected a non-empty array"},
         image_with_source(R"({"executable": []})")},
        {{"executable element wrong type", "", "dockerImages.abc.source.executable[1]",
          "expected a string, found a number (3)"},
         image_with_source(R"({"executable": ["a", 3]})")},
        {{"dockerFile wrong type", "", "dockerImages.abc.source.dockerFile",
          "expected a string, found a number (42)"},
         image_with_source(R"({"directory": "x", "dockerFile": 42})")},
        {{"empty directory", "", "dockerImages.abc.source.directory",
          "expected a non-empty string"},
         image_with_source(R"({"directory": ""})")},
        {{"build arg value wrong type", "", "dockerImages.abc.source.dockerBuildArgs.A",
          "expected a string, found a boolean (true)"},
         image_with_source(R"({"directory": "x", "dockerBuildArgs": {"A": true}})")},
        {{"build secrets not an object", "", "dockerImages.abc.source.dockerBuildSecrets",
          "expected an object of strings, found a string"},
         image_with_source(R"({"directory": "x", "dockerBuildSecrets": "src=x"})")},
        {{"outputs not an array", "", "dockerImages.abc.source.dockerOutputs",
          "expected an array of strings"},
         image_with_source(R"({"directory": "x", "dockerOutputs": "type=docker"})")},
        {{"cacheFrom not an array", "", "dockerImages.abc.source.cacheFrom",
          "expected an array of {type, params} objects, found an object"},
         image_with_source(R"({"directory": "x", "cacheFrom": {"type": "gha"}})")},
        {{"cacheFrom entry without type", "", "dockerImages.abc.source.cacheFrom[0].type",
          "required key is missing"},
         image_with_source(R"({"directory": "x", "cacheFrom": [{"params": {}}]})")},
        {{"cacheTo param wrong type", "", "dockerImages.abc.source.cacheTo.params.mode",
          "expected a string, found a number (1)"},
         image_with_source(
             R"({"directory": "x", "cacheTo": {"type": "local", "params": {"mode": 1}}})")},
        {{"cacheDisabled wrong type", "", "dockerImages.abc.source.cacheDisabled",
          "expected a boolean, found a string"},
         image_with_source(R"({"directory": "x", "cacheDisabled": "yes"})")},
        {{"missing repositoryName", "", "dockerImages.abc.destinations.d1.repositoryName",
          "required key is missing"},
         image_with_destination(R"({"imageTag": "t"})")},
        {{"imageTag wrong type", "", "dockerImages.abc.destinations.d1.imageTag",
          "expected a string, found null"},
         image_with_destination(R"({"repositoryName": "repo-r", "imageTag": null})")},
        {{"destination not an object", "", "dockerImages.abc.destinations.d1",
          "expected an object, found a string"},
         image_with_destination(R"("r:t")")},
        {{"additional options not an object", "",
          "dockerImages.abc.destinations.d1.assumeRoleAdditionalOptions",
          "expected an object of STS AssumeRole parameters"},
         image_with_destination(
             R"({"repositoryName": "repo-r", "imageTag": "t", "assumeRoleAdditionalOptions": []})")},
        {{"additional options carry RoleArn", "",
          "dockerImages.abc.destinations.d1.assumeRoleAdditionalOptions.RoleArn",
          "must not be set here; use the destination's assumeRoleArn instead"},
         image_with_destination(R"({"repositoryName": "repo-r", "imageTag": "t",
             "assumeRoleAdditionalOptions": {"RoleArn": "arn:aws:iam::1:role/x"}})")},
        {{"additional options carry ExternalId", "",
          "dockerImages.abc.destinations.d1.assumeRoleAdditionalOptions.ExternalId",
          "use the destination's assumeRoleExternalId instead"},
         image_with_destination(R"({"repositoryName": "repo-r", "imageTag": "t",
             "assumeRoleAdditionalOptions": {"ExternalId": "x"}})")},
        {{"file asset without path or executable", "", "files.f.source",
          "expected exactly one of 'path' or 'executable', found neither"},
         R"({"version": "55.0.0", "files": {"f": {"source": {}, "destinations": {}}}})"},
        {{"file packaging unknown", "", "files.f.source.packaging",
          "expected \"file\" or \"zip\", found \"tar\""},
         R"({"version": "55.0.0", "files": {"f": {"source": {"path": "p", "packaging": "tar"},
            "destinations": {}}}})"},
        {{"file destination missing bucket", "", "files.f.destinations.d.bucketName",
          "required key is missing"},
         R"({"version": "55.0.0", "files": {"f": {"source": {"path": "p"},
            "destinations": {"d": {"objectKey": "k"}}}}})"},
        {{"repository name with upper case and a space", "",
          "dockerImages.abc.destinations.d1.repositoryName",
          "\"UPPER case!\": an ECR repository name has only lower-case letters, digits and . _ "
          "- /, not 'U'"},
         image_with_destination(R"({"repositoryName": "UPPER case!", "imageTag": "t"})")},
        {{"repository name with an empty part", "",
          "dockerImages.abc.destinations.d1.repositoryName",
          "each /-separated part of an ECR repository name starts and ends with a letter"},
         image_with_destination(R"({"repositoryName": "team//app", "imageTag": "t"})")},
        {{"tag with a space", "", "dockerImages.abc.destinations.d1.imageTag",
          "\"has space\": an image tag is [A-Za-z0-9_][A-Za-z0-9_.-]*; ' ' is not allowed"},
         image_with_destination(R"({"repositoryName": "repo-r", "imageTag": "has space"})")},
        {{"tag with a NUL, shown escaped", "", "dockerImages.abc.destinations.d1.imageTag",
          "\"a\\u0000b\": an image tag is [A-Za-z0-9_][A-Za-z0-9_.-]*; control character 0x00"},
         image_with_destination(R"({"repositoryName": "repo-r", "imageTag": "a\u0000b"})")},
        {{"tag starting with a dot", "", "dockerImages.abc.destinations.d1.imageTag",
          "'.' cannot start it"},
         image_with_destination(R"({"repositoryName": "repo-r", "imageTag": ".hidden"})")},
        {{"tag of 129 characters", "", "dockerImages.abc.destinations.d1.imageTag",
          "an image tag has 1 to 128 characters, this one 129"},
         image_with_destination(R"({"repositoryName": "repo-r", "imageTag": ")" +
                                std::string(129, 'a') + R"("})")},
        {{"bucket name with upper case", "", "files.f.destinations.d.bucketName",
          "an S3 bucket name has only lower-case letters, digits, . and -, not 'M'"},
         R"({"version": "55.0.0", "files": {"f": {"source": {"path": "p"},
            "destinations": {"d": {"bucketName": "My-Bucket", "objectKey": "k"}}}}})"},
        {{"object key with a newline", "", "files.f.destinations.d.objectKey",
          "an S3 object key has no control characters, this one has control character 0x0a"},
         R"({"version": "55.0.0", "files": {"f": {"source": {"path": "p"},
            "destinations": {"d": {"bucketName": "bucket-b", "objectKey": "a\nb"}}}}})"},
        {{"odd asset id quoted in path", "", "dockerImages[\"a.b\"].source",
          "required key is missing"},
         R"({"version": "55.0.0", "dockerImages": {"a.b": {"destinations": {}}}})"},
    };

    TempDir dir;
    for (const auto& [expected, text] : cases) {
        SECTION(expected.name) {
            const auto file = dir.write("Stack.assets.json", text);
            try {
                load_asset_manifest(file);
                FAIL("no error for: " << expected.name);
            } catch (const ManifestError& e) {
                CHECK(e.file() == file);
                CHECK(e.json_path() == expected.json_path);
                CHECK_THAT(e.detail(), Catch::Contains(expected.detail));
                CHECK(e.exit_code() == ExitCode::input);
                // The rendered line is `<file>: <path>: <detail>` on one line.
                const std::string line = e.what();
                CHECK(line.rfind(file.string() + ": ", 0) == 0);
                CHECK(line.find('\n') == std::string::npos);
            }
        }
    }
}

TEST_CASE("a newer schema tells the user what to do") {
    try {
        parse_asset_manifest(R"({"version": "99.1.0"})", {"x.assets.json", ".", "", ""});
        FAIL("expected ManifestError");
    } catch (const ManifestError& e) {
        CHECK_THAT(e.detail(), Catch::Contains("99.1.0") && Catch::Contains("55.x"));
        CHECK_THAT(e.hint(), Catch::Contains("upgrade assetctl"));
    }
}

TEST_CASE("older schema versions and prereleases are accepted") {
    for (const char* version : {"1.0.0", "21.0.0", "36.0.0", "55.0.0", "55.1.2", "55.0.0-rc.1"}) {
        CAPTURE(version);
        const std::string text = std::string(R"({"version": ")") + version + R"("})";
        CHECK_NOTHROW(parse_asset_manifest(text, {"x.assets.json", ".", "", ""}));
    }
}

TEST_CASE("an unreadable manifest names the file") {
    TempDir dir;
    try {
        load_asset_manifest(dir.path() / "Missing.assets.json");
        FAIL("expected ManifestError");
    } catch (const ManifestError& e) {
        CHECK_THAT(e.detail(), Catch::Contains("cannot read the asset manifest") &&
                                   Catch::Contains("No such file or directory"));
        CHECK(e.exit_code() == ExitCode::input);
    }
}

TEST_CASE("placeholders stand for valid values until they are resolved") {
    TempDir dir;
    const auto file = dir.write("Stack.assets.json", R"({"version": "55.0.0",
        "dockerImages": {"i": {"source": {"directory": "x"}, "destinations": {"d": {
            "repositoryName": "cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}",
            "imageTag": "v1.2_3-${AWS::Region}"}}}},
        "files": {"f": {"source": {"path": "p"}, "destinations": {"d": {
            "bucketName": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}",
            "objectKey": "${AWS::Partition}/k.zip"}}}}})");
    const auto manifest = load_asset_manifest(file);
    CHECK(manifest.docker_images.size() == 1);
    CHECK(manifest.files.size() == 1);
}
