// What the container engine prints, as assetctl reads it: `version` (probe_engine,
// identify_engine: docker, podman, buildx or not), `inspect`, `image inspect` JSON, `load`'s
// image name, `push`'s digest file, through an EngineClient whose every command "prints" the
// fuzzed stdout and stderr and exits with a fuzzed code. The first byte picks the command.
// Only EngineError may escape the client (probe and identify never throw).
#include <cstddef>
#include <cstdint>

#include "docker/engine.hpp"
#include "docker/engine_client.hpp"
#include "docker/engine_error.hpp"
#include "docker/engine_features.hpp"
#include "docker/image_inspect.hpp"
#include "fuzz_support.hpp"
#include "process/process_runner.hpp"

using namespace assetctl;

namespace {

// Each run answers with the next fuzzed exit code, stdout and stderr.
class ScriptedRunner final : public process::ProcessRunner {
  public:
    explicit ScriptedRunner(fuzz::FuzzInput& input) : input_(input) {}
    process::Result run(const process::Command& command) override {
        process::Result result;
        const auto code = input_.byte();
        result.exit_code = code < 200 ? 0 : code % 8;
        result.out = input_.string(4096);
        result.err = input_.string(512);
        if (command.on_stdout_line) {
            command.on_stdout_line(result.out);
        }
        return result;
    }

  private:
    fuzz::FuzzInput& input_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput input(data, size);
    const auto which = input.byte() % 7;
    ScriptedRunner runner(input);
    docker::EngineClient engine(runner, which % 2 == 0 ? "docker" : "podman");
    try {
        switch (which) {
            case 0:
                (void)docker::probe_engine(runner, "docker");
                break;
            case 1:
                engine.set_identity(docker::identify_engine(runner, "podman"));
                break;
            case 2:
                (void)engine.image_exists("cdkasset-abc");
                break;
            case 3:
                (void)engine.image_id("cdkasset-abc");
                break;
            case 4:
                (void)engine.inspect_image("cdkasset-abc");
                break;
            case 5:
                (void)engine.load("/fuzz/image.tar");
                break;
            default:
                (void)docker::parse_image_inspect(input.rest(), "cdkasset-abc");
                break;
        }
    } catch (const docker::EngineError&) {
    }
    return 0;
}
