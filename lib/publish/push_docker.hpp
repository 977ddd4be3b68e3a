#pragma once

#include <string>
#include <string_view>

#include "publish/run_state.hpp"

namespace assetctl::publish {

// The push node for images in the engine: `docker login` once per registry host and identity
// for the whole run (EngineLogins; a build may have logged in already), `docker tag`,
// then `docker push`, tried again on failure under the run's retry policy (a push is
// idempotent; registry hiccups and two pushes racing on a shared layer are transient).
class DockerPush {
  public:
    explicit DockerPush(RunState& run) : run_(run) {}
    void push(const ImageState& image, TargetState& target);

  private:
    // The push's output; `digest` is what the engine reported apart from it (else empty).
    std::string push_with_retries(const std::string& remote, TargetState& target,
                                  std::string& digest);

    RunState& run_;
};

// The digest in `docker push` output (`<tag>: digest: sha256:... size: N`), or empty.
std::string digest_from_push_output(std::string_view output);

}  // namespace assetctl::publish
