#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// build_arguments (the `docker build` argv) and PrivateDockerConfig live in their own units;
// they are included here so that one include gives a caller the whole docker module.
#include "docker/build_arguments.hpp"
#include "docker/engine_error.hpp"
#include "docker/engine_features.hpp"
#include "docker/image_inspect.hpp"
#include "docker/private_docker_config.hpp"
#include "manifest/model.hpp"
#include "process/process_runner.hpp"

namespace assetctl::docker {

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
    // Passed to every engine command from now on (PATH with the credential helper's folder);
    // call before commands run on other threads.
    void add_environment(std::string name, std::string value) {
        environment_.emplace_back(std::move(name), std::move(value));
    }

    // What the engine is (identify_engine), so that `build` passes the cache options in the
    // form it takes and refuses, per asset, the options it cannot honour. Until it is set the
    // engine counts as unknown: cdk-assets' argv, nothing refused. Call before builds start.
    void set_identity(EngineIdentity identity) { identity_ = std::move(identity); }
    const EngineIdentity& identity() const { return identity_; }

    // `inspect <image>`: true when the image exists locally. Exit 1 (docker) and 125 (podman)
    // mean absent, as cdk-assets reads them, except when stderr says the daemon cannot be
    // reached (docker exits 1 for that too): that, and any other exit, is an EngineError.
    bool image_exists(const std::string& image);
    // `inspect --format {{.Id}} <image>`: the local image id, `sha256:...` (podman prints the
    // bare hex digest; it gets the prefix).
    std::string image_id(const std::string& image);
    // `image inspect <image>` parsed (image_inspect.hpp); EngineError when the command fails or
    // its answer is malformed (naming the field).
    ImageInspect inspect_image(const std::string& image);
    // `save <image>` streamed: its stdout goes into a pipe while it runs on a thread of its own,
    // and consume(read_fd) reads the pipe on the calling thread (to its end, or as far as it
    // wants). The read end is closed when consume returns or throws, so an engine still writing
    // then ends (SIGPIPE), and the engine's thread is joined before save returns. Errors, first
    // one wins: the engine cannot be started (EngineError with the spawn hint); consume threw
    // (that exception, not the engine's broken pipe); the engine did not succeed (EngineError
    // `'<engine> save <image>' failed (exit N): <last stderr line>`, also when consume returned
    // normally: it may have read a truncated stream).
    void save(const std::string& image, const std::function<void(int fd)>& consume);
    // Throws EngineError naming the engine, its version and each of the source's options it
    // cannot honour (docker/engine_features.hpp); nothing when it can honour them all.
    void check_build_options(const manifest::DockerImageSource& source) const;
    // `build` in `context` with BUILDX_NO_DEFAULT_ATTESTATIONS=1, streaming stdout and stderr
    // lines to `output`; throws EngineError with the output's last 20 lines on failure, and
    // before starting as check_build_options does.
    void build(const manifest::DockerImageSource& source, const std::filesystem::path& context,
               const std::string& local_tag, const LineSink& output);
    // `load -i <tarball>`: the loaded image's name from the last line that names one:
    // `Loaded image: x` (docker, podman >= 4, which writes `localhost/x` for unqualified names),
    // `Loaded image ID: sha256:...` (docker, untagged image: the id is returned) or
    // `Loaded image(s): a,b` (podman 3: the last name of the list).
    std::string load(const std::filesystem::path& tarball);
    // `tag <source> <target>`. Tags run one at a time: podman 4.3 writes an image's whole list
    // of names back, so two tags of one image at once can lose one of them ("image not known"
    // at its push).
    void tag(const std::string& source, const std::string& target);
    // `login --username U --password-stdin <server>`: the password goes through stdin only and
    // is scrubbed from any error. A scheme and trailing `/` on `server` are dropped, as
    // cdk-assets does with ECR's proxyEndpoint (`https://<acct>.dkr.ecr.<region>.amazonaws.com`).
    void login(const std::string& server, const std::string& username, const std::string& password);
    // `push <image>`, streaming output lines like build. Returns the pushed manifest's digest
    // when the engine writes it to a file (podman, which prints none: `--digestfile` in the
    // private DOCKER_CONFIG folder), else empty (docker prints it: digest_from_push_output).
    std::string push(const std::string& image, const LineSink& output);

  private:
    process::Command command(std::vector<std::string> arguments) const;
    // Runs `command`; only a command that cannot be started throws (EngineError with a hint).
    process::Result run(const process::Command& command) const;
    // Runs `command` and throws EngineError `<what> failed (exit N): <last output line>` with the
    // output's tail when it does not succeed; `secret` (a password) is redacted from the tail.
    process::Result run_checked(const process::Command& command, const std::string& what,
                                std::string_view secret = {}) const;
    // Throws run_checked's EngineError for a result that is not ok().
    static void check(const process::Result& result, const std::string& what,
                      std::string_view secret = {});
    // Runs `command` streaming its output lines to `output`; when it does not succeed, throws
    // EngineError `<what> failed (exit N)` with the last lines streamed.
    void run_streamed(process::Command command, const LineSink& output,
                      const std::string& what) const;
    // `'docker inspect x'`: the command as messages name it, quoted.
    std::string quoted(const std::vector<std::string>& arguments) const;

    process::ProcessRunner& runner_;
    std::string executable_;
    std::optional<std::filesystem::path> docker_config_;
    std::vector<std::pair<std::string, std::string>> environment_;
    EngineIdentity identity_;
    std::mutex tag_mutex_;
};

}  // namespace assetctl::docker
