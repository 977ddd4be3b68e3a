#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aws/credentials.hpp"
#include "aws/role_cache.hpp"
#include "image/native_pusher.hpp"
#include "publish/plan.hpp"
#include "publish/publisher.hpp"
#include "registry/auth.hpp"

// What the nodes of one run share: the plan, each target's and image's progress, the
// dependencies, and the helpers every node kind uses (events, failures, the stop rule). Node
// kinds (resolve, ecr_check, produce, push_docker, push_native) see this and nothing of each
// other.
namespace assetctl::publish {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start);

// Where one asset-destination pair stands; nodes move it on.
enum class Phase {
    waiting,   // nothing known yet
    resolved,  // placeholders resolved, credentials ready: the repository check may run
    missing,   // ECR lacks the tag (or, building, could not be asked): produce and push it
    finished,  // the outcome is final
};

enum class TagMutability { mutable_tags, immutable_tags };

struct TargetState {
    const PlannedTarget* plan = nullptr;
    Phase phase = Phase::waiting;
    std::string region;
    std::string repository;
    std::string tag;
    std::optional<aws::RoleTarget> role;
    aws::AwsCredentials credentials;
    std::string registry_host;  // from the repository URI
    TagMutability mutability = TagMutability::mutable_tags;
    Outcome outcome;
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

    // The targets of `image` still waiting for it (Phase::missing).
    std::vector<TargetState*> missing_targets(const PlannedImage& image);

    // --- events and outcomes --------------------------------------------------------------
    void emit(EventType type, const TargetState& target, std::string message,
              std::optional<std::chrono::milliseconds> duration = {},
              std::vector<std::string> details = {});
    void emit_asset(EventType type, const SelectedImage& selected, std::string message,
                    std::optional<std::chrono::milliseconds> duration = {});
    // Final: failed with `error` (and --fail-fast stops the run).
    void fail(TargetState& target, const std::string& error, std::vector<std::string> details = {});
    // Final: skipped with `reason`.
    void skip(TargetState& target, const std::string& reason);
    // Final: present in ECR without our push (`message` on the success event).
    void settle_present(TargetState& target, const std::string& message);
    // Whether ECR has the target's tag now (false when it cannot be asked).
    bool tag_present(const TargetState& target);
    // The immutable-tag fallback: a push that an immutable repository refused is fine when the
    // tag is there now (another job published it since the check). True when settled.
    bool settled_by_immutable_tag(TargetState& target);
    // The check could not be made: publishing fails, a build builds anyway.
    void check_failed(TargetState& target, const std::string& error);
    // Final: built (build mode).
    void mark_built(TargetState& target);

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

    void count_build() { ++builds_; }
    void count_push() { ++pushes_; }
    Summary summary() const;

  private:
    Mode mode_;
    const Plan& plan_;
    Dependencies& deps_;
    const Options& options_;
    std::vector<TargetState> targets_;
    std::vector<ImageState> images_;
    std::optional<aws::AwsCredentials> caller_;
    std::once_flag identity_once_;
    std::string account_;
    std::string identity_error_;
    std::atomic<bool> failed_fast_{false};
    std::atomic<std::size_t> builds_{0};
    std::atomic<std::size_t> pushes_{0};
};

}  // namespace assetctl::publish
