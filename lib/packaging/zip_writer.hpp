#pragma once

// Internal to the packaging module: libarchive's zip writer, set up so that the bytes depend
// only on the entries' names, modes and contents.

#include <archive.h>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "packaging/zip_sources.hpp"

namespace assetctl::packaging {

// Writes a zip into an open descriptor (which it does not close), one entry per add():
// deflate (zlib level 6), the file's mode (S_IFREG | permissions) in the external attributes,
// uid and gid 0, no modification time, so the DOS date is libarchive's floor of 1980-01-01
// 00:00 in every time zone and the `UT` extra field carries no time. Names are stored as
// their bytes; a name that is valid UTF-8 and not ASCII gets the UTF-8 flag (yazl, which
// cdk-assets uses, sets it). Errors throw util::Fatal naming `zip_name` and the entry.
class ZipWriter {
  public:
    ZipWriter(int fd, std::string zip_name);
    ~ZipWriter();
    ZipWriter(const ZipWriter&) = delete;
    ZipWriter& operator=(const ZipWriter&) = delete;

    // Streams the file in chunks; fails when it is not a regular file or its size changes
    // while it is read.
    void add(const ZipSource& source);
    // Writes the central directory. No add() after it.
    void finish();

    std::uint64_t entries() const noexcept { return entries_; }

  private:
    struct Deleter {
        void operator()(archive* a) const noexcept { archive_write_free(a); }
    };
    void write_header(const ZipSource& source, std::int64_t size, unsigned mode);
    std::uint64_t copy_data(int fd, const ZipSource& source);
    [[noreturn]] void fail(const std::string& what) const;
    // libarchive's output callback: writes everything to fd_; on an error it keeps the errno
    // and reports success, so libarchive still ends the entry and frees its deflate stream
    // (a failed write leaves libarchive 3.6 holding it: a leak ASan found on a full disk).
    static la_ssize_t write_out(archive* a, void* self, const void* data, std::size_t size);
    // Throws the kept write error, if any, naming `what`.
    void throw_if_write_failed(const std::string& what) const;

    int fd_;
    int write_errno_ = 0;
    bool entry_open_ = false;  // a header written, its data not all: ended by the destructor
    std::unique_ptr<archive, Deleter> archive_;
    std::string zip_name_;
    std::vector<char> buffer_;  // one read chunk, reused for every entry
    std::uint64_t entries_ = 0;
};

}  // namespace assetctl::packaging
