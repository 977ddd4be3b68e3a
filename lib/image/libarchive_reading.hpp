#pragma once

// Internal to the image module: the libarchive pieces the indexed tarball reader (archive.cpp)
// and the engine save-stream reader (save_stream.cpp) share.

#include <archive.h>
#include <archive_entry.h>
#include <memory>
#include <string>

#include "image/archive_entry.hpp"

namespace assetctl::image {

struct ArchiveDeleter {
    void operator()(archive* a) const noexcept { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

// A new read handle; std::bad_alloc when libarchive cannot make one.
ArchivePtr new_reader();

// libarchive's last error on `a`, or "unknown libarchive error".
std::string archive_message(archive* a);

// The entry's name as stored (UTF-8 when libarchive has it); nullptr when unreadable.
const char* entry_pathname(archive_entry* entry);

// The header as classify_entry (archive_entry.hpp) takes it.
RawEntry raw_entry(archive_entry* entry, std::string name);

}  // namespace assetctl::image
