#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "registry/blob_source.hpp"
#include "registry/client.hpp"
#include "registry/reference.hpp"
#include "util/interrupt.hpp"

namespace assetctl::registry {

// Blobs go up over this many threads by default (crane uses 4, skopeo 6).
inline constexpr std::size_t k_default_push_jobs = 4;

struct ManifestPayload {
    std::string media_type;
    std::string bytes;
};

// One single-platform image: its manifest and the blobs it references (config and layers).
struct ImagePayload {
    std::vector<std::shared_ptr<const BlobSource>> blobs;
    ManifestPayload manifest;
};

enum class BlobAction { skipped, mounted, uploaded };

struct BlobProgress {
    Digest digest;
    BlobAction action = BlobAction::skipped;
    std::uint64_t bytes_sent = 0;
};

struct PushOptions {
    // Threads for the blob phase; 1 runs everything on the calling thread.
    std::size_t jobs = k_default_push_jobs;
    // Repositories of the same registry to mount a missing blob from, tried in order before
    // uploading it (ECR mounts only when the account enabled BLOB_MOUNTING; a refused mount
    // costs one request and falls back to the upload).
    std::vector<std::string> mount_from;
    // Called once per blob when it is settled, from the worker thread that settled it.
    std::function<void(const BlobProgress&)> on_blob;
};

struct PushReport {
    std::size_t blobs_uploaded = 0;
    std::size_t blobs_skipped = 0;  // the repository had them already
    std::size_t blobs_mounted = 0;
    std::uint64_t bytes_sent = 0;  // blob bytes put on the wire, retries included
    Digest digest;                 // of the manifest (or index) the tag now points at
};

// SIGINT/SIGTERM arrived (util/interrupt.hpp): no new blob was started and no manifest was
// written, so nothing half-pushed is visible. A util::Interrupted like any other.
class PushInterrupted : public util::Interrupted {
  public:
    using util::Interrupted::Interrupted;
};

// Pushes one image as `repository:tag`: HEADs every blob and uploads only the missing ones (in
// parallel), optionally mounting them from other repositories first, then PUTs the manifest
// LAST, so a failure at any step leaves no tag (and no manifest) visible. Before any request it
// checks that the manifest is JSON and that every blob it references (config, layers; foreign
// layers excepted) is among `blobs`: a missing one would only surface at the manifest PUT.
// The first blob failure stops new blob work and is rethrown (RegistryError, ProtocolError,
// TransportError); blobs already uploaded stay, invisible until a manifest refers to them.
PushReport push_image(RegistryClient& client, std::string_view repository, std::string_view tag,
                      const std::vector<std::shared_ptr<const BlobSource>>& blobs,
                      const ManifestPayload& manifest, const PushOptions& options = {});

// What a BlobMaker made: the blob, and whether the maker already settled it itself - uploaded
// it or found it in the repository, after a HEAD of its own (as the native pusher does) - in
// which case the push only counts it.
struct MadeBlob {
    // Implicit, so a maker can return the blob itself: the push HEADs and uploads it.
    template <typename Blob>
    MadeBlob(std::shared_ptr<Blob> made) : blob(std::move(made)) {}  // NOLINT
    MadeBlob(std::shared_ptr<const BlobSource> made, UploadResult upload)
        : blob(std::move(made)), uploaded(upload) {}
    static MadeBlob found(std::shared_ptr<const BlobSource> made) {
        MadeBlob out(std::move(made));
        out.present = true;
        return out;
    }
    std::shared_ptr<const BlobSource> blob;
    std::optional<UploadResult> uploaded;
    bool present = false;
};

// Makes a blob on a push's worker thread (a layer compressed on demand, whose digest is known
// only afterwards). May throw; the push then fails like on an upload error.
using BlobMaker = std::function<MadeBlob()>;
// Builds the manifest from the blobs `makers` made, in their order.
using ManifestMaker =
    std::function<ManifestPayload(const std::vector<std::shared_ptr<const BlobSource>>&)>;

// push_image for blobs made while the push runs: each worker makes a blob and settles it (HEAD,
// mount or upload) at once, so the first layers go up while others are still being made. Once
// every blob is settled, `make_manifest` builds the manifest, which is checked like
// push_image's (every blob it references was made) and PUT last.
PushReport push_made_image(RegistryClient& client, std::string_view repository,
                           std::string_view tag, const std::vector<BlobMaker>& makers,
                           const ManifestMaker& make_manifest, const PushOptions& options = {});

// Pushes a multi-platform image: the blobs of every child (each once), then each child
// manifest by its digest, then the index by `tag` - the tag appears only once everything it
// points at exists. The index must list exactly the children given.
PushReport push_index(RegistryClient& client, std::string_view repository, std::string_view tag,
                      const std::vector<ImagePayload>& images, const ManifestPayload& index,
                      const PushOptions& options = {});

// The blobs an image manifest references (config, then layers, skipping foreign and
// non-distributable layers). Throws std::invalid_argument when it is not one.
std::vector<Digest> referenced_blobs(const ManifestPayload& manifest);
// The manifests an index references. Throws std::invalid_argument when it is not one.
std::vector<Digest> referenced_manifests(const ManifestPayload& index);

}  // namespace assetctl::registry
