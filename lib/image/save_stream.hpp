#pragma once

#include <cstddef>
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
};

// Reads an engine's save stream from `fd` (a tar: `docker save` legacy or 25+, `podman save`
// docker-archive or oci-archive) once, in order, never spooling it: the config is the entry
// whose sha256 is `image.id`; each entry that may be a layer is compressed into `store` with up
// to `threads` threads as it is read, and its diff_id learnt at its end - those in `wanted` are
// kept. An entry named by a diff_id outside `wanted` (podman and docker 25+ name layers so) is
// skipped unread. Small entries are hashed in memory and compressed only when wanted.
// ImageError, naming `label` and what to do: a truncated or corrupt stream, no config, a wanted
// layer missing (already-compressed layers, as the containerd image store saves them, are
// named in the message), a config over 16 MiB. util::Interrupted between pieces.
SavedImage read_save_stream(int fd, const EngineImageInfo& image,
                            const std::set<registry::Digest>& wanted, LayerStore& store,
                            std::size_t threads, const std::string& label);

}  // namespace assetctl::image
