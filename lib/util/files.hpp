#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace assetctl::util {

// A file could not be read; what() names the file and the system's reason.
class FileError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The whole file as bytes. Throws FileError.
std::string read_file(const std::filesystem::path& path);

// Writes `bytes` to `path` so that readers see the old file, no file, or the whole new one:
// a fresh file (mkstemp, so never an existing file or a planted symlink) in the same folder,
// given exactly `mode`, filled, closed and renamed over `path`. Several writers at once are
// safe (the last rename wins). On any failure the temporary file is removed and FileError
// names the file and the system's reason.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes,
                           std::filesystem::perms mode);

// mkdir -p where every folder it creates is 0700 (caches say what a user pushed). Throws
// FileError naming the folder that cannot be made (or exists and is not a folder).
void create_private_directories(const std::filesystem::path& dir);

// True when `inner` is `outer` or lies below it once both are made absolute, `.`/`..` are
// removed and existing symlinks are followed.
bool is_within(const std::filesystem::path& inner, const std::filesystem::path& outer);

// Reads up to `size` bytes of the open file `fd` from `offset` with pread(), however the kernel
// splits them; fewer only at the end of the file. Throws std::system_error (errno) on a read
// error. Safe for several threads reading one descriptor.
std::size_t read_at(int fd, char* buffer, std::size_t size, std::uint64_t offset);

// A new private run folder (util/run_folders.hpp: `assetctl-<kind>-r<run>-XXXXXX`, 0700) in
// TMPDIR, removed with everything in it when this object goes - on every exit path, an
// interrupt included, since SIGINT unwinds (util/interrupt.hpp) - unless keep() was called,
// which renames it `assetctl-<kind>-XXXXXX` (no run id: later runs leave it alone) and path()
// then names the new place. Throws FileError when it cannot be made.
class PrivateDirectory {
  public:
    explicit PrivateDirectory(std::string_view kind);
    ~PrivateDirectory();
    PrivateDirectory(const PrivateDirectory&) = delete;
    PrivateDirectory& operator=(const PrivateDirectory&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }
    void keep() noexcept;

  private:
    std::filesystem::path path_;
    bool keep_ = false;
};

}  // namespace assetctl::util
