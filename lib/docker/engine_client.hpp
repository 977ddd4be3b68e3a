#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "manifest/model.hpp"
#include "process/process_runner.hpp"

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

// The local tag cdk-assets gives a directory asset's build: `cdkasset-<asset id lowercased>`.
std::string local_image_tag(std::string_view asset_id);

// The arguments after the executable for `docker build` of a directory source, in the order
// cdk-assets writes them (REFERENCE.md section 1):
//   build [--build-arg K=V]... [--build-context K=V]... [--secret id=K,V]... [--ssh S]
//   --tag <local_tag> [--target T] [--file F] [--network N] [--platform P] [--output=O]...
//   [--cache-from type=T,k=v...]... [--cache-to type=T,k=v...] [--no-cache] .
// (`--file` is passed as written in the manifest; the process runs in the build context.)
// Like cdk-assets, an optional string option that is empty is left out.
std::vector<std::string> build_arguments(const manifest::DockerImageSource& source,
                                         const std::string& local_tag);

// Receives a line of a command's output as it arrives (for streaming with an asset prefix).
// Called on the thread that runs the command, stdout and stderr lines interleaved as they come.
using LineSink = std::function<void(std::string_view line)>;

// The engine CLI (docker, podman, finch) driven through a ProcessRunner. Every call passes
// DOCKER_CONFIG when a private config folder is set, never a password in argv. Every failure
// (cannot start the executable, non-zero exit, signal, interruption) is an EngineError; after an
// interruption (SIGINT/SIGTERM) the caller is expected to check util::interrupted().
class EngineClient {
  public:
    EngineClient(process::ProcessRunner& runner, std::string executable,
                 std::optional<std::filesystem::path> docker_config = std::nullopt);

    const std::string& executable() const { return executable_; }

    // `inspect <image>`: true when the image exists locally. Exit 1 (docker) and 125 (podman)
    // mean absent, as cdk-assets reads them, except when stderr says the daemon cannot be
    // reached (docker exits 1 for that too): that, and any other exit, is an EngineError.
    bool image_exists(const std::string& image);
    // `inspect --format {{.Id}} <image>`: the local image id, `sha256:...` (podman prints the
    // bare hex digest; it gets the prefix).
    std::string image_id(const std::string& image);
    // `build` in `context` with BUILDX_NO_DEFAULT_ATTESTATIONS=1, streaming stdout and stderr
    // lines to `output`; throws EngineError with the output's last 20 lines on failure.
    void build(const manifest::DockerImageSource& source, const std::filesystem::path& context,
               const std::string& local_tag, const LineSink& output);
    // `load -i <tarball>`: the loaded image's name from the last line that names one:
    // `Loaded image: x` (docker, podman >= 4, which writes `localhost/x` for unqualified names),
    // `Loaded image ID: sha256:...` (docker, untagged image: the id is returned) or
    // `Loaded image(s): a,b` (podman 3: the last name of the list).
    std::string load(const std::filesystem::path& tarball);
    void tag(const std::string& source, const std::string& target);
    // `login --username U --password-stdin <server>`: the password goes through stdin only and
    // is scrubbed from any error. A scheme and trailing `/` on `server` are dropped, as
    // cdk-assets does with ECR's proxyEndpoint (`https://<acct>.dkr.ecr.<region>.amazonaws.com`).
    void login(const std::string& server, const std::string& username, const std::string& password);
    // `push <image>`, streaming output lines like build.
    void push(const std::string& image, const LineSink& output);

  private:
    process::Command command(std::vector<std::string> arguments) const;
    process::Result run(const process::Command& command) const;

    process::ProcessRunner& runner_;
    std::string executable_;
    std::optional<std::filesystem::path> docker_config_;
};

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

  private:
    std::filesystem::path path_;
    std::mutex mutex_;
};

}  // namespace assetctl::docker
