#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "http/http_client.hpp"
#include "image/gzip.hpp"
#include "image/layer_cache.hpp"
#include "registry/blob_source.hpp"
#include "registry/reference.hpp"
#include "util/per_key.hpp"

namespace assetctl::image {

// A blob on disk: a compressed layer or an image config.
struct StoredBlob {
    registry::Digest digest;
    std::uint64_t size = 0;
    std::filesystem::path file;
    std::uint64_t compressed_now = 0;  // uncompressed bytes this call compressed (0: was stored)
};

// A stored blob as a push reads it: its bytes are hashed on the way, and the read that would
// hand out its last byte throws ImageError instead when they are not its digest (the file
// changed on disk since it was stored: a disk error, a tool tidying the cache). So that upload
// never completes, and the file is removed: the next run compresses the layer again. (The
// size alone is what LayerStore checks before using a blob.)
std::shared_ptr<const registry::BlobSource> verified_blob(const StoredBlob& blob);

// What compressing cost so far (for the run's summary).
struct CompressionCounters {
    std::uint64_t input_bytes = 0;  // uncompressed bytes compressed
    std::size_t layers = 0;         // layers compressed
};

// Opens an uncompressed layer from its first byte.
using LayerOpener = std::function<std::unique_ptr<http::BodyReader>()>;

// The one home of compressed layers: each layer is compressed once per run - and, with the
// layer cache, once ever - and the same bytes go to every destination that lacks it.
//
// Blobs live in <root>/blobs/<alg>/<hex> (files 0600, folders 0700): root is the layer cache
// folder when there is one (so a new destination of an unchanged image uploads from disk
// without exporting or compressing anything), else the run's private spool folder. A blob is
// written under a temporary name and renamed once complete and verified, so a run cut short
// never leaves a partial blob under a digest. The layer cache keeps diff_id -> compressed digest.
//
// Memory: compressions share `compress_slots` slots (one per core by default); each uses about
// 2 x 8 MiB per thread (gzip.hpp), so all compression together stays under
// compress_slots x 16 MiB whatever the number of uploads. Safe to use from several threads.
class LayerStore {
  public:
    LayerStore(std::optional<LayerCache> cache, std::filesystem::path spool_dir,
               std::size_t compress_slots);

    // What `diff_id` compresses to, when this run or the layer cache knows (no bytes needed).
    std::optional<CachedLayer> known(const registry::Digest& diff_id) const;

    // The compressed layer on disk when it is there already.
    std::optional<StoredBlob> stored(const registry::Digest& diff_id) const;

    // The compressed layer on disk: stored(), or compressed now from `open()` with one thread
    // (callers compress several layers at once) and verified against `diff_id` (ImageError when
    // it does not match). Concurrent calls for one diff_id compress it once; the others wait.
    StoredBlob compressed(const registry::Digest& diff_id, const LayerOpener& open);

    // Compresses a layer read from a stream (an engine's save output) with up to `threads`
    // threads; its diff_id is learnt at its end. Returns the diff_id and the blob. When the
    // store already held that layer, the new copy is dropped and the old one returned.
    std::pair<registry::Digest, StoredBlob> compress_stream(http::BodyReader& input,
                                                            std::size_t threads);

    // A small blob (an image config) by digest; checked against it (a corrupt file is a miss).
    std::optional<std::string> read_blob(const registry::Digest& digest) const;
    void keep_blob(const registry::Digest& digest, const std::string& bytes);

    // Deletes the least recently used blobs of the cache folder until they total at most
    // `max_bytes` (nothing without a cache). Returns the bytes deleted.
    std::uint64_t prune(std::uint64_t max_bytes);

    CompressionCounters counters() const;

  private:
    std::filesystem::path blob_path(const registry::Digest& digest) const;
    std::optional<StoredBlob> stored_blob(const CachedLayer& layer) const;
    // Compresses `input` into a new blob file (`threads` threads, one compression slot).
    std::pair<CompressedLayer, StoredBlob> compress_into_blob(
        http::BodyReader& input, std::size_t threads,
        const std::optional<registry::Digest>& expected_diff_id);
    void remember(const registry::Digest& diff_id, const CachedLayer& layer);
    void acquire_slot();
    void release_slot();

    std::optional<LayerCache> cache_;
    std::filesystem::path root_;
    std::size_t slots_;
    std::mutex slot_mutex_;
    std::condition_variable slot_free_;
    std::size_t slots_in_use_ = 0;
    // Per diff_id: one compression at a time, and what this run learnt.
    struct Entry {
        std::mutex mutex;
        std::optional<CachedLayer> known;
    };
    mutable util::PerKey<Entry> entries_;
    std::atomic<std::uint64_t> input_bytes_{0};
    std::atomic<std::size_t> layers_{0};
    std::atomic<std::uint64_t> temp_counter_{0};
};

// The blobs folder's default size limit (prune): 10 GiB, overridden by ASSETCTL_CACHE_MAX_BYTES.
inline constexpr std::uint64_t k_default_cache_max_bytes = 10ULL << 30;

}  // namespace assetctl::image
