#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "image/layer_store.hpp"
#include "registry/reference.hpp"

namespace assetctl::image {

// What an engine says about a local image without exporting it (`image inspect`).
struct EngineImageInfo {
    registry::Digest id;                     // the config blob's digest
    std::vector<registry::Digest> diff_ids;  // RootFS.Layers, in order
    std::string os;
    std::string architecture;
    std::string variant;
};

// What one pass over an engine's save stream kept.
struct SavedImage {
    std::string config;                             // the bytes whose sha256 is the image id
    std::map<registry::Digest, StoredBlob> layers;  // the wanted layers, compressed, by diff_id
    std::uint64_t compressed_bytes = 0;             // uncompressed bytes compressed on the way
    // Wanted layers passed by unread: only hashed, because their size was that of a stored
    // layer (see read_save_stream). A second pass with `skip_by_size` false gets them.
    std::set<registry::Digest> missed;
};

// Reads an engine's save stream from `fd` (a tar: `docker save` legacy or 25+, `podman save`
// docker-archive or oci-archive) once, in order, never spooling it: the config is the entry
// whose sha256 is `image.id`; each entry that may be a layer is compressed into `store` with up
// to `threads` threads as it is read, and its diff_id learnt at its end - those in `wanted` are
// kept. An entry named by a diff_id outside `wanted` (podman and docker 25+ name layers so) is
// skipped unread. Small entries are hashed in memory and compressed only when wanted. With
// `skip_by_size`, a big unnamed entry (legacy `<v1 id>/layer.tar`) whose size is that of exactly
// one stored layer of the image, according to the layer cache, is only hashed, not compressed:
// if it turns out to be a wanted layer after all it is listed in SavedImage::missed.
// `on_stored` learns each wanted layer as soon as it is in the store (uploads may start).
// ImageError, naming `label` and what to do: a truncated or corrupt stream, no config, a wanted
// layer missing (already-compressed layers, as the containerd image store saves them, are
// named in the message), a config over 16 MiB. util::Interrupted between pieces.
SavedImage read_save_stream(int fd, const EngineImageInfo& image,
                            const std::set<registry::Digest>& wanted, LayerStore& store,
                            std::size_t threads, const std::string& label, bool skip_by_size = true,
                            const std::function<void(const registry::Digest&)>& on_stored = {});

}  // namespace assetctl::image
