#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

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

// Compresses `input` (an uncompressed layer tar) into `output` (created 0600, replaced if it
// exists) as ONE gzip member, deterministically: fixed level, mtime 0, no file name, OS byte
// 255, input fed in fixed-size chunks; the same bytes in give the same bytes out on every run
// and machine with the same compressor_id(). One streaming pass with a fixed buffer (memory
// does not grow with the layer) that also computes both digests. Throws ImageError when the
// input cannot be read or is shorter than the range says; std::runtime_error for output
// write errors (disk full). Checks util::interrupted() between chunks and throws
// util::Interrupted when set (the partial output file is removed).
CompressedLayer compress_layer(const FileRange& input, const std::filesystem::path& output);

}  // namespace assetctl::image
