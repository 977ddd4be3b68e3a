#pragma once

// Internal to the packaging module: a file written under a temporary name and renamed into
// place once complete, so a reader sees no file, the old file or the whole new one.

#include <filesystem>

#include "util/fd.hpp"

namespace assetctl::packaging {

// A fresh private file (mkstemp: 0600, O_EXCL, never a planted symlink) beside `target`,
// removed when this object goes unless commit() renamed it over `target`. Several writers of
// one target at once are safe: each has its own temporary file and the last rename wins.
class PendingFile {
  public:
    // Throws util::Fatal naming `target` when no file can be made beside it.
    explicit PendingFile(std::filesystem::path target);
    ~PendingFile();
    PendingFile(const PendingFile&) = delete;
    PendingFile& operator=(const PendingFile&) = delete;

    int fd() const noexcept { return fd_.get(); }
    const std::filesystem::path& temporary_path() const noexcept { return temporary_; }

    // Flushes the file to disk, closes it and renames it over the target (a cache entry must
    // never be half a file after a crash). Throws util::Fatal naming the target.
    void commit();

  private:
    std::filesystem::path target_;
    std::filesystem::path temporary_;
    util::Fd fd_;
    bool committed_ = false;
};

}  // namespace assetctl::packaging
