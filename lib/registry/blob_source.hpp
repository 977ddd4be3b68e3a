#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "http/http_client.hpp"
#include "registry/reference.hpp"

namespace assetctl::registry {

// A blob to upload: its digest and size are known before any byte is sent (the digest goes
// into the completing PUT, and the push HEADs by digest first to skip what the registry has).
// The bytes are streamed: open() returns a reader from the first byte, and every call starts
// over, because a failed upload attempt (or a request re-sent after a 401) begins again with a
// new session - go-containerregistry's tarball layers are openers for the same reason.
class BlobSource {
  public:
    virtual ~BlobSource() = default;
    virtual const Digest& digest() const = 0;
    virtual std::uint64_t size() const = 0;
    virtual std::unique_ptr<http::BodyReader> open() const = 0;
    // Every byte in memory (tests, small blobs).
    std::string read_all() const;
};

// A blob held in memory; the digest is computed from the bytes (sha256).
class MemoryBlob final : public BlobSource {
  public:
    explicit MemoryBlob(std::string bytes);
    // Checks that `bytes` have digest `expected`; throws std::invalid_argument otherwise.
    MemoryBlob(std::string bytes, const Digest& expected);

    const Digest& digest() const override { return digest_; }
    std::uint64_t size() const override { return bytes_.size(); }
    std::unique_ptr<http::BodyReader> open() const override;
    const std::string& bytes() const noexcept { return bytes_; }

  private:
    std::string bytes_;
    Digest digest_;
};

std::shared_ptr<const BlobSource> make_memory_blob(std::string bytes);

// `size` bytes of a file from `offset` (a layer inside an uncompressed tarball, a file of an
// OCI layout, a spooled compressed layer), read with pread() so uploads of several ranges of
// one file run in parallel. The digest is the caller's claim: the registry checks it when the
// upload completes. A file shorter than the range fails the read (and so the upload attempt).
class FileBlob final : public BlobSource {
  public:
    FileBlob(std::filesystem::path file, std::uint64_t offset, std::uint64_t size, Digest digest);

    const Digest& digest() const override { return digest_; }
    std::uint64_t size() const override { return size_; }
    std::unique_ptr<http::BodyReader> open() const override;

  private:
    std::filesystem::path file_;
    std::uint64_t offset_;
    std::uint64_t size_;
    Digest digest_;
};

}  // namespace assetctl::registry
