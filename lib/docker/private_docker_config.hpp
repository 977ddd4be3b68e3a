#pragma once

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker/engine_error.hpp"

namespace assetctl::docker {

// A private DOCKER_CONFIG folder (0700, config.json 0600) for registry logins, so assetctl never
// writes into the user's own docker configuration. It starts as a copy of the user's
// config.json (DOCKER_CONFIG, else ~/.docker) so proxies, credential helpers and logins for
// other registries keep working, minus `credsStore` (a login would land in the user's keychain)
// and minus any entry for the hosts assetctl logs into. Because the keychain still holds the
// other registries' logins, each `auths` host of a config with `credsStore` gets that store as
// its `credHelpers` entry (unless it has one). The user's `cli-plugins`, `contexts`, `buildx`
// and TLS files (`ca.pem`, `cert.pem`, `key.pem`) are symlinked in, since the CLI looks for them
// in the config folder. Removed with everything in it on destruction (symlink targets stay).
// Throws EngineError when the folder or file cannot be written.
class PrivateDockerConfig {
  public:
    explicit PrivateDockerConfig(const std::optional<std::filesystem::path>& user_config_dir);
    ~PrivateDockerConfig();
    PrivateDockerConfig(const PrivateDockerConfig&) = delete;
    PrivateDockerConfig& operator=(const PrivateDockerConfig&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // Removes auths/credHelpers entries for `host` (before assetctl logs into it): every key
    // naming that host with or without `http(s)://` and a trailing path. Re-reads config.json, so
    // logins already written by the engine are kept; the file is replaced atomically. Safe from
    // several threads, but not while a `login` through this folder is running (the caller
    // serialises logins with it).
    void forget_host(const std::string& host);
    // Makes docker ask `docker-credential-<helper_name>` for each of `keys` (credHelpers
    // entries, replacing the user's for those keys) and puts that program into a 0700 folder
    // `bin/` of this config as a symlink to `helper_executable`. Returns the folder: the caller
    // prepends it to the engine's PATH, since the CLI finds helpers on its PATH. The helper
    // answers from elsewhere (cdk_docker_creds.hpp): no secret is written here.
    std::filesystem::path add_credential_helper(const std::vector<std::string>& keys,
                                                std::string_view helper_name,
                                                const std::filesystem::path& helper_executable);

    // podman writes `login` into REGISTRY_AUTH_FILE when it is set, not into DOCKER_CONFIG: the
    // caller then points REGISTRY_AUTH_FILE at this config.json, and this adds the user's
    // `auth_file` logins (auths and credHelpers entries the config lacks) so pulls keep them.
    // Returns the file to point at. An unreadable auth file only loses its logins (a warning).
    std::filesystem::path take_auth_file(const std::filesystem::path& auth_file);

  private:
    std::filesystem::path path_;
    std::mutex mutex_;
};

}  // namespace assetctl::docker
