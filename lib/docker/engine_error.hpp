#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace assetctl::docker {

// A container engine command that failed. `what()` is one line naming the command and the
// reason; `output_tail` holds the last lines of its output for the user.
class EngineError : public std::runtime_error {
  public:
    EngineError(const std::string& message, std::vector<std::string> output_tail)
        : std::runtime_error(message), output_tail_(std::move(output_tail)) {}
    const std::vector<std::string>& output_tail() const noexcept { return output_tail_; }

  private:
    std::vector<std::string> output_tail_;
};

// What to do when the engine executable cannot be started, and when it cannot reach its daemon:
// the endings of those two messages, wherever they are found.
inline constexpr std::string_view k_spawn_hint =
    "; install a container engine or point CDK_DOCKER (or --docker) at one";
inline constexpr std::string_view k_daemon_hint =
    "; start the daemon (dockerd) or check DOCKER_HOST";

}  // namespace assetctl::docker
