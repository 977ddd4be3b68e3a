#include "docker/engine.hpp"

#include <chrono>

#include "docker/engine_error.hpp"
#include "util/strings.hpp"

namespace assetctl::docker {
namespace {

constexpr std::chrono::milliseconds k_probe_timeout{15'000};

std::string last_line(const std::string& text) {
    const std::string trimmed = util::trim(text);
    const auto newline = trimmed.rfind('\n');
    return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

}  // namespace

std::string engine_executable(const std::optional<std::string>& override_path,
                              const util::Environment& env) {
    if (override_path && !override_path->empty()) {
        return *override_path;
    }
    return env.get_non_empty("CDK_DOCKER").value_or("docker");
}

EngineStatus probe_engine(process::ProcessRunner& runner, const std::string& executable) {
    EngineStatus status;
    status.executable = executable;
    process::Command command;
    command.argv = {executable, "version", "--format", "{{.Server.Version}}"};
    command.timeout = k_probe_timeout;
    process::Result result;
    try {
        result = runner.run(command);
    } catch (const process::SpawnError& e) {
        status.problem = std::string(e.what()) + std::string(k_spawn_hint);
        return status;
    }
    status.found = true;
    if (result.timed_out) {
        status.problem = "'" + executable + " version' did not answer within " +
                         std::to_string(k_probe_timeout.count() / 1000) + " s; is the daemon hung?";
        return status;
    }
    const std::string version = util::trim(result.out);
    if (result.ok() && !version.empty() && version != "<no value>") {
        status.running = true;
        status.version = version;
        return status;
    }
    std::string reason = last_line(result.err);
    if (reason.empty()) {
        reason = "exit code " + std::to_string(result.exit_code);
    }
    status.problem =
        "'" + executable + "' cannot reach its daemon: " + reason + std::string(k_daemon_hint);
    return status;
}

}  // namespace assetctl::docker
