#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "docker/build_arguments.hpp"
#include "docker/engine_client.hpp"
#include "docker/engine_features.hpp"
#include "support/fake_process.hpp"

using namespace assetctl;
using docker::BuildBackend;
using test::FakeProcessRunner;
using Argv = std::vector<std::string>;

namespace {

manifest::DockerImageSource directory_source() {
    manifest::DockerImageSource source;
    source.directory = "asset.abc";
    return source;
}

manifest::CacheOption registry_cache(const std::string& ref) {
    return {"registry", {{"ref", ref}}};
}

std::vector<std::string> unsupported_on(BuildBackend backend,
                                        const manifest::DockerImageSource& source) {
    return docker::unsupported_options(source, docker::build_features(backend));
}

}  // namespace

// The first lines of `--version` as the real engines print them (docker 20.10 and 28 and
// podman 4.3 from this machine; finch from its documentation).
TEST_CASE("the version line tells docker, podman and others apart") {
    auto old_docker = docker::parse_version_line("Docker version 20.10.24+dfsg1, build 297e128");
    CHECK(old_docker.name == "docker");
    CHECK(old_docker.version == "20.10.24+dfsg1");
    CHECK(old_docker.backend == BuildBackend::builtin_buildkit);

    auto new_docker = docker::parse_version_line("Docker version 28.2.2, build e6534b4\n");
    CHECK(new_docker.version == "28.2.2");
    CHECK(new_docker.backend == BuildBackend::legacy_builder);  // until buildx is found

    auto podman = docker::parse_version_line("podman version 4.3.1");
    CHECK(podman.name == "podman");
    CHECK(podman.version == "4.3.1");
    CHECK(podman.backend == BuildBackend::podman);

    auto finch = docker::parse_version_line("finch version v1.2.0");
    CHECK(finch.name == "finch");
    CHECK(finch.backend == BuildBackend::unknown);

    CHECK(docker::parse_version_line("").backend == BuildBackend::unknown);
    CHECK(docker::parse_version_line("something else").backend == BuildBackend::unknown);
}

TEST_CASE("identify_engine asks buildx only of a docker 23 or later") {
    FakeProcessRunner runner;
    runner.expect({"docker", "--version"},
                  FakeProcessRunner::exited(0, "Docker version 28.2.2, build e6534b4\n"));
    runner.expect({"docker", "buildx", "version"},
                  FakeProcessRunner::exited(0, "github.com/docker/buildx v0.24.0 d0e5e86\n"));
    CHECK(docker::identify_engine(runner, "docker").backend == BuildBackend::buildx);

    FakeProcessRunner without_buildx;
    without_buildx.expect({"docker", "--version"},
                          FakeProcessRunner::exited(0, "Docker version 28.2.2, build e6534b4\n"));
    without_buildx.expect(
        {"docker", "buildx", "version"},
        FakeProcessRunner::exited(1, "", "docker: unknown command: docker buildx\n"));
    CHECK(docker::identify_engine(without_buildx, "docker").backend ==
          BuildBackend::legacy_builder);

    FakeProcessRunner old;
    old.expect({"docker", "--version"},
               FakeProcessRunner::exited(0, "Docker version 20.10.24+dfsg1, build 297e128\n"));
    CHECK(docker::identify_engine(old, "docker").backend == BuildBackend::builtin_buildkit);
}

TEST_CASE("an engine that cannot say its version refuses nothing") {
    FakeProcessRunner runner;
    runner.expect_spawn_error({"nerdctl", "--version"}, "cannot start nerdctl");
    const auto identity = docker::identify_engine(runner, "nerdctl");
    CHECK(identity.backend == BuildBackend::unknown);
    auto source = directory_source();
    source.cache_to = manifest::CacheOption{"local", {{"dest", "/tmp/c"}}};
    source.docker_build_contexts = {{"lib", "../lib"}};
    CHECK(docker::unsupported_options(source, docker::build_features(identity.backend)).empty());
}

TEST_CASE("docker before 23 refuses what only buildx has and keeps the rest") {
    auto source = directory_source();
    source.docker_build_ssh = "default";
    source.docker_build_secrets = {{"TOKEN", "env=TOKEN"}};
    source.docker_outputs = {"type=local,dest=out", "type=tar,dest=out.tar"};
    source.cache_from = {registry_cache("repo:cache")};
    CHECK(unsupported_on(BuildBackend::builtin_buildkit, source).empty());

    source.docker_build_contexts = {{"lib", "../lib"}};
    source.docker_outputs.emplace_back("type=docker");
    source.cache_from.push_back({"local", {{"src", "/tmp/c"}}});
    source.cache_to = registry_cache("repo:cache");
    CHECK(unsupported_on(BuildBackend::builtin_buildkit, source) ==
          std::vector<std::string>{"dockerBuildContexts.lib (--build-context lib=../lib)",
                                   "dockerOutputs (--output=type=docker)",
                                   "cacheFrom (--cache-from type=local,src=/tmp/c)",
                                   "cacheTo (--cache-to type=registry,ref=repo:cache)"});
}

TEST_CASE("docker without buildx refuses every BuildKit option") {
    auto source = directory_source();
    source.docker_build_ssh = "default";
    source.docker_build_secrets = {{"TOKEN", "src=token.txt"}};
    source.docker_outputs = {"type=local,dest=out"};
    source.network_mode = "host";
    source.platform = "linux/amd64";
    CHECK(unsupported_on(BuildBackend::legacy_builder, source) ==
          std::vector<std::string>{"dockerBuildSecrets.TOKEN (--secret id=TOKEN,...)",
                                   "dockerBuildSsh (--ssh default)",
                                   "dockerOutputs (--output=type=local,dest=out)"});
}

TEST_CASE("podman takes build contexts and plain cache references") {
    auto source = directory_source();
    source.docker_build_contexts = {{"lib", "../lib"}};
    source.cache_from = {registry_cache("127.0.0.1:5000/cache")};
    source.cache_to = registry_cache("127.0.0.1:5000/cache");
    source.docker_outputs = {"type=tar,dest=out.tar"};
    CHECK(unsupported_on(BuildBackend::podman, source).empty());

    source.cache_to = manifest::CacheOption{"registry", {{"ref", "r"}, {"mode", "max"}}};
    source.docker_outputs = {"type=oci,dest=out.tar"};
    CHECK(unsupported_on(BuildBackend::podman, source) ==
          std::vector<std::string>{"dockerOutputs (--output=type=oci,dest=out.tar)",
                                   "cacheTo (--cache-to type=registry,ref=r,mode=max)"});
}

TEST_CASE("a cache reference names a tag or digest after its last slash") {
    CHECK(docker::names_tag_or_digest("repo:cache"));
    CHECK(docker::names_tag_or_digest("127.0.0.1:5000/cache/y:cache"));
    CHECK(docker::names_tag_or_digest("127.0.0.1:5000/cache/y@sha256:0123"));
    CHECK_FALSE(docker::names_tag_or_digest("127.0.0.1:5000/cache/y"));
    CHECK_FALSE(docker::names_tag_or_digest("repo"));
}

// podman 4.3.1 (buildah 1.28.2) on this machine refuses a tagged or digested cache reference
// while parsing its flags, before any step, as
//   $ podman build --cache-to 127.0.0.1:5000/cache/y:cache --tag x .
//   Error: unable to parse value provided `127.0.0.1:5000/cache/y:cache` to --cache-to:
//   repository must contain neither a tag nor digest: 127.0.0.1:5000/cache/y:cache   (exit 125)
// (the same for --cache-from and for `@sha256:...`); a bare repository works. So assetctl
// refuses it for that asset before the build, with what podman takes.
TEST_CASE("podman: a cache reference with a tag or digest is refused before the build") {
    auto source = directory_source();
    source.cache_from = {registry_cache("127.0.0.1:5000/cache/y:cache"),
                         registry_cache("127.0.0.1:5000/cache/y")};
    source.cache_to = registry_cache("127.0.0.1:5000/cache/y@sha256:0123");
    CHECK(unsupported_on(BuildBackend::podman, source) ==
          std::vector<std::string>{"cacheFrom (--cache-from 127.0.0.1:5000/cache/y:cache)",
                                   "cacheTo (--cache-to 127.0.0.1:5000/cache/y@sha256:0123)"});
    // docker before 23 takes `--cache-from repo:tag`: nothing changes there.
    source.cache_to.reset();
    CHECK(unsupported_on(BuildBackend::builtin_buildkit, source).empty());

    FakeProcessRunner runner;
    runner.expect({"podman", "--version"}, FakeProcessRunner::exited(0, "podman version 4.3.1\n"));
    docker::EngineClient client(runner, "podman");
    client.set_identity(docker::identify_engine(runner, "podman"));
    source.cache_from = {};
    source.cache_to = registry_cache("127.0.0.1:5000/cache/y:cache");
    try {
        client.build(source, "/work/cdk.out/asset.abc", "cdkasset-abc", {});
        FAIL("the build ran");
    } catch (const docker::EngineError& e) {
        CHECK(std::string(e.what()) ==
              "podman 4.3.1 cannot honour cacheTo (--cache-to 127.0.0.1:5000/cache/y:cache); "
              "podman takes only a plain registry reference (type=registry with just ref, a "
              "repository without tag or digest) for the cache options and local/tar outputs; "
              "use docker with buildx for the others");
    }
    CHECK(runner.commands().size() == 1);  // `--version` only: no build ran
}

TEST_CASE("buildx refuses nothing") {
    auto source = directory_source();
    source.docker_build_contexts = {{"lib", "../lib"}};
    source.cache_to = manifest::CacheOption{"gha", {}};
    source.docker_outputs = {"type=registry"};
    CHECK(unsupported_on(BuildBackend::buildx, source).empty());
}

TEST_CASE("a registry cache reference is bare for engines without the CSV form") {
    auto source = directory_source();
    source.cache_from = {registry_cache("repo:cache"), {"local", {{"src", "/c"}}}};
    source.cache_to = registry_cache("repo:cache");
    const auto csv = docker::build_arguments(source, "cdkasset-abc");
    CHECK(csv == Argv{"build", "--tag", "cdkasset-abc", "--cache-from",
                      "type=registry,ref=repo:cache", "--cache-from", "type=local,src=/c",
                      "--cache-to", "type=registry,ref=repo:cache", "."});
    const auto bare = docker::build_arguments(source, "cdkasset-abc",
                                              docker::build_features(BuildBackend::podman));
    CHECK(bare == Argv{"build", "--tag", "cdkasset-abc", "--cache-from", "repo:cache",
                       "--cache-from", "type=local,src=/c", "--cache-to", "repo:cache", "."});
}

TEST_CASE("a build the engine cannot honour fails before it starts, naming engine and options") {
    FakeProcessRunner runner;  // no command is expected: none may run
    docker::EngineClient client(runner, "docker");
    client.set_identity(docker::parse_version_line("Docker version 20.10.24+dfsg1, build 297e128"));
    auto source = directory_source();
    source.cache_to = registry_cache("repo:cache");
    try {
        client.build(source, "/work/cdk.out/asset.abc", "cdkasset-abc", {});
        FAIL("the build ran");
    } catch (const docker::EngineError& e) {
        CHECK(std::string(e.what()) ==
              "docker 20.10.24+dfsg1 (BuildKit built into dockerd, no buildx) cannot honour "
              "cacheTo (--cache-to type=registry,ref=repo:cache); install docker 23 or later "
              "with the buildx plugin (Debian/Ubuntu: docker-buildx), or drop the option from "
              "the asset");
    }
    CHECK(runner.commands().empty());
}

TEST_CASE("a build on docker before 23 passes a registry cache as the plain reference") {
    FakeProcessRunner runner;
    runner.expect({"docker", "build", "--tag", "cdkasset-abc", "--cache-from", "repo:cache", "."},
                  FakeProcessRunner::exited(0, ""));
    docker::EngineClient client(runner, "docker");
    client.set_identity(docker::parse_version_line("Docker version 20.10.24+dfsg1, build 297e128"));
    auto source = directory_source();
    source.cache_from = {registry_cache("repo:cache")};
    client.build(source, "/work/cdk.out/asset.abc", "cdkasset-abc", {});
    CHECK(runner.commands().size() == 1);
}

TEST_CASE("an output without type= is what docker makes of it: local, or tar for stdout") {
    auto source = directory_source();
    source.docker_outputs = {"dest=out", "out-folder", "dest=-"};
    CHECK(unsupported_on(BuildBackend::builtin_buildkit, source).empty());
    CHECK(unsupported_on(BuildBackend::podman, source).empty());
    source.docker_outputs = {"dest=x,type=oci"};
    CHECK(unsupported_on(BuildBackend::builtin_buildkit, source) ==
          std::vector<std::string>{"dockerOutputs (--output=dest=x,type=oci)"});
}
