#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "docker/build_arguments.hpp"
#include "manifest/asset_manifest.hpp"
#include "support/asset_named.hpp"
#include "support/temp_dir.hpp"

using namespace assetctl;
using Argv = std::vector<std::string>;

using assetctl::test::asset_named;

namespace {

manifest::DockerImageSource directory_source() {
    manifest::DockerImageSource source;
    source.directory = "asset.abc";
    return source;
}

}  // namespace

TEST_CASE("the local tag is cdkasset- and the asset id lowercased") {
    CHECK(docker::local_image_tag("AbC123def") == "cdkasset-abc123def");
    CHECK(docker::local_image_tag("full-options-5C38") == "cdkasset-full-options-5c38");
}

TEST_CASE("a plain directory source builds with only its tag and the context") {
    CHECK(docker::build_arguments(directory_source(), "cdkasset-x") ==
          Argv{"build", "--tag", "cdkasset-x", "."});
}

TEST_CASE("build args come first, one --build-arg each, in manifest order") {
    auto source = directory_source();
    source.docker_build_args = {{"ZED", "last letter"}, {"ALPHA", "a=b"}, {"EMPTY", ""}};
    CHECK(docker::build_arguments(source, "t") == Argv{"build", "--build-arg", "ZED=last letter",
                                                       "--build-arg", "ALPHA=a=b", "--build-arg",
                                                       "EMPTY=", "--tag", "t", "."});
}

TEST_CASE("build contexts become --build-context K=V") {
    auto source = directory_source();
    source.docker_build_contexts = {{"extra", "ctx-extra"}, {"base", "docker-image://alpine"}};
    CHECK(docker::build_arguments(source, "t") ==
          Argv{"build", "--build-context", "extra=ctx-extra", "--build-context",
               "base=docker-image://alpine", "--tag", "t", "."});
}

TEST_CASE("build secrets become --secret id=K,value with the value as written") {
    auto source = directory_source();
    source.docker_build_secrets = {{"FILE_SECRET", "src=secret.txt"}, {"ENV_SECRET", "env=MY_VAR"}};
    CHECK(docker::build_arguments(source, "t") ==
          Argv{"build", "--secret", "id=FILE_SECRET,src=secret.txt", "--secret",
               "id=ENV_SECRET,env=MY_VAR", "--tag", "t", "."});
}

TEST_CASE("ssh comes before the tag") {
    auto source = directory_source();
    source.docker_build_ssh = "default";
    CHECK(docker::build_arguments(source, "t") ==
          Argv{"build", "--ssh", "default", "--tag", "t", "."});
}

TEST_CASE("target, file, network and platform follow the tag, each on its own") {
    auto source = directory_source();
    SECTION("target") {
        source.docker_build_target = "final";
        CHECK(docker::build_arguments(source, "t") ==
              Argv{"build", "--tag", "t", "--target", "final", "."});
    }
    SECTION("file as written in the manifest") {
        source.docker_file = "sub/Dockerfile.alt";
        CHECK(docker::build_arguments(source, "t") ==
              Argv{"build", "--tag", "t", "--file", "sub/Dockerfile.alt", "."});
    }
    SECTION("network") {
        source.network_mode = "container:abc";
        CHECK(docker::build_arguments(source, "t") ==
              Argv{"build", "--tag", "t", "--network", "container:abc", "."});
    }
    SECTION("platform") {
        source.platform = "linux/arm64";
        CHECK(docker::build_arguments(source, "t") ==
              Argv{"build", "--tag", "t", "--platform", "linux/arm64", "."});
    }
}

TEST_CASE("target, file, network and platform keep their relative order") {
    auto source = directory_source();
    source.platform = "linux/amd64";
    source.network_mode = "host";
    source.docker_file = "Dockerfile.full";
    source.docker_build_target = "final";
    CHECK(docker::build_arguments(source, "t") == Argv{"build", "--tag", "t", "--target", "final",
                                                       "--file", "Dockerfile.full", "--network",
                                                       "host", "--platform", "linux/amd64", "."});
}

TEST_CASE("empty optional strings are left out as cdk-assets does") {
    auto source = directory_source();
    source.docker_build_ssh = "";
    source.docker_build_target = "";
    source.docker_file = "";
    source.network_mode = "";
    source.platform = "";
    CHECK(docker::build_arguments(source, "t") == Argv{"build", "--tag", "t", "."});
}

TEST_CASE("outputs use the single-argument --output=O form") {
    auto source = directory_source();
    source.docker_outputs = {"type=docker", "type=local,dest=out"};
    CHECK(docker::build_arguments(source, "t") ==
          Argv{"build", "--tag", "t", "--output=type=docker", "--output=type=local,dest=out", "."});
}

TEST_CASE("cache-from entries list type then params in manifest order") {
    auto source = directory_source();
    source.cache_from = {{"registry", {{"ref", "111.dkr.ecr.us-east-1.amazonaws.com/c:x"}}},
                         {"gha", {}},
                         {"local", {{"src", "/tmp/c"}, {"digest", "sha256:1"}}}};
    CHECK(docker::build_arguments(source, "t") ==
          Argv{"build", "--tag", "t", "--cache-from",
               "type=registry,ref=111.dkr.ecr.us-east-1.amazonaws.com/c:x", "--cache-from",
               "type=gha", "--cache-from", "type=local,src=/tmp/c,digest=sha256:1", "."});
}

TEST_CASE("cache-to is one --cache-to type=T,k=v") {
    auto source = directory_source();
    source.cache_to = manifest::CacheOption{"local", {{"dest", "/tmp/c"}, {"mode", "max"}}};
    CHECK(docker::build_arguments(source, "t") ==
          Argv{"build", "--tag", "t", "--cache-to", "type=local,dest=/tmp/c,mode=max", "."});
    source.cache_to = manifest::CacheOption{"inline", {}};
    CHECK(docker::build_arguments(source, "t") ==
          Argv{"build", "--tag", "t", "--cache-to", "type=inline", "."});
}

TEST_CASE("cacheDisabled true adds --no-cache, false or absent does not") {
    auto source = directory_source();
    CHECK(docker::build_arguments(source, "t") == Argv{"build", "--tag", "t", "."});
    source.cache_disabled = false;
    CHECK(docker::build_arguments(source, "t") == Argv{"build", "--tag", "t", "."});
    source.cache_disabled = true;
    CHECK(docker::build_arguments(source, "t") == Argv{"build", "--tag", "t", "--no-cache", "."});
}

TEST_CASE("every option together comes in cdk-assets' order") {
    auto source = directory_source();
    source.cache_disabled = true;
    source.cache_to = manifest::CacheOption{"inline", {}};
    source.cache_from = {{"gha", {}}};
    source.docker_outputs = {"type=docker"};
    source.platform = "linux/amd64";
    source.network_mode = "none";
    source.docker_file = "F";
    source.docker_build_target = "T";
    source.docker_build_ssh = "default";
    source.docker_build_secrets = {{"S", "env=V"}};
    source.docker_build_contexts = {{"C", "dir"}};
    source.docker_build_args = {{"A", "1"}};
    CHECK(docker::build_arguments(source, "tag") == Argv{"build",
                                                         "--build-arg",
                                                         "A=1",
                                                         "--build-context",
                                                         "C=dir",
                                                         "--secret",
                                                         "id=S,env=V",
                                                         "--ssh",
                                                         "default",
                                                         "--tag",
                                                         "tag",
                                                         "--target",
                                                         "T",
                                                         "--file",
                                                         "F",
                                                         "--network",
                                                         "none",
                                                         "--platform",
                                                         "linux/amd64",
                                                         "--output=type=docker",
                                                         "--cache-from",
                                                         "type=gha",
                                                         "--cache-to",
                                                         "type=inline",
                                                         "--no-cache",
                                                         "."});
}

TEST_CASE("the fixture's full-options asset builds with every option") {
    const auto manifest = manifest::load_asset_manifest(
        test::fixtures_dir() / "cdk-app/cdk.out/AgnosticStack.assets.json");
    const auto& asset = asset_named(manifest, "Full options image");
    const std::string tag =
        "cdkasset-full-options-5c38eb7818633957e775fad8a1680372651936287486dbbfdc7a65716ffc11ef";
    CHECK(docker::local_image_tag(asset.id) == tag);
    CHECK(docker::build_arguments(asset.source, tag) ==
          Argv{"build",
               "--build-arg",
               "GREETING=hello",
               "--build-arg",
               "MOTTO=build args may contain spaces",
               "--build-context",
               "extra=ctx-extra",
               "--secret",
               "id=FILE_SECRET,src=secret.txt",
               "--secret",
               "id=ENV_SECRET,env=MY_ENV_VAR",
               "--ssh",
               "default",
               "--tag",
               tag,
               "--target",
               "final",
               "--file",
               "Dockerfile.full",
               "--network",
               "host",
               "--platform",
               "linux/amd64",
               "--output=type=docker",
               "--cache-from",
               "type=registry,ref=111111111111.dkr.ecr.us-east-1.amazonaws.com/build-cache:full",
               "--cache-from",
               "type=local,src=/tmp/assetctl-cache",
               "--cache-to",
               "type=local,dest=/tmp/assetctl-cache,mode=max",
               "--no-cache",
               "."});

    const auto& plain = asset_named(manifest, "PlainImage");
    CHECK(docker::build_arguments(plain.source, docker::local_image_tag(plain.id)) ==
          Argv{"build", "--tag",
               "cdkasset-7c2835f35f02bf8330f5934cf7b674b067a448f04a272ddf765f93bdb45f9fe8", "."});
}

TEST_CASE("logged build commands show build-arg names, never their values or secret specs") {
    const std::vector<std::string> argv = {"docker",
                                           "build",
                                           "--build-arg",
                                           "NPM_TOKEN=npm_s3cr3t value",
                                           "--build-arg",
                                           "PLAIN",
                                           "--secret",
                                           "id=token,env=MY_TOKEN",
                                           "--tag",
                                           "cdkasset-abc",
                                           "."};
    const auto line = docker::redacted_command_line(argv);
    CHECK(line ==
          "docker build --build-arg 'NPM_TOKEN=<redacted>' --build-arg PLAIN --secret '<redacted>' "
          "--tag cdkasset-abc .");
    CHECK(line.find("s3cr3t") == std::string::npos);
    CHECK(line.find("MY_TOKEN") == std::string::npos);
    // A trailing flag without a value is shown as it is.
    CHECK(docker::redacted_command_line({"docker", "build", "--build-arg"}) ==
          "docker build --build-arg");
}
