#include "publish/resolve.hpp"

#include "publish/destination.hpp"

namespace assetctl::publish {

void resolve_target(RunState& run, TargetState& target) {
    if (target.phase == Phase::finished) {
        return;
    }
    try {
        auto resolved =
            resolve_destination(*target.plan->destination, run.deps().aws.default_region,
                                [&run] { return run.account(); });
        target.region = std::move(resolved.region);
        target.repository = std::move(resolved.repository);
        target.tag = std::move(resolved.tag);
        target.role = std::move(resolved.role);
        const auto& caller = *run.caller();
        target.credentials =
            target.role ? run.deps().aws.roles.credentials_for(caller, *target.role) : caller;
        run.emit(EventType::check, target,
                 "checking " + target.repository + ":" + target.tag + " in " + target.region);
        target.phase = Phase::resolved;
    } catch (const std::exception& e) {
        run.check_failed(target, e.what());
    }
}

}  // namespace assetctl::publish
