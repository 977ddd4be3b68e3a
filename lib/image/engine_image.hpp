#pragma once

// Internal to the image module: an image the engine holds, pushed without `docker push`.

#include <memory>
#include <mutex>
#include <string>

#include "image/layer_store.hpp"
#include "image/pushable.hpp"
#include "image/save_stream.hpp"

namespace assetctl::image {

// The engine's image `info`, whose bytes come from `save` (at most once, when a destination
// needs a layer or the config the store lacks); compressing the stream uses `threads` threads.
// Exports of all images take turns on `export_turn`: one stream already keeps every core
// compressing, and the next export then finds the layers they share stored (a base layer is
// compressed once per run, not once per image), with one export's buffers in memory at a time.
std::shared_ptr<const Pushable> prepare_engine_image(EngineImageInfo info,
                                                     NativePusher::SaveStream save,
                                                     std::string label, LayerStore& store,
                                                     std::size_t threads, std::mutex& export_turn);

}  // namespace assetctl::image
