#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/archive_entry.hpp"
#include "image/file_range.hpp"

namespace assetctl::image {

// An image tarball read with libarchive: plain tar (ustar, pax, GNU) or gzip-compressed tar
// (detected by the magic bytes, not the file name). A gzip tarball is first decompressed into
// `spool_dir` (a private temp folder the caller owns and removes), so that every file's bytes
// are one contiguous range of an uncompressed file that several threads can pread() at once.
//
// open() refuses, with an ImageError naming the tarball and the entry (the per-entry rules are
// classify_entry's, image/archive_entry.hpp):
//   - an entry whose name is absolute or has a ".." component;
//   - a symlink whose target is absolute or leaves the archive root once resolved, and a
//     hardlink to a name outside it or not in the archive;
//   - device nodes, FIFOs, sparse files, and two entries with the same name;
//   - a truncated or corrupt archive (libarchive's message is included), or an empty one.
class TarArchive {
  public:
    static TarArchive open(const std::filesystem::path& tarball,
                           const std::filesystem::path& spool_dir);

    // The tarball as given (for messages).
    const std::filesystem::path& path() const noexcept { return path_; }
    // The uncompressed tar the ranges point into: path() itself, or the spooled copy.
    const std::filesystem::path& data_file() const noexcept { return data_file_; }
    const std::vector<ArchiveEntry>& entries() const noexcept { return entries_; }

    // The regular file called `name` (normalised like ArchiveEntry::name), following
    // symlinks and hardlinks inside the archive (at most 16 hops); nullptr when absent.
    const ArchiveEntry* find_file(std::string_view name) const;

    // The bytes of a file: ImageError when absent, or larger than `max_size` (a guard against
    // a "manifest.json" of several GiB).
    std::string read_file(std::string_view name, std::uint64_t max_size = 16u << 20) const;
    FileRange range(std::string_view name) const;  // ImageError when absent

  private:
    std::optional<std::string> resolve_symlinked_folder(const std::string& name) const;

    std::filesystem::path path_;
    std::filesystem::path data_file_;
    std::vector<ArchiveEntry> entries_;
    std::map<std::string, std::size_t, std::less<>> by_name_;
};

}  // namespace assetctl::image
