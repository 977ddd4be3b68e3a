// EngineClient::inspect_image and EngineClient::save: the engine export the native push reads.
#include <array>
#include <cerrno>
#include <filesystem>
#include <signal.h>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "docker/engine_client.hpp"
#include "support/fake_process.hpp"
#include "support/temp_dir.hpp"
#include "util/files.hpp"

using namespace assetctl;
using Argv = std::vector<std::string>;
using test::FakeProcessRunner;
namespace fs = std::filesystem;

namespace {

const fs::path k_data = ASSETCTL_ENGINE_TESTDATA;

std::string data_file(const std::string& name) {
    return util::read_file(k_data / name);
}

// Reads `fd` to its end, or only `limit` bytes.
std::string read_stream(int fd, std::size_t limit = std::string::npos) {
    std::string data;
    std::array<char, 8192> buffer{};
    while (data.size() < limit) {
        const auto n = ::read(fd, buffer.data(), std::min(buffer.size(), limit - data.size()));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        data.append(buffer.data(), static_cast<std::size_t>(n));
    }
    return data;
}

std::string engine_error_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const docker::EngineError& e) {
        return e.what();
    }
    FAIL("expected EngineError");
    return {};
}

docker::ImageInspect parse(const std::string& json) {
    return docker::parse_image_inspect(json, "'docker image inspect x'");
}

const std::string k_hex_a(64, 'a');
const std::string k_hex_b(64, 'b');

std::string image_json(const std::string& members) {
    return "[{\"Id\": \"sha256:" + k_hex_a + "\", \"Os\": \"linux\", \"Architecture\": \"arm64\"" +
           members + "}]";
}

struct NotTheEngine : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace

// ----- inspect_image -----

TEST_CASE("inspect_image parses docker 20.10's real answer") {
    FakeProcessRunner runner;
    runner.expect({"docker", "image", "inspect", "assetctl-test/two-layers:1"},
                  FakeProcessRunner::exited(0, data_file("docker-image-inspect.json")));
    docker::EngineClient client(runner, "docker", fs::path("/tmp/private-config"));
    const auto inspect = client.inspect_image("assetctl-test/two-layers:1");
    CHECK(runner.all_used());
    CHECK(inspect.id == "sha256:a4e25408425d8ddf47476fe4d312cf33f19136f0059089f5eedb26a041c0b106");
    CHECK(inspect.diff_ids ==
          Argv{"sha256:949e62490ee43e191e6dba08b0f870a4222fbf1af60ea9ed475ad7abdf0def37",
               "sha256:2cb1b04c425757ffa1ac47d5cbb974492127f2b74acd76f0d9834e128137f3be"});
    CHECK(inspect.os == "linux");
    CHECK(inspect.architecture == "amd64");
    CHECK(inspect.variant.empty());
    const auto environment = runner.commands().at(0).environment;
    CHECK(std::find(environment.begin(), environment.end(),
                    std::pair<std::string, std::string>{"DOCKER_CONFIG", "/tmp/private-config"}) !=
          environment.end());
}

TEST_CASE("inspect_image parses podman 4.3's real answer and prefixes its bare id") {
    FakeProcessRunner runner;
    runner.expect({"podman", "image", "inspect", "localhost/assetctl-test/two-layers:1"},
                  FakeProcessRunner::exited(0, data_file("podman-image-inspect.json")));
    docker::EngineClient client(runner, "podman");
    const auto inspect = client.inspect_image("localhost/assetctl-test/two-layers:1");
    CHECK(inspect.id == "sha256:55da401fd0e0c3fa292382756b8a85e48fb330d5bed586d2fc1693a029b9cbc5");
    CHECK(inspect.diff_ids ==
          Argv{"sha256:275076a6be05d53486e059d4acdbe3a213783acce57434613e4f02d832f95232",
               "sha256:d17d87e5e030ef23c247b6aea356f3e2251360b5497248d53fa30e2235b986f2"});
    CHECK(inspect.os == "linux");
    CHECK(inspect.architecture == "amd64");
    CHECK(inspect.variant.empty());
}

TEST_CASE("inspect_image reads the variant when there is one") {
    const auto inspect = parse(image_json(
        ", \"Variant\": \"v8\", \"RootFS\": {\"Layers\": [\"sha256:" + k_hex_b + "\"]}"));
    CHECK(inspect.architecture == "arm64");
    CHECK(inspect.variant == "v8");
    CHECK(inspect.diff_ids == Argv{"sha256:" + k_hex_b});
}

TEST_CASE("inspect_image names the field of a malformed answer") {
    const std::string layers = ", \"RootFS\": {\"Layers\": [\"sha256:" + k_hex_b + "\"]}";
    const std::string prefix = "'docker image inspect x': malformed answer: ";
    CHECK_THAT(engine_error_of([] { parse("not json"); }), Catch::StartsWith(prefix + "not JSON"));
    CHECK_THAT(engine_error_of([] { parse("{}"); }), Catch::StartsWith(prefix + "the answer: "));
    CHECK(engine_error_of([] { parse("[]"); }) == prefix + "the answer: expected one image, got 0");
    CHECK_THAT(engine_error_of([&] { parse("[{}, {}]"); }), Catch::Contains("got 2"));
    CHECK_THAT(engine_error_of([] { parse(image_json("")); }),
               Catch::StartsWith(prefix + "[0]") && Catch::Contains("RootFS"));
    CHECK_THAT(engine_error_of([] { parse(image_json(", \"RootFS\": {\"Layers\": []}")); }),
               Catch::StartsWith(prefix + "[0].RootFS.Layers: no layers"));
    CHECK_THAT(engine_error_of([&] {
                   parse(image_json(", \"RootFS\": {\"Layers\": [\"sha256:" + k_hex_b +
                                    "\", \"sha256:XYZ\"]}"));
               }),
               Catch::StartsWith(prefix + "[0].RootFS.Layers[1]: not a layer diff ID"));
    CHECK_THAT(engine_error_of([&] {
                   parse("[{\"Id\": \"sha256:123\", \"Os\": \"linux\", \"Architecture\": \"x\"" +
                         layers + "}]");
               }),
               Catch::StartsWith(prefix + "[0].Id: not an image id"));
    CHECK_THAT(engine_error_of([&] {
                   parse("[{\"Id\": \"" + k_hex_a + "\", \"Architecture\": \"x\"" + layers + "}]");
               }),
               Catch::StartsWith(prefix + "[0]") && Catch::Contains("Os"));
}

TEST_CASE("inspect_image of a missing image is an EngineError naming the command") {
    FakeProcessRunner runner;
    runner.expect({"docker", "image", "inspect", "nope"},
                  FakeProcessRunner::exited(1, "[]\n", "Error: No such image: nope\n"));
    docker::EngineClient client(runner, "docker");
    CHECK(engine_error_of([&] { client.inspect_image("nope"); }) ==
          "'docker image inspect nope' failed (exit 1): Error: No such image: nope");
}

// ----- save (scripted runner) -----

TEST_CASE("save streams the engine's stdout to consume") {
    FakeProcessRunner runner;
    const std::string tarball = data_file("docker-save.tar");
    runner.on_stdout_bytes("save", tarball, FakeProcessRunner::exited(0, ""));
    docker::EngineClient client(runner, "docker", fs::path("/tmp/private-config"));
    std::string received;
    client.save("assetctl-test/two-layers:1", [&](int fd) { received = read_stream(fd); });
    CHECK(received == tarball);
    const auto command = runner.commands().at(0);
    CHECK(command.argv == Argv{"docker", "save", "assetctl-test/two-layers:1"});
    CHECK(command.stdout_fd.has_value());
    CHECK(command.environment == std::vector<std::pair<std::string, std::string>>{
                                     {"DOCKER_CONFIG", "/tmp/private-config"}});
}

TEST_CASE("save reports the engine's failure though consume returned normally") {
    FakeProcessRunner runner;
    runner.on_stdout_bytes(
        "save", "partial",
        FakeProcessRunner::exited(1, "", "Error: something\nError: disk gone\n"));
    docker::EngineClient client(runner, "podman");
    std::string received;
    CHECK(engine_error_of([&] {
              client.save("img", [&](int fd) { received = read_stream(fd); });
          }) == "'podman save img' failed (exit 1): Error: disk gone");
    CHECK(received == "partial");
}

TEST_CASE("save rethrows consume's exception, not the engine's broken pipe") {
    FakeProcessRunner runner;
    runner.on_stdout_bytes("save", std::string(4 * 1024 * 1024, 'x'),
                           FakeProcessRunner::exited(0, ""));
    docker::EngineClient client(runner, "docker");
    CHECK_THROWS_AS(client.save("img",
                                [](int fd) {
                                    read_stream(fd, 10);
                                    throw NotTheEngine("bad stream");
                                }),
                    NotTheEngine);
}

TEST_CASE("save fails when consume stops early and the engine dies of SIGPIPE") {
    FakeProcessRunner runner;
    runner.on_stdout_bytes("save", std::string(4 * 1024 * 1024, 'x'),
                           FakeProcessRunner::exited(0, ""));
    docker::EngineClient client(runner, "docker");
    CHECK_THAT(engine_error_of([&] { client.save("img", [](int fd) { read_stream(fd, 10); }); }),
               Catch::StartsWith("'docker save img' failed (killed by signal " +
                                 std::to_string(SIGPIPE) + ")"));
}

TEST_CASE("save of an engine that cannot start is an EngineError with the hint") {
    FakeProcessRunner runner;
    runner.expect_spawn_error({"nerdctl", "save", "img"}, "cannot run 'nerdctl': not found");
    docker::EngineClient client(runner, "nerdctl");
    std::string received = "unset";
    CHECK_THAT(
        engine_error_of([&] { client.save("img", [&](int fd) { received = read_stream(fd); }); }),
        Catch::StartsWith("cannot run 'nerdctl': not found") &&
            Catch::EndsWith(std::string(docker::k_spawn_hint)));
    CHECK(received.empty());  // consume saw the end of an empty stream, no hang
}

// ----- save (real processes) -----

namespace {

// An executable "engine" whose `save` runs `script` (a /bin/sh script).
fs::path fake_engine(const test::TempDir& dir, const std::string& script) {
    const auto path = dir.write("engine", "#!/bin/sh\n[ \"$1\" = save ] || exit 2\n" + script);
    fs::permissions(path, fs::perms::owner_all);
    return path;
}

}  // namespace

TEST_CASE("save streams a real engine's large output through the pipe") {
    test::TempDir dir;
    const auto engine = fake_engine(dir, "exec head -c 3000000 /dev/zero\n");
    const auto runner = process::make_system_runner();
    docker::EngineClient client(*runner, engine.string());
    std::string received;
    client.save("img", [&](int fd) { received = read_stream(fd); });
    CHECK(received.size() == 3'000'000);
}

TEST_CASE("save ends a real engine whose reader stopped early, and reports it") {
    test::TempDir dir;
    const auto engine = fake_engine(dir, "exec cat /dev/zero\n");
    const auto runner = process::make_system_runner();
    docker::EngineClient client(*runner, engine.string());
    CHECK_THAT(
        engine_error_of([&] { client.save("img", [](int fd) { read_stream(fd, 70'000); }); }),
        Catch::Contains("save img' failed (killed by signal " + std::to_string(SIGPIPE)));
}

TEST_CASE("save reports a real engine's last stderr line") {
    test::TempDir dir;
    const auto engine =
        fake_engine(dir, "printf 'some bytes'\necho 'Error: no such image: img' >&2\nexit 125\n");
    const auto runner = process::make_system_runner();
    docker::EngineClient client(*runner, engine.string());
    std::string received;
    CHECK(engine_error_of([&] {
              client.save("img", [&](int fd) { received = read_stream(fd); });
          }) == "'" + engine.string() + " save img' failed (exit 125): Error: no such image: img");
    CHECK(received == "some bytes");
}
