#pragma once

// Internal to the image module: an image the engine holds, pushed without `docker push`.

#include <memory>
#include <string>

#include "image/layer_store.hpp"
#include "image/pushable.hpp"
#include "image/save_stream.hpp"

namespace assetctl::image {

// The engine's image `info`, whose bytes come from `save` (at most once, when a destination
// needs a layer or the config the store lacks); compressing the stream uses `threads` threads.
std::shared_ptr<const Pushable> prepare_engine_image(EngineImageInfo info,
                                                     NativePusher::SaveStream save,
                                                     std::string label, LayerStore& store,
                                                     std::size_t threads);

}  // namespace assetctl::image
