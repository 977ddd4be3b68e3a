#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "http/http_client.hpp"
#include "image/file_range.hpp"
#include "registry/reference.hpp"

namespace assetctl::image {

// The compressor and settings every compressed layer is made with, e.g. "isal-2.30-level1".
// Part of the layer cache's key: a different compressor gives different bytes.
const std::string& compressor_id();

struct CompressedLayer {
    registry::Digest digest;   // sha256 of the gzip bytes written
    std::uint64_t size = 0;    // of the gzip bytes
    registry::Digest diff_id;  // sha256 of the uncompressed input
};

// The gzip form of a layer, made while it is read: read() hands out compressed bytes as the
// input is read and compressed, with a fixed buffer (memory does not grow with the layer), so a
// layer can go to a registry without being written anywhere first. Deterministic: fixed level,
// mtime 0, no file name, OS byte 255, input fed to ISA-L in fixed 1 MiB pieces with a fresh
// output buffer per call, so the same bytes in give the same bytes out on every run and machine
// with the same compressor_id(), whatever sizes the caller reads. Both digests are computed on
// the way. Input shorter than the range: ImageError. When
// `expected_diff_id` is given and the input does not hash to it, the read that would hand out
// the last bytes throws ImageError instead, so an upload of corrupt content never completes.
// Checks util::interrupted() before each input piece (util::Interrupted). Not thread-safe.
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
