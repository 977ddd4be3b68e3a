#pragma once

#include "publish/run_state.hpp"

namespace assetctl::publish {

// The resolve node: the target's placeholders (region, account, partition) and the credentials
// it publishes with (its role assumed, once per role for the run). Phase::resolved on success;
// a failure is the check's failure (publishing fails, a build goes on).
void resolve_target(RunState& run, TargetState& target);

}  // namespace assetctl::publish
