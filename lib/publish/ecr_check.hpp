#pragma once

#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "aws/ecr.hpp"
#include "publish/run_state.hpp"

namespace assetctl::publish {

// The check node: which tags of one repository ECR already has, for every target that resolved
// to it. DescribeRepositories (the URI
// and tag mutability a push needs) and BatchGetImage (whether to push at all) go out at the
// same time. Present tags are final; missing ones move to Phase::missing. While the answers
// are out, the registry of a native push is warmed up (TLS, auth scheme), without a login.
class EcrCheck {
  public:
    explicit EcrCheck(RunState& run) : run_(run) {}
    ~EcrCheck();  // waits for the warm-ups
    EcrCheck(const EcrCheck&) = delete;
    EcrCheck& operator=(const EcrCheck&) = delete;

    // Checks the groups this node claims, then waits until every target of `repository` that
    // another check node claimed is recorded too: the produce node after this one must see the
    // targets' phases as that check left them, not `resolved`.
    void check(const PlannedRepository& repository);

  private:
    // Marks `group` recorded (whatever became of the check) and wakes the waiting nodes.
    void settle(const std::vector<TargetState*>& group);
    void wait_for_other_checks(const PlannedRepository& repository);
    void check_group(const std::vector<TargetState*>& group);
    // The first resolved target of `repository` not yet claimed by a check, and every other
    // resolved target with the same repository, region and identity; empty when none is left.
    std::vector<TargetState*> claim_targets(const PlannedRepository& repository);
    std::optional<aws::Repository> describe(const TargetState& first, bool warm_up);
    void record(const std::vector<TargetState*>& group, const aws::Repository& repository,
                const std::optional<aws::ImageLookup>& lookup, const std::string& lookup_error);
    void warm_up(const aws::Repository& repository, const TargetState& target);
    std::string account_or_unknown(const TargetState& target);

    RunState& run_;
    std::mutex claims_mutex_;
    std::vector<bool> claimed_ = std::vector<bool>(run_.targets().size(), false);
    std::vector<bool> recorded_ = std::vector<bool>(run_.targets().size(), false);
    std::condition_variable recorded_changed_;
    std::mutex warm_ups_mutex_;
    std::vector<std::future<void>> warm_ups_;
};

}  // namespace assetctl::publish
