#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "aws/s3_upload.hpp"
#include "aws/services.hpp"
#include "docker/engine_client.hpp"
#include "http/retry.hpp"
#include "image/native_pusher.hpp"
#include "manifest/selection.hpp"
#include "process/process_runner.hpp"
#include "publish/events.hpp"
#include "publish/plan.hpp"

namespace assetctl::publish {

inline constexpr int k_default_build_jobs = 1;    // some builders are not concurrency-safe
inline constexpr int k_default_publish_jobs = 4;  // cdk deploy publishes 8; ECR is fine with 4
inline constexpr std::size_t k_default_upload_jobs = image::k_default_upload_jobs;

enum class TarballMode { native, docker };
// Images the engine made (directory builds, `executable` sources): exported from the engine and
// pushed by assetctl's registry client (native), or `docker login` + `tag` + `push` (docker).
enum class PushMode { native, docker };

// Every job count of a run lives here.
struct Options {
    int build_jobs = k_default_build_jobs;            // images produced at once
    int publish_jobs = k_default_publish_jobs;        // resolves, checks and pushes at once
    std::size_t upload_jobs = k_default_upload_jobs;  // native pushes: blobs of one image at once
    bool fail_fast = false;  // the first failure stops everything not yet started
    bool dry_run = false;    // check and plan; no build, login or push
    // build: do not consult ECR and do not reuse a local image from an earlier build.
    bool force = false;
    // Per-asset build logs go here (one `<asset id>.log` each).
    std::filesystem::path log_directory;
    // Image tarballs and OCI layouts: pushed by assetctl itself (native, needs no engine) or
    // loaded into the engine and pushed with it (docker).
    TarballMode tarball_mode = TarballMode::native;
    PushMode push_mode = PushMode::native;
};

// What putting one file into S3 cost.
struct FileUploadReport {
    bool multipart = false;
    std::size_t parts = 0;
    std::uint64_t bytes = 0;
};

// What happened to one asset at one destination.
struct Outcome {
    enum class State { published, present, built, planned, skipped, failed };
    enum class Kind { image, file };

    Kind kind = Kind::image;
    std::string asset;
    std::string display_name;  // the manifest's displayName, if any
    std::string destination;
    std::string stack;
    State state = State::skipped;
    std::string image_uri;  // <registry>/<repository>:<tag> once resolved
    std::string digest;     // after a push
    std::string error;      // failed/skipped: why
    // How it was pushed: "native" (assetctl's registry client) or "docker"; empty if not.
    std::string method;
    // Native pushes: what the registry received.
    std::optional<image::NativePushReport> upload;
    std::string object_url;  // files: s3://<bucket>/<key> once resolved
    // Files: "put" or "multipart" once uploaded (in `method`), and what was sent.
    std::optional<FileUploadReport> file_upload;
};

std::string_view to_string(Outcome::State state);

// What publishing one image natively cost (its exports and compressions, all destinations).
struct ImageSummary {
    std::string asset;
    image::ImageReport report;
};

// One file asset packaged in this run (a zip written or reused, an executable's output).
struct FileSummary {
    std::string asset;
    std::string path;     // the file uploaded
    bool zipped = false;  // a zip was written now (false: the cached zip, or no zip)
    std::uint64_t bytes = 0;
};

struct Summary {
    std::vector<Outcome> outcomes;     // in selection order: images, then files
    std::vector<ImageSummary> images;  // images pushed natively (publish mode), in plan order
    std::vector<FileSummary> files;    // files packaged, in plan order
    std::size_t builds = 0;            // images built or loaded (not reused)
    std::size_t pushes = 0;
    std::size_t uploads = 0;  // files put into S3
    bool ok() const;
};

// What a run works with; fill it with designated initializers.
struct Dependencies {
    aws::Services aws;
    docker::EngineClient& engine;
    process::ProcessRunner& processes;  // `executable` sources
    EventSink& events;
    // Logins write into this private DOCKER_CONFIG (null for build-only runs).
    docker::PrivateDockerConfig* docker_config = nullptr;
    // Log the engine in to an image's destination registries before building it, as cdk-assets
    // does: before every build under PushMode::docker, and under PushMode::native before builds
    // whose cache options name that registry. Off when a CDK docker credentials file gives the
    // builds their logins (cdk-assets then logs in only to push).
    bool log_in_before_builds = true;
    // Each line of build output, prefixed by the caller (shown with -v).
    std::function<void(const std::string& asset, std::string_view line)> build_output = {};
    // Called once before the first engine command; throws (util::Fatal) when the engine is not
    // usable, which ends the run with one message instead of one failure per asset. A run
    // where ECR already has everything never calls it, so it needs no docker at all.
    std::function<void()> require_engine = {};
    // Pushes image tarballs and layouts without the engine (TarballMode::native) and images the
    // engine made (PushMode::native); null to always push with the engine.
    image::NativePusher* native = nullptr;
    // The retry policy (and its waits) for `docker push`; null: three attempts, no wait.
    const http::RetryContext* retry = nullptr;
    // How files go into S3 (multipart threshold, part size, parts in flight).
    aws::UploadSettings uploads = {};
};

// Publishes (or, in build mode, builds) every selected asset as a work graph
// (publish/plan.hpp, run by publish/graph.hpp):
//  1. resolve placeholders (account from GetCallerIdentity, region from the destination or the
//     default) and assume each destination's role, once per role      -> resolve nodes;
//  2. skip what ECR already has (DescribeRepositories + BatchGetImage, up to 100 tags per
//     repository per call)                                             -> check nodes;
//  3. make sure the engine answers, once, if anything needs it          -> the engine node;
//  4. build what is missing once per asset however many destinations it has (reusing a local
//     image from an earlier build), `build_jobs` at a time             -> produce nodes;
//  5. log in once per registry and identity and push with the engine, or push natively,
//     `publish_jobs` at a time while other builds go on                -> push nodes.
// File assets, as cdk-assets publishes them: resolve; ListObjectsV2 (an object of 22 bytes or
// fewer counts as missing); package once per asset (zip cached in <manifest dir>/.cache);
// upload with the bucket's encryption mirrored, after checking the bucket's owner, once per
// bucket and identity                          -> resolve_file, check_file, package, upload.
// With dry_run the plan is logged and produce/push nodes only say what they would do.
// Failures are per asset and destination; the others go on unless fail_fast. Never throws for
// an asset's failure (only what require_engine throws); util::interrupted() stops new work.
Summary run(Mode mode, const manifest::Selection& selection, Dependencies& deps,
            const Options& options);

}  // namespace assetctl::publish
