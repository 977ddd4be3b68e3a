#pragma once

#include "publish/run_state.hpp"

namespace assetctl::publish {

// The push node for prepared images (archives, and engine images under PushMode::native):
// assetctl's own registry client (image::NativePusher) pushes them with ECR's token as the
// login, manifest last; no `docker login`, no token on disk.
void push_natively(RunState& run, const ImageState& image, TargetState& target);

}  // namespace assetctl::publish
