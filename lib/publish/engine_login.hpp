#pragma once

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "manifest/model.hpp"
#include "util/per_key.hpp"

namespace assetctl::publish {

struct Dependencies;
struct TargetState;

// `docker login` of the engine to a destination's registry: once per registry host and identity
// for the whole run, the ECR token through stdin into the private DOCKER_CONFIG. Used before a
// build whose steps read from the destination's registry and before `docker push`.
class EngineLogins {
  public:
    explicit EngineLogins(Dependencies& deps) : deps_(deps) {}
    void log_in(const TargetState& target);

  private:
    struct Entry {
        std::mutex mutex;
        bool done = false;
    };

    Dependencies& deps_;
    util::PerKey<Entry> logins_;
    // `docker login` rewrites the one config.json of the private DOCKER_CONFIG (read, add the
    // host, rename over): two at once to different hosts lose one host's credentials.
    std::mutex config_file_mutex_;
    // Hosts logged in to (under config_file_mutex_). The user's entries for a host are removed
    // before its first login only: later logins (another identity) replace the entry in one
    // write, so a push reading the file meanwhile never finds the host without credentials.
    std::set<std::string> hosts_;
};

// Whether the build's cache options (cacheFrom, cacheTo) name an image at `registry_host`: the
// engine then reads (or writes) that registry during the build and needs its login first.
bool cache_options_use_registry(const manifest::DockerImageSource& source,
                                const std::string& registry_host);

}  // namespace assetctl::publish
