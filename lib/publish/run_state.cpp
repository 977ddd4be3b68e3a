#include "publish/run_state.hpp"

#include <mutex>

#include <spdlog/spdlog.h>

#include "util/interrupt.hpp"

namespace assetctl::publish {
namespace {

using State = Outcome::State;

// Registry logins for native pushes: ECR's authorization token for the destination's
// identity and region (EcrApi caches it). A refresh - the registry refused the token with a
// 401 before its expiry, e.g. revoked - drops the refused token from the cache first, so ECR
// is asked for a new one.
class EcrRegistryCredentials final : public registry::CredentialsSource {
  public:
    EcrRegistryCredentials(aws::EcrApi& ecr, aws::AwsCredentials caller, std::string region)
        : ecr_(ecr), caller_(std::move(caller)), region_(std::move(region)) {}

    std::optional<registry::Credentials> get(bool refresh) override {
        std::lock_guard lock(mutex_);
        if (refresh && last_password_) {
            ecr_.forget_authorization_token(caller_, region_, *last_password_);
        }
        const auto authorization = ecr_.get_authorization_token(caller_, region_);
        last_password_ = authorization.password;
        return registry::Credentials{authorization.username, authorization.password};
    }

  private:
    aws::EcrApi& ecr_;
    aws::AwsCredentials caller_;
    std::string region_;
    std::mutex mutex_;
    std::optional<std::string> last_password_;
};

}  // namespace

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

RunState::RunState(Mode mode, const Plan& plan, Dependencies& deps, const Options& options)
    : mode_(mode), plan_(plan), deps_(deps), options_(options), engine_logins_(deps) {
    for (const auto& planned : plan.targets) {
        TargetState target;
        target.plan = &planned;
        target.outcome.asset = planned.selected->asset.id;
        target.outcome.display_name = planned.selected->asset.display_name.value_or("");
        target.outcome.destination = planned.destination->id;
        target.outcome.stack = planned.selected->origin.stack;
        display_names_.emplace(target.outcome.asset, target.outcome.display_name);
        targets_.push_back(std::move(target));
    }
    for (const auto& planned : plan.images) {
        ImageState image;
        image.plan = &planned;
        images_.push_back(std::move(image));
    }
    for (const auto& planned : plan.file_targets) {
        FileTargetState target;
        target.plan = &planned;
        target.outcome.kind = Outcome::Kind::file;
        target.outcome.asset = planned.selected->asset.id;
        target.outcome.display_name = planned.selected->asset.display_name.value_or("");
        target.outcome.destination = planned.destination->id;
        target.outcome.stack = planned.selected->origin.stack;
        display_names_.emplace(target.outcome.asset, target.outcome.display_name);
        file_targets_.push_back(std::move(target));
    }
    for (const auto& planned : plan.files) {
        files_.push_back(FileState{&planned, std::nullopt});
    }
}

std::vector<TargetState*> RunState::missing_targets(const PlannedImage& image) {
    std::vector<TargetState*> missing;
    for (const auto index : image.targets) {
        if (targets_[index].phase == Phase::missing) {
            missing.push_back(&targets_[index]);
        }
    }
    return missing;
}

std::vector<FileTargetState*> RunState::missing_targets(const PlannedFile& file) {
    std::vector<FileTargetState*> missing;
    for (const auto index : file.targets) {
        if (file_targets_[index].phase == Phase::missing) {
            missing.push_back(&file_targets_[index]);
        }
    }
    return missing;
}

void RunState::emit(EventType type, const TargetProgress& target, std::string message,
                    std::optional<std::chrono::milliseconds> duration,
                    std::vector<std::string> details) {
    Event event;
    event.type = type;
    event.asset = target.outcome.asset;
    event.display_name = target.outcome.display_name;
    event.destination = target.outcome.destination;
    event.message = std::move(message);
    event.duration = duration;
    event.details = std::move(details);
    if (type == EventType::success) {
        event.image_uri = target.outcome.image_uri;
        event.digest = target.outcome.digest;
        event.object_url = target.outcome.object_url;
    }
    deps_.events.emit(event);
}

void RunState::emit_asset(EventType type, const std::string& asset, std::string message,
                          std::optional<std::chrono::milliseconds> duration) {
    Event event;
    event.type = type;
    event.asset = asset;
    if (const auto found = display_names_.find(asset); found != display_names_.end()) {
        event.display_name = found->second;
    }
    event.message = std::move(message);
    event.duration = duration;
    deps_.events.emit(event);
}

void RunState::report_bytes(const TargetProgress& target, std::uint64_t bytes) {
    Event event;
    event.type = EventType::progress;
    event.asset = target.outcome.asset;
    event.display_name = target.outcome.display_name;
    event.destination = target.outcome.destination;
    event.bytes = bytes;
    deps_.events.emit(event);
}

void RunState::fail(TargetProgress& target, const std::string& error,
                    std::vector<std::string> details) {
    target.phase = Phase::finished;
    target.outcome.state = State::failed;
    target.outcome.error = error;
    emit(EventType::fail, target, error, {}, std::move(details));
    if (options_.fail_fast) {
        failed_fast_ = true;
    }
}

void RunState::skip(TargetProgress& target, const std::string& reason) {
    target.phase = Phase::finished;
    target.outcome.state = State::skipped;
    target.outcome.error = reason;
}

void RunState::settle_present(TargetProgress& target, const std::string& message) {
    target.phase = Phase::finished;
    target.outcome.state = State::present;
    emit(EventType::success, target, message);
}

bool RunState::tag_present(const TargetState& target) {
    try {
        return deps_.aws.ecr
            .describe_image(target.credentials, target.region, target.repository, target.tag)
            .has_value();
    } catch (const std::exception&) {
        return false;
    }
}

bool RunState::settled_by_immutable_tag(TargetState& target) {
    if (target.mutability != TagMutability::immutable_tags || !tag_present(target)) {
        return false;
    }
    settle_present(target, "published (already present, immutable tag)");
    return true;
}

void RunState::check_failed(TargetProgress& target, const std::string& error) {
    if (mode_ == Mode::build) {
        spdlog::warn("{}:{}: cannot check {} ({}); building anyway", target.outcome.asset,
                     target.outcome.destination,
                     target.outcome.kind == Outcome::Kind::file ? "S3" : "ECR", error);
        target.phase = Phase::missing;
        return;
    }
    fail(target, error);
}

void RunState::mark_built(TargetProgress& target) {
    target.phase = Phase::finished;
    target.outcome.state = State::built;
    emit(EventType::success, target, "built");
}

bool RunState::stopping() const {
    return util::interrupted() || failed_fast_;
}

std::string RunState::stop_reason() const {
    if (util::interrupted()) {
        return "interrupted";
    }
    return "not attempted: an earlier asset failed (--fail-fast)";
}

const std::string& RunState::account() {
    std::call_once(identity_once_, [this] {
        try {
            account_ =
                deps_.aws.sts.get_caller_identity(*caller_, deps_.aws.default_region).account;
        } catch (const std::exception& e) {
            identity_error_ = std::string("GetCallerIdentity: ") + e.what();
        }
    });
    if (!identity_error_.empty()) {
        throw std::runtime_error(identity_error_);
    }
    return account_;
}

std::shared_ptr<registry::CredentialsSource> RunState::registry_login(const TargetState& target) {
    return std::make_shared<EcrRegistryCredentials>(deps_.aws.ecr, target.credentials,
                                                    target.region);
}

Summary RunState::summary() const {
    Summary summary;
    for (const auto& target : targets_) {
        summary.outcomes.push_back(target.outcome);
    }
    for (const auto& image : images_) {
        if (image.prepared && mode_ == Mode::publish) {
            summary.images.push_back({image.plan->selected->asset.id, image.prepared->report()});
        }
    }
    for (const auto& target : file_targets_) {
        summary.outcomes.push_back(target.outcome);
    }
    for (const auto& file : files_) {
        if (file.packaged) {
            summary.files.push_back({file.plan->selected->asset.id, file.packaged->path.string(),
                                     file.packaged->zipped, file.packaged->size});
        }
    }
    summary.builds = builds_;
    summary.pushes = pushes_;
    summary.uploads = uploads_;
    return summary;
}

}  // namespace assetctl::publish
