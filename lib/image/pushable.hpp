#pragma once

// Internal to the image module: what the native push needs of an image, whatever it came from
// (a tarball or layout: tarball_image; the engine: engine_image).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "image/layer_cache.hpp"
#include "image/native_pusher.hpp"
#include "registry/blob_source.hpp"
#include "registry/push.hpp"

namespace assetctl::image {

// A blob known by digest and size only: a layer the registry already has, which the manifest
// names but nobody reads.
class DescribedBlob final : public registry::BlobSource {
  public:
    explicit DescribedBlob(const CachedLayer& layer) : digest_(layer.digest), size_(layer.size) {}
    const registry::Digest& digest() const override { return digest_; }
    std::uint64_t size() const override { return size_; }
    std::unique_ptr<http::BodyReader> open() const override {
        throw std::logic_error("internal error: the bytes of a described blob were read");
    }

  private:
    registry::Digest digest_;
    std::uint64_t size_;
};

// Per-image counters, shared by the pushes to its destinations.
struct ImageCounters {
    std::atomic<bool> exported{false};
    std::atomic<std::uint64_t> compressed_bytes{0};
    std::atomic<std::size_t> layers_compressed{0};

    void count_compression(std::uint64_t input_bytes) {
        if (input_bytes > 0) {
            compressed_bytes += input_bytes;
            ++layers_compressed;
        }
    }
};

class Pushable : public PreparedImage {
  public:
    virtual std::size_t layer_count() const = 0;
    // For the push order (largest first); 0 when unknown.
    virtual std::uint64_t layer_weight(std::size_t i) const = 0;
    // The layer's digest and size as pushed, when known without reading or compressing it.
    virtual std::optional<CachedLayer> layer_digest(std::size_t i) const = 0;
    // The layer's bytes as pushed: compressed now if need be (once for every destination) or
    // exported from the engine (once).
    virtual std::shared_ptr<const registry::BlobSource> layer_bytes(std::size_t i) const = 0;
    virtual std::shared_ptr<const registry::BlobSource> config_blob() const = 0;
    // The manifest naming `layers` (in layer order).
    virtual registry::ManifestPayload manifest(
        const std::vector<std::shared_ptr<const registry::BlobSource>>& layers) const = 0;
};

}  // namespace assetctl::image
