#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "aws/credentials.hpp"
#include "aws/ecr.hpp"
#include "aws/role_cache.hpp"
#include "aws/sts.hpp"
#include "docker/engine_client.hpp"
#include "image/tarball_pusher.hpp"
#include "manifest/selection.hpp"
#include "process/process_runner.hpp"
#include "publish/events.hpp"

namespace assetctl::publish {

inline constexpr int k_default_build_jobs = 1;    // some builders are not concurrency-safe
inline constexpr int k_default_publish_jobs = 4;  // cdk deploy publishes 8; ECR is fine with 4

enum class TarballMode { native, docker };

struct Options {
    int build_jobs = k_default_build_jobs;
    int publish_jobs = k_default_publish_jobs;
    bool fail_fast = false;  // the first failure stops everything not yet started
    bool dry_run = false;    // check and plan; no build, login or push
    // build: do not consult ECR and do not reuse a local image from an earlier build.
    bool force = false;
    // Per-asset build logs go here (one `<asset id>.log` each).
    std::filesystem::path log_directory;
    // Image tarballs and OCI layouts: pushed by assetctl itself (native, needs no engine) or
    // loaded into the engine and pushed with it (docker).
    TarballMode tarball_mode = TarballMode::native;
};

enum class Mode { build, publish };

// What happened to one asset at one destination.
struct Outcome {
    enum class State { published, present, built, planned, skipped, failed };

    std::string asset;
    std::string destination;
    std::string stack;
    State state = State::skipped;
    std::string image_uri;  // <registry>/<repository>:<tag> once resolved
    std::string digest;     // after a push
    std::string error;      // failed/skipped: why
    // How it was pushed: "native" (assetctl's registry client) or "docker"; empty if not.
    std::string method;
    // Native pushes: what the registry received.
    std::optional<image::NativePushReport> native;
};

std::string_view to_string(Outcome::State state);

struct Summary {
    std::vector<Outcome> outcomes;  // in selection order
    std::size_t builds = 0;         // images built or loaded (not reused)
    std::size_t pushes = 0;
    bool ok() const;
};

struct Dependencies {
    aws::CredentialsProvider& credentials;
    aws::StsApi& sts;
    aws::EcrApi& ecr;
    aws::AssumedRoleCache& roles;
    docker::EngineClient& engine;
    process::ProcessRunner& processes;  // `executable` sources
    std::optional<std::string> default_region;
    EventSink& events;
    // Logins write into this private DOCKER_CONFIG (null for build-only runs).
    docker::PrivateDockerConfig* docker_config = nullptr;
    // Each line of build output, prefixed by the caller (shown with -v).
    std::function<void(const std::string& asset, std::string_view line)> build_output;
    // Called once before the first engine command; throws (util::Fatal) when the engine is not
    // usable, which ends the run with one message instead of one failure per asset. A run
    // where ECR already has everything never calls it, so it needs no docker at all.
    std::function<void()> require_engine;
    // Pushes image tarballs and layouts without the engine (TarballMode::native); null to
    // always use the engine.
    image::TarballPusher* tarballs = nullptr;
};

// Publishes (or, in build mode, builds) every selected docker image asset:
//  1. resolve placeholders (account from GetCallerIdentity, region from the destination or the
//     default), assume each destination's role (once per role), find the repository;
//  2. skip what ECR already has (BatchGetImage, up to 100 tags per repository per call);
//  3. build what is missing once per asset however many destinations it has (reusing a local
//     image from an earlier build), on `build_jobs` threads;
//  4. log in once per registry and identity, tag and push on `publish_jobs` threads while other
//     builds go on.
// Failures are per asset and destination; the others go on unless fail_fast. Never throws for
// an asset's failure (only what require_engine throws); util::interrupted() stops new work.
Summary run(Mode mode, const manifest::Selection& selection, Dependencies& deps,
            const Options& options);

// The digest in `docker push` output (`<tag>: digest: sha256:... size: N`), or empty.
std::string digest_from_push_output(std::string_view output);

}  // namespace assetctl::publish
