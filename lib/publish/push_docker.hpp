#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "publish/run_state.hpp"
#include "util/per_key.hpp"

namespace assetctl::publish {

// The push node for images in the engine: `docker login` once per registry host and identity
// for the whole run (the token through stdin, into the private DOCKER_CONFIG), `docker tag`,
// then `docker push`, tried again on failure under the run's retry policy (a push is
// idempotent; registry hiccups and two pushes racing on a shared layer are transient).
class DockerPush {
  public:
    explicit DockerPush(RunState& run) : run_(run) {}
    void push(const ImageState& image, TargetState& target);

  private:
    void log_in(const TargetState& target);
    std::string push_with_retries(const std::string& remote, TargetState& target);

    struct LoginEntry {
        std::mutex mutex;
        bool done = false;
    };

    RunState& run_;
    util::PerKey<LoginEntry> logins_;
    // `docker login` rewrites the one config.json of the private DOCKER_CONFIG (read, add the
    // host, rename over): two at once to different hosts lose one host's credentials.
    std::mutex config_file_mutex_;
};

// The digest in `docker push` output (`<tag>: digest: sha256:... size: N`), or empty.
std::string digest_from_push_output(std::string_view output);

}  // namespace assetctl::publish
