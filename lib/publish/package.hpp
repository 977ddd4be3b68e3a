#pragma once

#include "publish/run_state.hpp"

namespace assetctl::publish {

// The package node: makes the one file a file asset uploads, once however many destinations
// wait for it - the file itself, a deterministic zip of the folder (reused from
// `<manifest dir>/.cache/<asset id>.zip` when a run made it before), or an `executable`'s
// output. Does nothing when no destination is missing it; in build mode the waiting targets
// are then built; with dry_run it only says what it would do. A failure fails each waiting
// target.
void package_file_asset(RunState& run, FileState& file);

}  // namespace assetctl::publish
