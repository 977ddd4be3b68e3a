#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "http/http_client.hpp"
#include "image/file_range.hpp"
#include "registry/reference.hpp"

namespace assetctl::image {

// The compressor and settings every compressed layer is made with, e.g.
// "libdeflate-1.14-level4-m8" (library, version, level, member size in MiB). Part of the layer
// cache's key: a different compressor gives different bytes.
const std::string& compressor_id();

// The format of every compressed layer: the uncompressed input cut into pieces of exactly
// k_member_size bytes (the last one shorter; empty input is one empty piece), each compressed
// on its own with libdeflate at a fixed level into one gzip member (RFC 1952: mtime 0, no name,
// XFL 0, OS 255), the members concatenated. Multi-member gzip is valid gzip: `gzip -d`, zlib
// with inflateReset, Python's gzip and Go's compress/gzip (docker, containerd) read all
// members. A member depends on its own piece only, so members compress in parallel and the
// bytes are the same on every run with the same compressor_id().
inline constexpr std::size_t k_member_size = std::size_t{8} << 20;

struct CompressedLayer {
    registry::Digest digest;       // sha256 of the gzip bytes written
    std::uint64_t size = 0;        // of the gzip bytes
    registry::Digest diff_id;      // sha256 of the uncompressed input
    std::uint64_t input_size = 0;  // of the uncompressed input
};

// Compresses everything `input` yields (an uncompressed layer, read on the calling thread
// until read() returns 0; it may be a pipe) into `out_fd`, written from its current offset,
// sequentially, as gzip members of k_member_size input bytes (the format above), with up to
// `threads` members (at least 1) compressed at once on threads of its own while the next
// pieces are read. The bytes are identical to GzipLayerReader's for the same input, whatever
// `threads` and whatever sizes `input` hands out. Memory: 2 x (threads + 1) x k_member_size
// (an input piece and a member for each one compressing and for the one being read).
// Hashes both sides. When `expected_diff_id` is given and the input does not hash to it:
// ImageError before the last member is written (the caller discards the file). Checks
// util::interrupted() before each member (util::Interrupted). Write errors: ImageError naming
// errno's reason. Exceptions from `input` pass through.
CompressedLayer compress_layer(http::BodyReader& input, int out_fd, std::size_t threads,
                               const std::optional<registry::Digest>& expected_diff_id = {});

// The gzip form of a layer, made while it is read: read() hands out compressed bytes as the
// input is read and compressed, one member at a time with fixed buffers (about
// 2 x k_member_size: memory does not grow with the layer), so a layer can go to a registry
// without being written anywhere first. Same bytes as compress_layer(), whatever sizes the
// caller reads. Both digests are computed on the way. Input shorter than the range:
// ImageError. When `expected_diff_id` is given and the input does not hash to it, the read that
// would hand out the last member throws ImageError instead, so an upload of corrupt content
// never completes. Checks util::interrupted() before each member (util::Interrupted). Not
// thread-safe.
class GzipLayerReader final : public http::BodyReader {
  public:
    explicit GzipLayerReader(FileRange input,
                             std::optional<registry::Digest> expected_diff_id = std::nullopt);
    ~GzipLayerReader() override;
    GzipLayerReader(const GzipLayerReader&) = delete;
    GzipLayerReader& operator=(const GzipLayerReader&) = delete;

    std::size_t read(char* buffer, std::size_t size) override;
    // Both digests and the size, once read() returned 0; std::logic_error before.
    const CompressedLayer& result() const;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace assetctl::image
