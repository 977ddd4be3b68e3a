#pragma once

#include "publish/run_state.hpp"

namespace assetctl::publish {

// The push node for image archives: assetctl's own registry client (image::NativePusher)
// pushes the prepared image with ECR's token as the login, manifest last; no engine involved.
void push_natively(RunState& run, const ImageState& image, TargetState& target);

}  // namespace assetctl::publish
