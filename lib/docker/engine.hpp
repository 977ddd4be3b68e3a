#pragma once

#include <optional>
#include <string>

#include "process/process_runner.hpp"
#include "util/environment.hpp"

namespace assetctl::docker {

// The container engine executable: `--docker PATH` if given, else CDK_DOCKER (as cdk-assets
// reads it: docker, podman, finch, ...), else `docker`.
std::string engine_executable(const std::optional<std::string>& override_path,
                              const util::Environment& env);

struct EngineStatus {
    std::string executable;
    bool found = false;    // the executable could be started
    bool running = false;  // the daemon (or podman's service) answered
    std::string version;   // server version when running, else client version if known
    std::string problem;   // why not usable, with what to do about it; empty when running
};

// Asks `<engine> version` for the server version, with a timeout, and explains failures:
// not on PATH, or a client that cannot reach its daemon.
EngineStatus probe_engine(process::ProcessRunner& runner, const std::string& executable);

}  // namespace assetctl::docker
