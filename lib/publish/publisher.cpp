#include "publish/publisher.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>

#include "aws/aws_error.hpp"
#include "http/http_client.hpp"
#include "manifest/asset_manifest.hpp"
#include "manifest/sources.hpp"
#include "publish/destination.hpp"
#include "registry/auth.hpp"
#include "util/interrupt.hpp"
#include "util/per_key.hpp"
#include "util/strings.hpp"
#include "util/thread_pool.hpp"

namespace assetctl::publish {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int k_push_attempts = 3;
using State = Outcome::State;

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// Registry logins for native pushes: ECR's authorization token for the destination's
// identity and region (EcrApi caches it; a refresh after a 401 asks again).
class EcrRegistryCredentials final : public registry::CredentialsSource {
  public:
    EcrRegistryCredentials(aws::EcrApi& ecr, aws::AwsCredentials caller, std::string region)
        : ecr_(ecr), caller_(std::move(caller)), region_(std::move(region)) {}

    std::optional<registry::Credentials> get(bool /*refresh*/) override {
        const auto authorization = ecr_.get_authorization_token(caller_, region_);
        return registry::Credentials{authorization.username, authorization.password};
    }

  private:
    aws::EcrApi& ecr_;
    aws::AwsCredentials caller_;
    std::string region_;
};

// One asset at one destination, resolved as work goes on.
struct Target {
    const manifest::Selected<manifest::DockerImageAsset>* selected = nullptr;
    const manifest::DockerImageDestination* destination = nullptr;
    std::string region;
    std::string repository;
    std::string tag;
    std::optional<aws::RoleTarget> role;
    aws::AwsCredentials credentials;
    std::string registry_host;  // from the repository URI
    bool immutable_tags = false;
    bool native = false;   // pushed by the tarball pusher, not the engine
    bool checked = false;  // resolved and credentials ready: the repository check may run
    bool needs_push = false;
    Outcome outcome;
};

// One image to produce locally, shared by every destination of the same asset and source.
struct ImageJob {
    const manifest::Selected<manifest::DockerImageAsset>* selected = nullptr;
    std::vector<Target*> targets;
    std::string local_image;
    // A tarball or layout pushed without the engine (TarballMode::native).
    std::optional<manifest::ImageArchiveSource> archive;
    std::shared_ptr<const image::PreparedImage> native;
};

std::string dedup_key(const manifest::Selected<manifest::DockerImageAsset>& selected) {
    const auto& source = selected.asset.source;
    std::error_code ec;
    const auto folder = fs::weakly_canonical(fs::absolute(selected.origin.directory), ec);
    std::string key = selected.asset.id + "\n" + folder.string() + "\n";
    auto json = manifest::to_json(source);
    if (source.directory) {
        // Nested stages refer to the same folder as `../asset.x`; compare resolved paths.
        json["directory"] =
            fs::weakly_canonical(fs::absolute(selected.origin.directory / *source.directory), ec)
                .string();
        key = selected.asset.id + "\n";
    }
    return key + json.dump();
}

class Run {
  public:
    Run(Mode mode, const manifest::Selection& selection, Dependencies& deps, const Options& options)
        : mode_(mode), deps_(deps), options_(options) {
        std::map<std::string, std::size_t> job_index;
        for (const auto& selected : selection.docker_images) {
            for (const auto& destination : selected.asset.destinations) {
                auto target = std::make_unique<Target>();
                target->selected = &selected;
                target->destination = &destination;
                target->outcome.asset = selected.asset.id;
                target->outcome.destination = destination.id;
                target->outcome.stack = selected.origin.stack;
                targets_.push_back(std::move(target));
            }
        }
        for (auto& target : targets_) {
            const auto key = dedup_key(*target->selected);
            auto [it, inserted] = job_index.emplace(key, jobs_.size());
            if (inserted) {
                jobs_.push_back(std::make_unique<ImageJob>());
                jobs_.back()->selected = target->selected;
                if (options_.tarball_mode == TarballMode::native && deps_.tarballs != nullptr) {
                    jobs_.back()->archive = manifest::image_archive_source(
                        target->selected->origin, target->selected->asset.source);
                }
            }
            jobs_[it->second]->targets.push_back(target.get());
            target->native = jobs_[it->second]->archive.has_value();
        }
    }

    Summary execute() {
        for (auto& target : targets_) {
            emit(EventType::start, *target, "starting");
        }
        const bool consult_aws = prepare_credentials();
        if (consult_aws) {
            check_destinations();
        } else {
            for (auto& target : targets_) {
                if (target->outcome.state != State::failed) {
                    target->needs_push = true;
                }
            }
        }
        if (options_.dry_run) {
            plan_only();
        } else {
            produce_and_push();
        }
        Summary summary;
        for (auto& target : targets_) {
            summary.outcomes.push_back(target->outcome);
        }
        summary.builds = builds_;
        summary.pushes = pushes_;
        return summary;
    }

  private:
    // --- events and failures --------------------------------------------------------------

    void emit(EventType type, const Target& target, std::string message,
              std::optional<std::chrono::milliseconds> duration = {},
              std::vector<std::string> details = {}) {
        Event event;
        event.type = type;
        event.asset = target.outcome.asset;
        event.destination = target.outcome.destination;
        event.message = std::move(message);
        event.duration = duration;
        event.details = std::move(details);
        if (type == EventType::success) {
            event.image_uri = target.outcome.image_uri;
            event.digest = target.outcome.digest;
        }
        deps_.events.emit(event);
    }

    void emit_asset(EventType type, const ImageJob& job, std::string message,
                    std::optional<std::chrono::milliseconds> duration = {}) {
        Event event;
        event.type = type;
        event.asset = job.selected->asset.id;
        event.message = std::move(message);
        event.duration = duration;
        deps_.events.emit(event);
    }

    void fail(Target& target, const std::string& error, std::vector<std::string> details = {}) {
        target.outcome.state = State::failed;
        target.outcome.error = error;
        emit(EventType::fail, target, error, {}, std::move(details));
        if (options_.fail_fast) {
            stop_ = true;
        }
    }

    // True when no new work may start; marks the target skipped with the reason.
    bool stopped(Target& target) {
        if (util::interrupted()) {
            target.outcome.state = State::skipped;
            target.outcome.error = "interrupted";
            return true;
        }
        if (stop_) {
            target.outcome.state = State::skipped;
            target.outcome.error = "not attempted: an earlier asset failed (--fail-fast)";
            return true;
        }
        return false;
    }

    // --- credentials and checks -----------------------------------------------------------

    // Publishing needs credentials; building consults ECR only when it can (a CI build job may
    // have none) and never with --force.
    bool prepare_credentials() {
        if (mode_ == Mode::build && options_.force) {
            spdlog::info("--force: building without consulting ECR");
            return false;
        }
        try {
            auto result = deps_.credentials.resolve();
            if (!result.credentials) {
                throw aws::CredentialsError("no AWS credentials found");
            }
            base_ = *result.credentials;
            spdlog::debug("AWS credentials from {}", base_->source);
            return true;
        } catch (const std::exception& e) {
            if (mode_ == Mode::build) {
                spdlog::info(
                    "no usable AWS credentials ({}); building every selected asset "
                    "without consulting ECR",
                    util::trim(std::string(e.what()).substr(0, 200)));
                return false;
            }
            for (auto& target : targets_) {
                fail(*target, std::string("AWS credentials: ") + e.what());
            }
            return false;
        }
    }

    const std::string& account() {
        std::call_once(identity_once_, [this] {
            try {
                account_ = deps_.sts.get_caller_identity(*base_, deps_.default_region).account;
            } catch (const std::exception& e) {
                identity_error_ = std::string("GetCallerIdentity: ") + e.what();
            }
        });
        if (!identity_error_.empty()) {
            throw std::runtime_error(identity_error_);
        }
        return account_;
    }

    void resolve(Target& target) {
        auto resolved = resolve_destination(*target.destination, deps_.default_region,
                                            [this] { return account(); });
        target.region = std::move(resolved.region);
        target.repository = std::move(resolved.repository);
        target.tag = std::move(resolved.tag);
        target.role = std::move(resolved.role);
    }

    void check_destinations() {
        // Per destination: resolve and assume the role (once per role).
        {
            util::ThreadPool pool(static_cast<std::size_t>(options_.publish_jobs));
            for (auto& target_ptr : targets_) {
                Target& target = *target_ptr;
                if (target.outcome.state == State::failed) {
                    continue;
                }
                pool.submit([this, &target] { prepare(target); });
            }
        }
        // Per repository and identity: does it exist, and which tags does it have (up to 100
        // per call).
        std::map<std::tuple<std::string, std::string, std::string>, std::vector<Target*>> groups;
        for (auto& target : targets_) {
            if (target->checked) {
                groups[{target->credentials.keys.access_key_id, target->region, target->repository}]
                    .push_back(target.get());
            }
        }
        util::ThreadPool pool(static_cast<std::size_t>(options_.publish_jobs));
        for (auto& [key, group] : groups) {
            pool.submit([this, &group] { check_tags(group); });
        }
    }

    void prepare(Target& target) {
        if (stopped(target)) {
            return;
        }
        try {
            resolve(target);
            target.credentials =
                target.role ? deps_.roles.credentials_for(*base_, *target.role) : *base_;
            emit(EventType::check, target,
                 "checking " + target.repository + ":" + target.tag + " in " + target.region);
            target.checked = true;
        } catch (const std::exception& e) {
            check_failed(target, e.what());
        }
    }

    // Publishing cannot go on without the check; a build only wanted to skip work, so it
    // builds anyway.
    void check_failed(Target& target, const std::string& error) {
        if (mode_ == Mode::build) {
            spdlog::warn("{}:{}: cannot check ECR ({}); building anyway", target.outcome.asset,
                         target.outcome.destination, error);
            target.needs_push = true;
            return;
        }
        fail(target, error);
    }

    std::string account_or_unknown(const Target& target) {
        if (target.role) {
            // arn:partition:iam::ACCOUNT:role/...
            const auto& arn = target.role->role_arn;
            const auto start = arn.find("::");
            if (start != std::string::npos) {
                return arn.substr(start + 2, arn.find(':', start + 2) - start - 2);
            }
        }
        try {
            return account();
        } catch (const std::exception&) {
            return "(unknown)";
        }
    }

    // DescribeRepositories and BatchGetImage go out at the same time: the repository's URI and
    // tag mutability are needed for a push, the tags for deciding whether to push at all.
    void check_tags(const std::vector<Target*>& group) {
        std::vector<std::string> tags;
        for (const auto* target : group) {
            tags.push_back(target->tag);
        }
        const auto& first = *group.front();
        const bool native = std::any_of(group.begin(), group.end(),
                                        [](const Target* target) { return target->native; });
        auto repository_lookup = std::async(std::launch::async, [this, &first, native] {
            auto repository =
                deps_.ecr.describe_repository(first.credentials, first.region, first.repository);
            if (repository && native && !options_.dry_run) {
                warm_up(*repository, first);  // the group shares identity, region and registry
            }
            return repository;
        });
        std::optional<aws::ImageLookup> lookup;
        std::string lookup_error;
        try {
            lookup =
                deps_.ecr.batch_get_image(first.credentials, first.region, first.repository, tags);
        } catch (const std::exception& e) {
            lookup_error = e.what();
        }
        std::optional<aws::Repository> repository;
        try {
            repository = repository_lookup.get();
        } catch (const std::exception& e) {
            for (auto* target : group) {
                check_failed(*target, e.what());
            }
            return;
        }
        if (!repository) {
            for (auto* target : group) {
                check_failed(*target,
                             not_bootstrapped_message(target->repository,
                                                      account_or_unknown(*target), target->region));
            }
            return;
        }
        std::set<std::string> found;
        if (lookup) {
            for (const auto& [tag, digest] : lookup->found) {
                found.insert(tag);
            }
        }
        for (auto* target : group) {
            target->registry_host = repository->uri.substr(0, repository->uri.find('/'));
            target->immutable_tags = repository->tag_mutability == "IMMUTABLE";
            target->outcome.image_uri = repository->uri + ":" + target->tag;
            if (!lookup) {
                check_failed(*target, lookup_error);
            } else if (found.contains(target->tag)) {
                target->outcome.state = State::present;
                emit(EventType::found, *target,
                     "found " + target->outcome.image_uri + " (already published)");
                emit(EventType::success, *target, "published (already present)");
            } else {
                target->needs_push = true;
            }
        }
    }

    // While BatchGetImage is still out, opens the connection to the registry of a native push
    // (TLS handshake, authentication scheme): a push that follows starts at once. A tag that
    // turns out to be present costs one unauthenticated GET /v2/ - and no login: the ECR token
    // is fetched only for a push (a no-op publish never logs in).
    void warm_up(const aws::Repository& repository, const Target& target) {
        const std::string host = repository.uri.substr(0, repository.uri.find('/'));
        std::lock_guard lock(warm_ups_mutex_);
        warm_ups_.push_back(std::async(std::launch::async, [this, host, &target] {
            deps_.tarballs->warm_up(host, target.credentials.keys.access_key_id,
                                    std::make_shared<EcrRegistryCredentials>(
                                        deps_.ecr, target.credentials, target.region));
        }));
    }

    // --- building and pushing -------------------------------------------------------------

    void plan_only() {
        for (auto& job : jobs_) {
            bool wanted = false;
            for (auto* target : job->targets) {
                wanted = wanted || target->needs_push;
            }
            if (!wanted) {
                continue;
            }
            const auto& source = job->selected->asset.source;
            std::string what = job->archive ? "would read " + job->archive->path.string()
                               : source.directory
                                   ? "would build " + *source.directory
                                   : "would run " + util::shell_join(*source.executable);
            emit_asset(EventType::debug, *job, what);
            for (auto* target : job->targets) {
                if (!target->needs_push) {
                    continue;
                }
                target->outcome.state = State::planned;
                emit(EventType::upload, *target,
                     mode_ == Mode::publish ? what + " and push " +
                                                  (target->outcome.image_uri.empty()
                                                       ? target->repository + ":" + target->tag
                                                       : target->outcome.image_uri)
                                            : what);
            }
        }
    }

    void produce_and_push() {
        bool any = false;
        for (auto& job : jobs_) {
            for (auto* target : job->targets) {
                any = any || (target->needs_push && !job->archive);
            }
        }
        if (any && deps_.require_engine) {
            deps_.require_engine();
        }
        util::ThreadPool pushes(static_cast<std::size_t>(options_.publish_jobs));
        {
            util::ThreadPool builds(static_cast<std::size_t>(options_.build_jobs));
            for (auto& job_ptr : jobs_) {
                ImageJob& job = *job_ptr;
                bool wanted = false;
                for (auto* target : job.targets) {
                    wanted = wanted || target->needs_push;
                }
                if (!wanted) {
                    continue;
                }
                builds.submit([this, &job, &pushes] {
                    if (!produce(job)) {
                        return;
                    }
                    if (mode_ == Mode::build) {
                        for (auto* target : job.targets) {
                            if (target->needs_push) {
                                target->outcome.state = State::built;
                            }
                        }
                        return;
                    }
                    for (auto* target : job.targets) {
                        if (target->needs_push) {
                            pushes.submit([this, &job, target] { push(job, *target); });
                        }
                    }
                });
            }
        }
        pushes.wait();
    }

    // Builds, loads or runs the asset's source once. False (targets failed) on error.
    bool produce(ImageJob& job) {
        std::vector<Target*> waiting;
        for (auto* target : job.targets) {
            if (target->needs_push) {
                waiting.push_back(target);
            }
        }
        bool stop = false;
        for (auto* target : waiting) {
            stop = stopped(*target) || stop;
        }
        if (stop) {
            return false;
        }
        const auto& selected = *job.selected;
        const auto& source = selected.asset.source;
        const auto started = Clock::now();
        std::vector<std::string> tail;
        try {
            if (job.archive) {
                read_archive(job);
                ++builds_;
                return true;
            }
            if (source.directory) {
                const auto context = selected.origin.directory / *source.directory;
                job.local_image = docker::local_image_tag(selected.asset.id);
                if (!options_.force && deps_.engine.image_exists(job.local_image)) {
                    emit_asset(
                        EventType::cached, job,
                        "using the local image " + job.local_image + " from an earlier build");
                    return true;
                }
                emit_asset(EventType::build, job, "building " + job.local_image);
                LogFile log(options_.log_directory, selected.asset.id);
                deps_.engine.build(source, context, job.local_image, [&](std::string_view line) {
                    log.write(line);
                    if (deps_.build_output) {
                        deps_.build_output(selected.asset.id, line);
                    }
                });
            } else if (auto archive = manifest::image_archive_source(selected.origin, source)) {
                emit_asset(EventType::build, job, "loading " + archive->path.string());
                job.local_image = deps_.engine.load(archive->path);
                if (archive->tag) {
                    job.local_image = *archive->tag;  // `docker load` keeps every RepoTag
                }
            } else {
                emit_asset(EventType::build, job,
                           "running " + util::shell_join(*source.executable));
                process::Command command;
                command.argv = *source.executable;
                command.working_directory = selected.origin.directory;
                command.on_stderr_line = [&](std::string_view line) {
                    if (deps_.build_output) {
                        deps_.build_output(selected.asset.id, line);
                    }
                };
                const auto result = deps_.processes.run(command);
                const std::string image = util::trim(result.out);
                if (!result.ok() || image.empty()) {
                    throw docker::EngineError(
                        "the asset's executable " + util::shell_join(*source.executable) +
                            (result.ok()
                                 ? " printed no image name"
                                 : " failed (exit " + std::to_string(result.exit_code) + ")"),
                        util::last_lines(util::split_lines(result.err), 20));
                }
                job.local_image = image.substr(image.rfind('\n') + 1);
            }
            ++builds_;
            emit_asset(EventType::build, job, "built " + job.local_image, since(started));
            return true;
        } catch (const docker::EngineError& e) {
            tail = e.output_tail();
            for (auto* target : waiting) {
                fail(*target, e.what(), tail);
            }
        } catch (const util::Interrupted& e) {
            for (auto* target : waiting) {
                target->outcome.state = State::skipped;
                target->outcome.error = e.what();
            }
        } catch (const std::exception& e) {
            for (auto* target : waiting) {
                fail(*target, e.what());
            }
        }
        return false;
    }

    // Reads and checks a tarball or layout; in publish mode also looks its layers up in the
    // layer cache (they are compressed while they are pushed).
    void read_archive(ImageJob& job) {
        const auto& archive = *job.archive;
        const auto started = Clock::now();
        emit_asset(EventType::build, job, "reading " + archive.path.string());
        job.native = deps_.tarballs->prepare(archive.path,
                                             image::ImageSelector{archive.tag, archive.last_loaded},
                                             mode_ == Mode::build);
        const auto& source = job.native->source();
        std::string message = "read " + std::string(image::to_string(source.format)) + " image " +
                              source.config_digest.short_str() + " (" +
                              std::to_string(source.layers.size()) + " layers";
        if (mode_ == Mode::publish) {
            message += ", " + std::to_string(job.native->layers_to_compress()) + " to compress, " +
                       std::to_string(job.native->layers_cached()) + " known from the layer cache";
        }
        emit_asset(EventType::build, job, message + ")", since(started));
    }

    void push_native(const ImageJob& job, Target& target) {
        const auto started = Clock::now();
        const std::string remote = target.outcome.image_uri;
        target.outcome.method = "native";
        emit(EventType::upload, target, "pushing " + remote + " (no engine)");
        auto credentials =
            std::make_shared<EcrRegistryCredentials>(deps_.ecr, target.credentials, target.region);
        const auto report = deps_.tarballs->push(
            *job.native, target.registry_host, target.credentials.keys.access_key_id,
            std::move(credentials), target.repository, target.tag);
        target.outcome.digest = report.digest.str();
        target.outcome.native = report;
        target.outcome.state = State::published;
        ++pushes_;
        emit(EventType::success, target,
             "published " + remote + " (" + std::to_string(report.blobs_uploaded) +
                 " blobs uploaded, " + std::to_string(report.blobs_present) + " present)",
             since(started));
    }

    void push(const ImageJob& job, Target& target) {
        if (stopped(target)) {
            return;
        }
        if (job.native) {
            try {
                push_native(job, target);
            } catch (const util::Interrupted& e) {  // registry::PushInterrupted included
                target.outcome.state = State::skipped;
                target.outcome.error = e.what();
            } catch (const http::TransportError& e) {
                std::string error = "push to " + target.outcome.image_uri + ": " + e.what();
                if (e.kind() == http::TransportErrorKind::tls) {
                    error +=
                        " (the registry's certificate is not trusted: for a private CA, "
                        "point AWS_CA_BUNDLE or the profile's ca_bundle at it)";
                }
                fail(target, error);
            } catch (const std::exception& e) {
                if (target.immutable_tags && tag_exists(target)) {
                    target.outcome.state = State::present;
                    emit(EventType::success, target, "published (already present, immutable tag)");
                    return;
                }
                fail(target, "push to " + target.outcome.image_uri + ": " + e.what());
            }
            return;
        }
        target.outcome.method = "docker";
        const auto started = Clock::now();
        try {
            login(target);
            const std::string remote = target.outcome.image_uri;
            deps_.engine.tag(job.local_image, remote);
            emit(EventType::upload, target, "pushing " + remote);
            std::string output;
            for (int attempt = 1;; ++attempt) {
                try {
                    output.clear();
                    deps_.engine.push(remote, [&](std::string_view line) {
                        output.append(line).push_back('\n');
                    });
                    break;
                } catch (const docker::EngineError& e) {
                    // A push is idempotent and its failures are often transient (a registry
                    // hiccup, two pushes racing on a shared layer): try again, a few times.
                    if (attempt >= k_push_attempts || util::interrupted() ||
                        (target.immutable_tags && tag_exists(target))) {
                        throw;
                    }
                    spdlog::warn("{}: {} (attempt {} of {}); pushing again", remote, e.what(),
                                 attempt, k_push_attempts);
                }
            }
            target.outcome.digest = digest_from_push_output(output);
            target.outcome.state = State::published;
            ++pushes_;
            emit(EventType::success, target, "published " + remote, since(started));
        } catch (const docker::EngineError& e) {
            // An immutable repository refuses a tag that appeared since the check: if the tag is
            // there now, the asset is published.
            if (target.immutable_tags && tag_exists(target)) {
                target.outcome.state = State::present;
                emit(EventType::success, target, "published (already present, immutable tag)");
                return;
            }
            fail(target, e.what(), e.output_tail());
        } catch (const std::exception& e) {
            fail(target, e.what());
        }
    }

    bool tag_exists(const Target& target) {
        try {
            return deps_.ecr
                .describe_image(target.credentials, target.region, target.repository, target.tag)
                .has_value();
        } catch (const std::exception&) {
            return false;
        }
    }

    // One `docker login` per registry host and identity for the whole run.
    void login(const Target& target) {
        const std::string key = target.registry_host + "\n" + target.credentials.keys.access_key_id;
        const auto entry = logins_.get(key);
        std::lock_guard lock(entry->mutex);
        if (entry->done) {
            return;
        }
        const auto authorization =
            deps_.ecr.get_authorization_token(target.credentials, target.region);
        if (deps_.docker_config != nullptr) {
            deps_.docker_config->forget_host(target.registry_host);
        }
        deps_.engine.login(target.registry_host, authorization.username, authorization.password);
        entry->done = true;
    }

    // A build's full output, kept on disk for after the run.
    class LogFile {
      public:
        LogFile(const fs::path& directory, const std::string& asset) {
            if (!directory.empty()) {
                std::error_code ec;
                fs::create_directories(directory, ec);
                out_.open(directory / (asset + ".log"), std::ios::trunc);
            }
        }
        void write(std::string_view line) {
            if (out_) {
                out_ << line << '\n';
            }
        }

      private:
        std::ofstream out_;
    };

    struct LoginEntry {
        std::mutex mutex;
        bool done = false;
    };

    Mode mode_;
    Dependencies& deps_;
    const Options& options_;
    std::vector<std::unique_ptr<Target>> targets_;
    std::vector<std::unique_ptr<ImageJob>> jobs_;
    std::optional<aws::AwsCredentials> base_;
    std::once_flag identity_once_;
    std::string account_;
    std::string identity_error_;
    util::PerKey<LoginEntry> logins_;
    std::mutex warm_ups_mutex_;
    std::vector<std::future<void>> warm_ups_;  // waited for when the run ends
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> builds_{0};
    std::atomic<std::size_t> pushes_{0};
};

}  // namespace

std::string_view to_string(Outcome::State state) {
    switch (state) {
        case State::published:
            return "published";
        case State::present:
            return "present";
        case State::built:
            return "built";
        case State::planned:
            return "planned";
        case State::skipped:
            return "skipped";
        case State::failed:
            return "failed";
    }
    return "skipped";
}

bool Summary::ok() const {
    for (const auto& outcome : outcomes) {
        if (outcome.state == State::failed || outcome.state == State::skipped) {
            return false;
        }
    }
    return true;
}

Summary run(Mode mode, const manifest::Selection& selection, Dependencies& deps,
            const Options& options) {
    return Run(mode, selection, deps, options).execute();
}

std::string digest_from_push_output(std::string_view output) {
    const std::string_view marker = "digest: ";
    const auto at = output.rfind(marker);
    if (at == std::string_view::npos) {
        return {};
    }
    const auto start = at + marker.size();
    const auto end = output.find_first_of(" \n", start);
    return std::string(output.substr(start, end == std::string_view::npos ? end : end - start));
}

}  // namespace assetctl::publish
