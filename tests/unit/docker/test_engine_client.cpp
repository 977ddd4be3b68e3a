#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "docker/engine_client.hpp"
#include "support/fake_process.hpp"
#include "support/temp_dir.hpp"
#include "util/files.hpp"

using namespace assetctl;
using Argv = std::vector<std::string>;
using test::FakeProcessRunner;

namespace {

using Stream = FakeProcessRunner::Stream;
using Lines = std::vector<FakeProcessRunner::Line>;

bool has_env(const process::Command& command, const std::string& key, const std::string& value) {
    return std::find(command.environment.begin(), command.environment.end(),
                     std::pair<std::string, std::string>{key, value}) != command.environment.end();
}

bool has_env_key(const process::Command& command, const std::string& key) {
    return std::any_of(command.environment.begin(), command.environment.end(),
                       [&](const auto& entry) { return entry.first == key; });
}

process::Result signalled(int signal) {
    process::Result result;
    result.signal = signal;
    return result;
}

manifest::DockerImageSource full_source() {
    manifest::DockerImageSource source;
    source.directory = "asset.abc";
    source.docker_build_args = {{"A", "1"}};
    source.docker_file = "Dockerfile.alt";
    source.cache_disabled = true;
    return source;
}

const Argv k_full_build = {"docker",       "build",  "--build-arg",    "A=1",        "--tag",
                           "cdkasset-abc", "--file", "Dockerfile.alt", "--no-cache", "."};

}  // namespace

// ----- inspect -----

TEST_CASE("inspect exit 0 means the image exists") {
    FakeProcessRunner runner;
    runner.expect({"docker", "inspect", "cdkasset-abc"}, FakeProcessRunner::exited(0, "[{}]\n"));
    docker::EngineClient client(runner, "docker");
    CHECK(client.image_exists("cdkasset-abc"));
    CHECK(runner.all_used());
    CHECK(runner.commands().at(0).input.empty());
    CHECK_FALSE(runner.commands().at(0).working_directory);
}

TEST_CASE("inspect exit 1 (docker) and 125 (podman) mean the image is absent") {
    FakeProcessRunner runner;
    runner.expect({"docker", "inspect", "cdkasset-abc"},
                  FakeProcessRunner::exited(1, "[]\n", "Error: No such object: cdkasset-abc\n"));
    runner.expect(
        {"podman", "inspect", "cdkasset-abc"},
        FakeProcessRunner::exited(125, "[]\n", "Error: no such object: \"cdkasset-abc\"\n"));
    CHECK_FALSE(docker::EngineClient(runner, "docker").image_exists("cdkasset-abc"));
    CHECK_FALSE(docker::EngineClient(runner, "podman").image_exists("cdkasset-abc"));
    CHECK(runner.all_used());
}

TEST_CASE("inspect with any other exit is an error naming the command") {
    FakeProcessRunner runner;
    runner.expect({"finch", "inspect", "x"}, FakeProcessRunner::exited(2, "", "boom\n"));
    docker::EngineClient client(runner, "finch");
    try {
        client.image_exists("x");
        FAIL("expected EngineError");
    } catch (const docker::EngineError& e) {
        CHECK(std::string(e.what()) ==
              "'finch inspect x' failed (exit 2): boom; check the container engine with "
              "`assetctl doctor`");
        CHECK(e.output_tail() == Argv{"boom"});
    }
}

TEST_CASE("inspect killed by a signal is an error, not an absent image") {
    FakeProcessRunner runner;
    runner.expect({"docker", "inspect", "x"}, signalled(9));
    docker::EngineClient client(runner, "docker");
    CHECK_THROWS_WITH(client.image_exists("x"), Catch::Contains("killed by signal 9"));
}

TEST_CASE("inspect exit 1 from an unreachable daemon is an error, not an absent image") {
    FakeProcessRunner runner;
    runner.expect({"docker", "inspect", "x"},
                  FakeProcessRunner::exited(1, "[]\n",
                                            "Cannot connect to the Docker daemon at "
                                            "unix:///var/run/docker.sock. Is the docker daemon "
                                            "running?\n"));
    runner.expect({"podman", "inspect", "x"},
                  FakeProcessRunner::exited(125, "",
                                            "Error: Cannot connect to Podman. Please verify your "
                                            "connection to the Linux system\n"));
    CHECK_THROWS_WITH(docker::EngineClient(runner, "docker").image_exists("x"),
                      Catch::StartsWith("'docker' cannot reach its daemon: Cannot connect") &&
                          Catch::EndsWith("start the daemon (dockerd) or check DOCKER_HOST"));
    CHECK_THROWS_AS(docker::EngineClient(runner, "podman").image_exists("x"), docker::EngineError);
}

TEST_CASE("an engine that cannot be started says how to choose another") {
    FakeProcessRunner runner;
    runner.expect_spawn_error({"nerdctl", "inspect", "x"},
                              "cannot run 'nerdctl': No such file or directory");
    docker::EngineClient client(runner, "nerdctl");
    CHECK_THROWS_WITH(client.image_exists("x"),
                      Catch::StartsWith("cannot run 'nerdctl': No such file or directory") &&
                          Catch::Contains("CDK_DOCKER (or --docker)"));
}

TEST_CASE("added environment (the credential helper's PATH) reaches every later command") {
    FakeProcessRunner runner;
    runner.expect({"docker", "inspect", "x"}, FakeProcessRunner::exited(0, ""));
    runner.expect({"docker", "tag", "a", "b"}, FakeProcessRunner::exited(0, ""));
    docker::EngineClient client(runner, "docker", std::filesystem::path("/tmp/cfg"));
    client.add_environment("PATH", "/tmp/cfg/bin:/usr/bin");
    client.image_exists("x");
    client.tag("a", "b");
    for (const auto& command : runner.commands()) {
        CHECK(has_env(command, "PATH", "/tmp/cfg/bin:/usr/bin"));
        CHECK(has_env(command, "DOCKER_CONFIG", "/tmp/cfg"));
    }
    CHECK(runner.all_used());
}

TEST_CASE("every command carries DOCKER_CONFIG when a private config is set, and only then") {
    FakeProcessRunner runner;
    runner.expect({"docker", "inspect", "x"}, FakeProcessRunner::exited(0, ""));
    runner.expect({"docker", "tag", "a", "b"}, FakeProcessRunner::exited(0, ""));
    runner.expect({"docker", "inspect", "x"}, FakeProcessRunner::exited(0, ""));
    docker::EngineClient with(runner, "docker", std::filesystem::path("/tmp/assetctl-docker-1"));
    docker::EngineClient without(runner, "docker");
    with.image_exists("x");
    with.tag("a", "b");
    without.image_exists("x");
    const auto commands = runner.commands();
    CHECK(has_env(commands.at(0), "DOCKER_CONFIG", "/tmp/assetctl-docker-1"));
    CHECK(has_env(commands.at(1), "DOCKER_CONFIG", "/tmp/assetctl-docker-1"));
    CHECK_FALSE(has_env_key(commands.at(2), "DOCKER_CONFIG"));
}

// ----- image id -----

TEST_CASE("image_id asks inspect for {{.Id}} and trims it") {
    FakeProcessRunner runner;
    runner.expect({"docker", "inspect", "--format", "{{.Id}}", "cdkasset-abc"},
                  FakeProcessRunner::exited(0, "sha256:0123abcd\n"));
    docker::EngineClient client(runner, "docker");
    CHECK(client.image_id("cdkasset-abc") == "sha256:0123abcd");
}

TEST_CASE("image_id gives podman's bare digest the sha256: prefix") {
    FakeProcessRunner runner;
    const std::string digest(64, 'e');
    runner.expect({"podman", "inspect", "--format", "{{.Id}}", "x"},
                  FakeProcessRunner::exited(0, digest + "\n"));
    CHECK(docker::EngineClient(runner, "podman").image_id("x") == "sha256:" + digest);
}

TEST_CASE("image_id of a missing image or with no output is an error") {
    FakeProcessRunner runner;
    runner.expect({"docker", "inspect", "--format", "{{.Id}}", "x"},
                  FakeProcessRunner::exited(1, "\n", "Error: No such object: x\n"));
    runner.expect({"docker", "inspect", "--format", "{{.Id}}", "y"},
                  FakeProcessRunner::exited(0, " \n"));
    docker::EngineClient client(runner, "docker");
    CHECK_THROWS_WITH(client.image_id("x"),
                      "'docker inspect --format {{.Id}} x' failed (exit 1): Error: No such object: "
                      "x");
    CHECK_THROWS_WITH(client.image_id("y"), Catch::Contains("printed no image id"));
}

// ----- build -----

TEST_CASE("build runs in the context with attestations off and streams both streams") {
    FakeProcessRunner runner;
    runner.expect(k_full_build, FakeProcessRunner::exited(0, ""),
                  {{Stream::err, "#1 [internal] load build definition"},
                   {Stream::out, "Successfully built 0123"},
                   {Stream::err, "#2 DONE"}});
    docker::EngineClient client(runner, "docker", std::filesystem::path("/tmp/cfg"));
    std::vector<std::string> seen;
    client.build(full_source(), "/work/cdk.out/asset.abc", "cdkasset-abc",
                 [&](std::string_view line) { seen.emplace_back(line); });
    CHECK(seen ==
          Argv{"#1 [internal] load build definition", "Successfully built 0123", "#2 DONE"});
    const auto command = runner.commands().at(0);
    REQUIRE(command.working_directory);
    CHECK(*command.working_directory == "/work/cdk.out/asset.abc");
    CHECK(has_env(command, "BUILDX_NO_DEFAULT_ATTESTATIONS", "1"));
    CHECK(has_env(command, "DOCKER_CONFIG", "/tmp/cfg"));
    CHECK(command.input.empty());
    CHECK(runner.all_used());
}

TEST_CASE("build without a private config still turns attestations off") {
    FakeProcessRunner runner;
    runner.expect(k_full_build, FakeProcessRunner::exited(0, ""));
    docker::EngineClient client(runner, "docker");
    client.build(full_source(), "/ctx", "cdkasset-abc", nullptr);
    CHECK(has_env(runner.commands().at(0), "BUILDX_NO_DEFAULT_ATTESTATIONS", "1"));
    CHECK_FALSE(has_env_key(runner.commands().at(0), "DOCKER_CONFIG"));
}

TEST_CASE("a failed build reports its exit and the last 20 lines in arrival order") {
    FakeProcessRunner runner;
    Lines lines;
    for (int i = 1; i <= 30; ++i) {
        lines.push_back({i % 2 == 0 ? Stream::out : Stream::err, "line " + std::to_string(i)});
    }
    runner.expect(k_full_build, FakeProcessRunner::exited(1, ""), std::move(lines));
    docker::EngineClient client(runner, "docker");
    std::size_t streamed = 0;
    try {
        client.build(full_source(), "/ctx", "cdkasset-abc", [&](std::string_view) { ++streamed; });
        FAIL("expected EngineError");
    } catch (const docker::EngineError& e) {
        CHECK(std::string(e.what()) == "docker build of cdkasset-abc failed (exit 1)");
        Argv expected;
        for (int i = 11; i <= 30; ++i) {
            expected.push_back("line " + std::to_string(i));
        }
        CHECK(e.output_tail() == expected);
    }
    CHECK(streamed == 30);
}

TEST_CASE("a failed build on a runner that does not stream keeps the captured output") {
    FakeProcessRunner runner;
    runner.expect(k_full_build,
                  FakeProcessRunner::exited(2, "Step 1/2 : FROM scratch\n",
                                            "error: failed to solve: no such file\n\n"));
    docker::EngineClient client(runner, "docker");
    try {
        client.build(full_source(), "/ctx", "cdkasset-abc", nullptr);
        FAIL("expected EngineError");
    } catch (const docker::EngineError& e) {
        CHECK(std::string(e.what()) == "docker build of cdkasset-abc failed (exit 2)");
        CHECK(e.output_tail() ==
              Argv{"Step 1/2 : FROM scratch", "error: failed to solve: no such file"});
    }
}

TEST_CASE("an interrupted build is an error") {
    FakeProcessRunner runner;
    process::Result result;
    result.exit_code = -1;
    result.signal = 15;
    result.interrupted = true;
    runner.expect(k_full_build, result);
    docker::EngineClient client(runner, "docker");
    CHECK_THROWS_WITH(client.build(full_source(), "/ctx", "cdkasset-abc", nullptr),
                      "docker build of cdkasset-abc failed (interrupted)");
}

TEST_CASE("the engine's name is the one in build errors") {
    FakeProcessRunner runner;
    runner.expect({"podman", "build", "--tag", "t", "."}, FakeProcessRunner::exited(125, ""));
    manifest::DockerImageSource source;
    source.directory = "d";
    docker::EngineClient client(runner, "podman");
    CHECK_THROWS_WITH(client.build(source, "/ctx", "t", nullptr),
                      "podman build of t failed (exit 125)");
}

// ----- load -----

TEST_CASE("load returns the name docker prints for a tagged image") {
    FakeProcessRunner runner;
    runner.expect({"docker", "load", "-i", "/cdk.out/asset.abc.tar"},
                  FakeProcessRunner::exited(0, "Loaded image: cdk-tarball:latest\n"));
    docker::EngineClient client(runner, "docker");
    CHECK(client.load("/cdk.out/asset.abc.tar") == "cdk-tarball:latest");
}

TEST_CASE("load parses every documented output shape") {
    const std::string id = "sha256:" + std::string(64, 'a');
    const std::vector<std::pair<std::string, std::string>> cases = {
        // docker, untagged image
        {"Loaded image ID: " + id + "\n", id},
        // docker, one image with two tags (last wins, both name the same image)
        {"Loaded image: a:1\nLoaded image: a:2\n", "a:2"},
        // docker renaming the image an existing tag pointed at
        {"The image a:1 already exists, renaming the old one with ID sha256:11 to empty "
         "string\nLoaded image: a:1\n",
         "a:1"},
        // podman >= 4 qualifies unqualified names with localhost/
        {"Loaded image: localhost/cdk-tarball:latest\n", "localhost/cdk-tarball:latest"},
        // podman 3 joins names with commas
        {"Loaded image(s): docker.io/library/registry:2\n", "docker.io/library/registry:2"},
        {"Loaded image(s): localhost/a:1,localhost/a:2\n", "localhost/a:2"},
        // Windows line endings and surrounding blanks
        {"Loaded image: x:y  \r\n\r\n", "x:y"},
    };
    for (const auto& [output, expected] : cases) {
        FakeProcessRunner runner;
        runner.expect({"docker", "load", "-i", "t.tar"}, FakeProcessRunner::exited(0, output));
        INFO(output);
        CHECK(docker::EngineClient(runner, "docker").load("t.tar") == expected);
    }
}

TEST_CASE("load falls back to stderr for the Loaded image line") {
    FakeProcessRunner runner;
    runner.expect({"docker", "load", "-i", "t.tar"},
                  FakeProcessRunner::exited(0, "", "Copying blob 1\nLoaded image: x:1\n"));
    CHECK(docker::EngineClient(runner, "docker").load("t.tar") == "x:1");
}

TEST_CASE("load without a Loaded image line, or failing, is an error") {
    FakeProcessRunner runner;
    runner.expect({"docker", "load", "-i", "t.tar"},
                  FakeProcessRunner::exited(0, "something else\n"));
    runner.expect({"docker", "load", "-i", "t.tar"},
                  FakeProcessRunner::exited(1, "", "open t.tar: no such file or directory\n"));
    docker::EngineClient client(runner, "docker");
    try {
        client.load("t.tar");
        FAIL("expected EngineError");
    } catch (const docker::EngineError& e) {
        CHECK_THAT(e.what(), Catch::Contains("no 'Loaded image' line"));
        CHECK(e.output_tail() == Argv{"something else"});
    }
    CHECK_THROWS_WITH(client.load("t.tar"),
                      "'docker load -i t.tar' failed (exit 1): open t.tar: "
                      "no such file or directory");
}

// ----- tag, push -----

TEST_CASE("tag runs tag source target") {
    FakeProcessRunner runner;
    runner.expect({"docker", "tag", "cdkasset-abc", "1.dkr.ecr.us-east-1.amazonaws.com/r:abc"},
                  FakeProcessRunner::exited(0, ""));
    runner.expect({"docker", "tag", "missing", "r:t"},
                  FakeProcessRunner::exited(1, "", "Error response from daemon: No such image\n"));
    docker::EngineClient client(runner, "docker");
    client.tag("cdkasset-abc", "1.dkr.ecr.us-east-1.amazonaws.com/r:abc");
    try {
        client.tag("missing", "r:t");
        FAIL("expected EngineError");
    } catch (const docker::EngineError& e) {
        CHECK(std::string(e.what()) ==
              "'docker tag missing r:t' failed (exit 1): Error response from daemon: No such "
              "image");
        CHECK(e.output_tail() == Argv{"Error response from daemon: No such image"});
    }
    CHECK(runner.all_used());
}

TEST_CASE("push streams its output and reports failures with the tail") {
    FakeProcessRunner runner;
    const std::string image = "1.dkr.ecr.us-east-1.amazonaws.com/r:abc";
    runner.expect({"docker", "push", image}, FakeProcessRunner::exited(0, ""),
                  {{Stream::out, "The push refers to repository [1.dkr.ecr]"},
                   {Stream::out, "abc: digest: sha256:1 size: 528"}});
    docker::EngineClient client(runner, "docker", std::filesystem::path("/tmp/cfg"));
    std::vector<std::string> seen;
    client.push(image, [&](std::string_view line) { seen.emplace_back(line); });
    CHECK(seen ==
          Argv{"The push refers to repository [1.dkr.ecr]", "abc: digest: sha256:1 size: 528"});
    CHECK(has_env(runner.commands().at(0), "DOCKER_CONFIG", "/tmp/cfg"));
    CHECK_FALSE(has_env_key(runner.commands().at(0), "BUILDX_NO_DEFAULT_ATTESTATIONS"));

    runner.expect({"docker", "push", image}, FakeProcessRunner::exited(1, ""),
                  {{Stream::out, "The push refers to repository [1.dkr.ecr]"},
                   {Stream::err, "denied: Your authorization token has expired."}});
    try {
        client.push(image, nullptr);
        FAIL("expected EngineError");
    } catch (const docker::EngineError& e) {
        CHECK(std::string(e.what()) == "docker push of " + image + " failed (exit 1)");
        CHECK(e.output_tail() == Argv{"The push refers to repository [1.dkr.ecr]",
                                      "denied: Your authorization token has expired."});
    }
}

// ----- login -----

TEST_CASE("login passes the password on stdin only") {
    FakeProcessRunner runner;
    const std::string password = "eyJwYXlsb2FkIjoic2VjcmV0LXRva2VuIn0=";
    runner.expect({"docker", "login", "--username", "AWS", "--password-stdin",
                   "1.dkr.ecr.us-east-1.amazonaws.com"},
                  FakeProcessRunner::exited(0, "Login Succeeded\n",
                                            "WARNING! Your password will be stored unencrypted\n"));
    docker::EngineClient client(runner, "docker", std::filesystem::path("/tmp/cfg"));
    client.login("1.dkr.ecr.us-east-1.amazonaws.com", "AWS", password);
    const auto command = runner.commands().at(0);
    CHECK(command.input == password);
    for (const auto& arg : command.argv) {
        CHECK(arg.find(password) == std::string::npos);
    }
    for (const auto& [key, value] : command.environment) {
        CHECK(value.find(password) == std::string::npos);
    }
    CHECK(has_env(command, "DOCKER_CONFIG", "/tmp/cfg"));
}

TEST_CASE("login drops a scheme and trailing slash from the server, as cdk-assets does") {
    FakeProcessRunner runner;
    runner.expect({"docker", "login", "--username", "AWS", "--password-stdin",
                   "1.dkr.ecr.us-east-1.amazonaws.com"},
                  FakeProcessRunner::exited(0, ""));
    runner.expect({"docker", "login", "--username", "u", "--password-stdin", "127.0.0.1:5000"},
                  FakeProcessRunner::exited(0, ""));
    docker::EngineClient client(runner, "docker");
    client.login("https://1.dkr.ecr.us-east-1.amazonaws.com/", "AWS", "pw");
    client.login("http://127.0.0.1:5000", "u", "pw");
    CHECK(runner.all_used());
}

TEST_CASE("a failed login reports stderr without the password") {
    FakeProcessRunner runner;
    const std::string password = "s3cr3t-T0ken";
    runner.expect({"docker", "login", "--username", "AWS", "--password-stdin", "h.example"},
                  FakeProcessRunner::exited(1, "",
                                            "Error response from daemon: login attempt to "
                                            "https://h.example/v2/ failed with password " +
                                                password + "\n"));
    docker::EngineClient client(runner, "docker");
    try {
        client.login("h.example", "AWS", password);
        FAIL("expected EngineError");
    } catch (const docker::EngineError& e) {
        const std::string what = e.what();
        CHECK_THAT(what, Catch::StartsWith("'docker login' to h.example as AWS failed (exit 1)"));
        CHECK(what.find(password) == std::string::npos);
        REQUIRE(e.output_tail().size() == 1);
        CHECK(e.output_tail()[0].find(password) == std::string::npos);
        CHECK_THAT(e.output_tail()[0], Catch::EndsWith("failed with password <redacted>"));
    }
}

TEST_CASE("podman's push digest comes from --digestfile in the private config folder") {
    FakeProcessRunner runner;
    test::TempDir config;
    const std::string image = "1.dkr.ecr.us-east-1.amazonaws.com/r:abc";
    const std::string digest = "sha256:" + std::string(64, 'd');
    runner.add([&](const process::Command& command) -> std::optional<process::Result> {
        // podman push --digestfile FILE IMAGE: podman prints no `digest:` line.
        REQUIRE(command.argv.size() == 5);
        CHECK(command.argv[1] == "push");
        CHECK(command.argv[2] == "--digestfile");
        CHECK(std::filesystem::path(command.argv[3]).parent_path() == config.path());
        CHECK(command.argv[4] == image);
        util::write_file_atomically(
            command.argv[3], digest + "\n",
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        return FakeProcessRunner::exited(0, "");
    });
    docker::EngineClient client(runner, "podman", config.path());
    client.set_identity({docker::BuildBackend::podman, "podman", "4.3.1"});
    CHECK(client.push(image, nullptr) == digest);
    CHECK(std::filesystem::is_empty(config.path()));  // the digest file is gone
}
