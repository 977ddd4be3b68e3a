#include <catch2/catch.hpp>

#include "docker/engine.hpp"
#include "support/fake_process.hpp"

using namespace assetctl;

namespace {

const std::vector<std::string> k_version_argv = {"docker", "version", "--format",
                                                 "{{.Server.Version}}"};

process::Result exited(int code, std::string out, std::string err = {}) {
    process::Result result;
    result.exit_code = code;
    result.out = std::move(out);
    result.err = std::move(err);
    return result;
}

}  // namespace

TEST_CASE("the engine is --docker, else CDK_DOCKER, else docker") {
    util::MapEnvironment env;
    CHECK(docker::engine_executable(std::nullopt, env) == "docker");
    env.set("CDK_DOCKER", "podman");
    CHECK(docker::engine_executable(std::nullopt, env) == "podman");
    CHECK(docker::engine_executable("/opt/finch", env) == "/opt/finch");
    env.set("CDK_DOCKER", "");
    CHECK(docker::engine_executable(std::nullopt, env) == "docker");
}

TEST_CASE("a running daemon reports its server version") {
    test::FakeProcessRunner runner;
    runner.expect(k_version_argv, exited(0, "20.10.24+dfsg1\n"));
    const auto status = docker::probe_engine(runner, "docker");
    CHECK(status.found);
    CHECK(status.running);
    CHECK(status.version == "20.10.24+dfsg1");
    CHECK(status.problem.empty());
    CHECK(runner.commands().at(0).timeout.count() > 0);
}

TEST_CASE("a client without its daemon says how to fix it") {
    test::FakeProcessRunner runner;
    runner.expect(k_version_argv,
                  exited(1, "\n",
                         "Client: ...\nCannot connect to the Docker daemon at "
                         "unix:///var/run/docker.sock. Is the docker daemon running?\n"));
    const auto status = docker::probe_engine(runner, "docker");
    CHECK(status.found);
    CHECK_FALSE(status.running);
    CHECK(status.problem ==
          "'docker' cannot reach its daemon: Cannot connect to the Docker daemon at "
          "unix:///var/run/docker.sock. Is the docker daemon running?; start the daemon "
          "(dockerd) or check DOCKER_HOST");
}

TEST_CASE("a missing executable names it and the settings to change") {
    test::FakeProcessRunner runner;
    runner.expect_spawn_error({"nerdctl", "version", "--format", "{{.Server.Version}}"},
                              "cannot run 'nerdctl': No such file or directory");
    const auto status = docker::probe_engine(runner, "nerdctl");
    CHECK_FALSE(status.found);
    CHECK_FALSE(status.running);
    CHECK_THAT(status.problem, Catch::StartsWith("cannot run 'nerdctl': No such file") &&
                                   Catch::Contains("CDK_DOCKER"));
}

TEST_CASE("a hung client is reported as such") {
    test::FakeProcessRunner runner;
    auto result = exited(-1, "");
    result.timed_out = true;
    runner.expect(k_version_argv, result);
    const auto status = docker::probe_engine(runner, "docker");
    CHECK_FALSE(status.running);
    CHECK_THAT(status.problem, Catch::Contains("did not answer"));
}
