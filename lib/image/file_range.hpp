#pragma once

#include <cstdint>
#include <filesystem>

namespace assetctl::image {

// `size` bytes of `file` starting at `offset`: a blob inside an uncompressed tarball (its data
// is contiguous there), or a whole file of an OCI layout directory (offset 0). Read with
// pread(), so several threads can read different ranges of one file at once.
struct FileRange {
    std::filesystem::path file;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
};

}  // namespace assetctl::image
