#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aws/credentials.hpp"
#include "aws/role_cache.hpp"
#include "image/native_pusher.hpp"
#include "packaging/file_packager.hpp"
#include "publish/engine_login.hpp"
#include "publish/plan.hpp"
#include "publish/publisher.hpp"
#include "registry/auth.hpp"

// What the nodes of one run share: the plan, each target's, image's and file's progress, the
// dependencies, and the helpers every node kind uses (events, failures, the stop rule). Node
// kinds (resolve, ecr_check, produce, push_docker, push_native, file_check, package, upload)
// see this and nothing of each other.
namespace assetctl::publish {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start);

// Where one asset-destination pair stands; nodes move it on.
enum class Phase {
    waiting,   // nothing known yet
    resolved,  // placeholders resolved, credentials ready: the check may run
    missing,   // ECR lacks the tag or S3 the object (or, building, could not be asked)
    finished,  // the outcome is final
};

enum class TagMutability { mutable_tags, immutable_tags };

// What every asset-destination pair has, image or file.
struct TargetProgress {
    Phase phase = Phase::waiting;
    Outcome outcome;
};

struct TargetState : TargetProgress {
    const PlannedTarget* plan = nullptr;
    std::string region;
    std::string repository;
    std::string tag;
    std::optional<aws::RoleTarget> role;
    aws::AwsCredentials credentials;
    std::string registry_host;  // from the repository URI
    TagMutability mutability = TagMutability::mutable_tags;
};

// One file asset at one bucket.
struct FileTargetState : TargetProgress {
    const PlannedFileTarget* plan = nullptr;
    aws::BucketRef bucket;  // region, name and the account that must own it
    std::string key;
    std::optional<aws::RoleTarget> role;
    aws::AwsCredentials credentials;
};

struct FileState {
    const PlannedFile* plan = nullptr;
    std::optional<packaging::PackagedFile> packaged;  // once its package node made it
};

struct ImageState {
    const PlannedImage* plan = nullptr;
    std::string local_image;  // the engine's name for it (engine kinds)
    // Pushed natively: SourceKind::archive, or an engine image under PushMode::native.
    std::shared_ptr<const image::PreparedImage> prepared;
};

class RunState {
  public:
    RunState(Mode mode, const Plan& plan, Dependencies& deps, const Options& options);

    Mode mode() const { return mode_; }
    const Options& options() const { return options_; }
    Dependencies& deps() { return deps_; }
    const Plan& plan() const { return plan_; }
    TargetState& target(std::size_t index) { return targets_[index]; }
    ImageState& image(std::size_t index) { return images_[index]; }
    std::vector<TargetState>& targets() { return targets_; }
    FileTargetState& file_target(std::size_t index) { return file_targets_[index]; }
    FileState& file(std::size_t index) { return files_[index]; }
    std::vector<FileTargetState>& file_targets() { return file_targets_; }

    // The targets of `image` still waiting for it (Phase::missing).
    std::vector<TargetState*> missing_targets(const PlannedImage& image);
    // The targets of `file` still waiting for it (Phase::missing).
    std::vector<FileTargetState*> missing_targets(const PlannedFile& file);

    // --- events and outcomes --------------------------------------------------------------
    void emit(EventType type, const TargetProgress& target, std::string message,
              std::optional<std::chrono::milliseconds> duration = {},
              std::vector<std::string> details = {});
    void emit_asset(EventType type, const std::string& asset, std::string message,
                    std::optional<std::chrono::milliseconds> duration = {});
    // A `progress` event: the target's upload has moved `bytes` so far.
    void report_bytes(const TargetProgress& target, std::uint64_t bytes);
    // Final: failed with `error` (and --fail-fast stops the run).
    void fail(TargetProgress& target, const std::string& error,
              std::vector<std::string> details = {});
    // Final: skipped with `reason`.
    void skip(TargetProgress& target, const std::string& reason);
    // Final: present in ECR or S3 without our push (`message` on the success event).
    void settle_present(TargetProgress& target, const std::string& message);
    // Whether ECR has the target's tag now (false when it cannot be asked).
    bool tag_present(const TargetState& target);
    // The immutable-tag fallback: a push that an immutable repository refused is fine when the
    // tag is there now (another job published it since the check). True when settled.
    bool settled_by_immutable_tag(TargetState& target);
    // The check could not be made: publishing fails, a build builds anyway.
    void check_failed(TargetProgress& target, const std::string& error);
    // Final: built (build mode).
    void mark_built(TargetProgress& target);

    // --- the stop rule ----------------------------------------------------------------------
    // True once SIGINT/SIGTERM came or, with --fail-fast, something failed.
    bool stopping() const;
    // Why nothing more starts ("interrupted" or the --fail-fast reason).
    std::string stop_reason() const;

    // --- shared AWS facts -------------------------------------------------------------------
    void set_caller(aws::AwsCredentials credentials) { caller_ = std::move(credentials); }
    const std::optional<aws::AwsCredentials>& caller() const { return caller_; }
    // The caller's account (one GetCallerIdentity for the run); throws when it cannot be had.
    const std::string& account();
    // ECR's authorization token for the target's identity and region, as registry logins.
    std::shared_ptr<registry::CredentialsSource> registry_login(const TargetState& target);
    // The engine's `docker login`s of this run (before builds that need them, before pushes).
    EngineLogins& engine_logins() { return engine_logins_; }

    void count_build() { ++builds_; }
    void count_push() { ++pushes_; }
    void count_upload() { ++uploads_; }
    Summary summary() const;

  private:
    Mode mode_;
    const Plan& plan_;
    Dependencies& deps_;
    const Options& options_;
    std::vector<TargetState> targets_;
    std::vector<ImageState> images_;
    std::vector<FileTargetState> file_targets_;
    std::vector<FileState> files_;
    std::map<std::string, std::string> display_names_;  // asset id -> displayName ("" if none)
    std::optional<aws::AwsCredentials> caller_;
    std::once_flag identity_once_;
    std::string account_;
    std::string identity_error_;
    std::atomic<bool> failed_fast_{false};
    std::atomic<std::size_t> builds_{0};
    std::atomic<std::size_t> pushes_{0};
    std::atomic<std::size_t> uploads_{0};
    EngineLogins engine_logins_;
};

}  // namespace assetctl::publish
