#pragma once

// Internal to the image module: what the docker-save and OCI readers share.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "image/archive.hpp"
#include "image/file_range.hpp"
#include "image/quote.hpp"
#include "image/source_image.hpp"

namespace assetctl::image {

// manifest.json, index.json, oci-layout, image manifests and configs are small; a larger one is
// not an image (and would be read into memory).
constexpr std::uint64_t k_max_metadata_size = 16u << 20;

// Where errors happen and what to tell the user to do about them.
struct SourceContext {
    std::string label;  // "image tarball '/x/image.tar'"
    std::string_view hint;

    // ImageError "<label>: <what>; <hint>".
    [[noreturn]] void fail(const std::string& what) const;
};

// Up to `count` bytes of `range` from its start; ImageError when they cannot be read.
std::string read_range(const FileRange& range, std::uint64_t count);

// From the first bytes, whatever the name or media type claims.
SourceLayer::Compression detect_compression(const FileRange& range);

// The files of a tarball or of an OCI layout folder, by archive-relative name.
class SourceFiles {
  public:
    explicit SourceFiles(const TarArchive& tar);
    explicit SourceFiles(std::filesystem::path dir);

    const std::string& label() const { return label_; }

    // The bytes of the regular file `name`; nullopt when there is none. In a folder, a file
    // (or one of its folders) that is a symlink to something outside the folder is an
    // ImageError, and so is a name that is not a regular file.
    std::optional<FileRange> find(std::string_view name) const;

    // The bytes of `name` (at most k_max_metadata_size), described as `what` in messages.
    std::string read(const SourceContext& context, std::string_view name,
                     std::string_view what) const;

  private:
    std::optional<FileRange> find_in_folder(std::string_view name) const;

    const TarArchive* tar_ = nullptr;
    std::filesystem::path dir_;
    std::string label_;
};

}  // namespace assetctl::image
