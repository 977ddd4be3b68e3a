#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace assetctl::packaging {

struct ZipReport {
    std::uint64_t entries = 0;
    std::uint64_t bytes = 0;  // size of the zip
};

// Zips every regular file under `directory` into `zip_file`, deterministically and as
// cdk-assets 4.7.3 does: entries sorted by path, dot files included, symlinks followed, empty
// directories dropped, unix mode kept, every timestamp 1980-01-01 00:00 whatever the time zone,
// deflate. Written with libarchive into a private temporary file beside `zip_file`, renamed into
// place when complete (a reader never sees half a zip). Throws util::Fatal naming the path.
ZipReport zip_directory(const std::filesystem::path& directory,
                        const std::filesystem::path& zip_file);

// The Content-Type cdk-assets sends for a file (the `mime` package's table for common
// extensions), application/octet-stream when unknown.
std::string content_type_for(const std::filesystem::path& file);

}  // namespace assetctl::packaging
