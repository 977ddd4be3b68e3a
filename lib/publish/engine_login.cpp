#include "publish/engine_login.hpp"

#include "docker/engine_client.hpp"
#include "docker/private_docker_config.hpp"
#include "publish/run_state.hpp"
#include "registry/reference.hpp"
#include "util/strings.hpp"

namespace assetctl::publish {
namespace {

bool names_registry(const manifest::CacheOption& option, const std::string& registry_host) {
    if (option.type != "registry") {
        return false;
    }
    for (const auto& [key, value] : option.params) {
        if (key == "ref" &&
            util::to_lower(registry::registry_host_of(value)) == util::to_lower(registry_host)) {
            return true;
        }
    }
    return false;
}

}  // namespace

void EngineLogins::log_in(const TargetState& target) {
    const std::string key = target.registry_host + "\n" + target.credentials.keys.access_key_id;
    const auto entry = logins_.get(key);
    std::lock_guard lock(entry->mutex);
    if (entry->done) {
        return;
    }
    const auto authorization =
        deps_.aws.ecr.get_authorization_token(target.credentials, target.region);
    std::lock_guard config_lock(config_file_mutex_);
    auto* config = deps_.docker_config;
    if (config != nullptr && hosts_.insert(target.registry_host).second) {
        config->forget_host(target.registry_host);
    }
    deps_.engine.login(target.registry_host, authorization.username, authorization.password);
    entry->done = true;
}

bool cache_options_use_registry(const manifest::DockerImageSource& source,
                                const std::string& registry_host) {
    if (registry_host.empty()) {
        return false;
    }
    for (const auto& option : source.cache_from) {
        if (names_registry(option, registry_host)) {
            return true;
        }
    }
    return source.cache_to && names_registry(*source.cache_to, registry_host);
}

}  // namespace assetctl::publish
