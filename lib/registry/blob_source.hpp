#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "registry/reference.hpp"

namespace assetctl::registry {

// A blob to upload: its digest and size are known before any byte is sent (the digest goes
// into the completing PUT, and the push HEADs by digest first to skip what the registry has).
//
// Today read_all() returns the whole blob, because http::Request::body is an in-memory
// std::string. A streaming source (a layer inside a docker-save tarball, a gzip pipe) will add a
// chunked read here and a body callback to HttpClient; callers of RegistryClient and
// push_image keep passing BlobSources and do not change. A streaming source must be
// re-readable from the first byte, because a failed upload attempt starts over with a new
// session (go-containerregistry's tarball layers are openers for the same reason, not one-shot
// streams).
class BlobSource {
  public:
    virtual ~BlobSource() = default;
    virtual const Digest& digest() const = 0;
    virtual std::uint64_t size() const = 0;
    virtual std::string read_all() const = 0;
};

// A blob held in memory; the digest is computed from the bytes (sha256).
class MemoryBlob final : public BlobSource {
  public:
    explicit MemoryBlob(std::string bytes);
    // Checks that `bytes` have digest `expected`; throws std::invalid_argument otherwise.
    MemoryBlob(std::string bytes, const Digest& expected);

    const Digest& digest() const override { return digest_; }
    std::uint64_t size() const override { return bytes_.size(); }
    std::string read_all() const override { return bytes_; }
    const std::string& bytes() const noexcept { return bytes_; }

  private:
    std::string bytes_;
    Digest digest_;
};

std::shared_ptr<const BlobSource> make_memory_blob(std::string bytes);

}  // namespace assetctl::registry
