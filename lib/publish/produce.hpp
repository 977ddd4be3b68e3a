#pragma once

#include "publish/run_state.hpp"

namespace assetctl::publish {

// The produce node: makes one image available for its pushes, once however many destinations
// wait for it - `docker build` (reusing a local image from an earlier build), `docker load`, an
// `executable` source, or (SourceKind::archive) reading and checking a tarball or layout.
// Does nothing when no destination is missing it. In build mode the waiting targets are then
// built; with dry_run it only says what it would do. A failure fails each waiting target.
void produce_image(RunState& run, ImageState& image);

// The engine node: calls Dependencies::require_engine once when some image that needs the
// engine (anything but an archive) is missing somewhere - never for a no-op or a dry run.
void require_engine_if_needed(RunState& run);

}  // namespace assetctl::publish
