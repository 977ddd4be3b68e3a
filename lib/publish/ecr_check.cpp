#include "publish/ecr_check.hpp"

#include <algorithm>
#include <set>

#include "publish/destination.hpp"
#include "registry/reference.hpp"

namespace assetctl::publish {

using registry::registry_host_of;

EcrCheck::~EcrCheck() {
    std::lock_guard lock(warm_ups_mutex_);
    for (auto& warm_up : warm_ups_) {
        warm_up.wait();
    }
}

void EcrCheck::check(const PlannedRepository& repository) {
    for (auto group = claim_targets(repository); !group.empty();
         group = claim_targets(repository)) {
        struct Settle {
            EcrCheck& check;
            const std::vector<TargetState*>& group;
            ~Settle() { check.settle(group); }
        } settle{*this, group};
        check_group(group);
    }
    wait_for_other_checks(repository);
}

void EcrCheck::settle(const std::vector<TargetState*>& group) {
    {
        std::lock_guard lock(claims_mutex_);
        for (const auto* target : group) {
            recorded_[static_cast<std::size_t>(target - &run_.targets().front())] = true;
        }
    }
    recorded_changed_.notify_all();
}

void EcrCheck::wait_for_other_checks(const PlannedRepository& repository) {
    std::unique_lock lock(claims_mutex_);
    recorded_changed_.wait(lock, [&] {
        return std::all_of(
            repository.targets.begin(), repository.targets.end(),
            [this](std::size_t index) { return !claimed_[index] || recorded_[index]; });
    });
}

void EcrCheck::check_group(const std::vector<TargetState*>& group) {
    std::vector<std::string> tags;
    for (const auto* target : group) {
        tags.push_back(target->tag);
    }
    const auto& first = *group.front();
    const bool native = std::any_of(group.begin(), group.end(), [this](const TargetState* t) {
        return run_.plan().images[t->plan->image].kind == SourceKind::archive;
    });
    auto described = std::async(std::launch::async, [this, &first, native] {
        return describe(first, native && !run_.options().dry_run);
    });
    std::optional<aws::ImageLookup> lookup;
    std::string lookup_error;
    try {
        lookup = run_.deps().aws.ecr.batch_get_image(first.credentials, first.region,
                                                     first.repository, tags);
    } catch (const std::exception& e) {
        lookup_error = e.what();
    }
    std::optional<aws::Repository> found;
    try {
        found = described.get();
    } catch (const std::exception& e) {
        for (auto* target : group) {
            run_.check_failed(*target, e.what());
        }
        return;
    }
    if (!found) {
        for (auto* target : group) {
            run_.check_failed(
                *target, not_bootstrapped_message(target->repository, account_or_unknown(*target),
                                                  target->region));
        }
        return;
    }
    record(group, *found, lookup, lookup_error);
}

std::vector<TargetState*> EcrCheck::claim_targets(const PlannedRepository& repository) {
    const auto key = [](const TargetState& target) {
        return target.credentials.keys.access_key_id + "\n" + target.region + "\n" +
               target.repository;
    };
    std::lock_guard lock(claims_mutex_);
    std::vector<TargetState*> group;
    for (const auto index : repository.targets) {
        const auto& own = run_.target(index);
        if (own.phase != Phase::resolved || claimed_[index]) {
            continue;
        }
        for (std::size_t t = 0; t < run_.targets().size(); ++t) {
            auto& other = run_.target(t);
            if (!claimed_[t] && other.phase == Phase::resolved && key(other) == key(own)) {
                claimed_[t] = true;
                group.push_back(&other);
            }
        }
        break;  // one repository and identity per group; check() asks again for the rest
    }
    return group;
}

std::optional<aws::Repository> EcrCheck::describe(const TargetState& first, bool warm_up) {
    auto repository =
        run_.deps().aws.ecr.describe_repository(first.credentials, first.region, first.repository);
    if (repository && warm_up) {
        this->warm_up(*repository, first);  // the group shares identity, region and registry
    }
    return repository;
}

void EcrCheck::record(const std::vector<TargetState*>& group, const aws::Repository& repository,
                      const std::optional<aws::ImageLookup>& lookup,
                      const std::string& lookup_error) {
    std::set<std::string> found;
    if (lookup) {
        for (const auto& [tag, digest] : lookup->found) {
            found.insert(tag);
        }
    }
    for (auto* target : group) {
        target->registry_host = registry_host_of(repository.uri);
        target->mutability = repository.tag_mutability == "IMMUTABLE"
                                 ? TagMutability::immutable_tags
                                 : TagMutability::mutable_tags;
        target->outcome.image_uri = repository.uri + ":" + target->tag;
        if (!lookup) {
            run_.check_failed(*target, lookup_error);
        } else if (found.contains(target->tag)) {
            run_.emit(EventType::found, *target,
                      "found " + target->outcome.image_uri + " (already published)");
            run_.settle_present(*target, "published (already present)");
        } else {
            target->phase = Phase::missing;
        }
    }
}

// While BatchGetImage is still out, opens the connection to the registry of a native push
// (TLS handshake, authentication scheme): a push that follows starts at once. A tag that
// turns out to be present costs one unauthenticated GET /v2/ - and no login: the ECR token
// is fetched only for a push (a no-op publish never logs in).
void EcrCheck::warm_up(const aws::Repository& repository, const TargetState& target) {
    auto* pusher = run_.deps().native;
    const std::string host = registry_host_of(repository.uri);
    auto login = run_.registry_login(target);
    const std::string identity = target.credentials.keys.access_key_id;
    std::lock_guard lock(warm_ups_mutex_);
    warm_ups_.push_back(std::async(std::launch::async, [pusher, host, identity, login] {
        pusher->warm_up(host, identity, login);
    }));
}

std::string EcrCheck::account_or_unknown(const TargetState& target) {
    try {
        return destination_account(target.role, [this] { return run_.account(); });
    } catch (const std::exception&) {
        return "(unknown)";
    }
}

}  // namespace assetctl::publish
