#include "image/libarchive_reading.hpp"

#include <new>
#include <utility>

namespace assetctl::image {

ArchivePtr new_reader() {
    ArchivePtr reader(archive_read_new());
    if (!reader) {
        throw std::bad_alloc();
    }
    return reader;
}

std::string archive_message(archive* a) {
    const char* message = archive_error_string(a);
    return message != nullptr ? message : "unknown libarchive error";
}

const char* entry_pathname(archive_entry* entry) {
    const char* name = archive_entry_pathname_utf8(entry);
    return name != nullptr ? name : archive_entry_pathname(entry);
}

namespace {

const char* entry_symlink(archive_entry* entry) {
    const char* target = archive_entry_symlink_utf8(entry);
    return target != nullptr ? target : archive_entry_symlink(entry);
}

const char* entry_hardlink(archive_entry* entry) {
    const char* target = archive_entry_hardlink_utf8(entry);
    return target != nullptr ? target : archive_entry_hardlink(entry);
}

RawEntry::Kind kind_of(archive_entry* entry) {
    switch (archive_entry_filetype(entry)) {
        case AE_IFREG:
            return RawEntry::Kind::file;
        case AE_IFDIR:
            return RawEntry::Kind::directory;
        case AE_IFLNK:
            return RawEntry::Kind::symlink;
        case AE_IFCHR:
            return RawEntry::Kind::char_device;
        case AE_IFBLK:
            return RawEntry::Kind::block_device;
        case AE_IFIFO:
            return RawEntry::Kind::fifo;
        case AE_IFSOCK:
            return RawEntry::Kind::socket;
        default:
            return RawEntry::Kind::other;
    }
}

}  // namespace

RawEntry raw_entry(archive_entry* entry, std::string name) {
    RawEntry raw;
    raw.name = std::move(name);
    raw.kind = kind_of(entry);
    raw.size = archive_entry_size(entry);
    raw.sparse = archive_entry_sparse_count(entry) > 0;
    if (const char* hardlink = entry_hardlink(entry); hardlink != nullptr) {
        raw.hardlink = hardlink;
    }
    if (const char* symlink = entry_symlink(entry); symlink != nullptr) {
        raw.symlink = symlink;
    }
    return raw;
}

}  // namespace assetctl::image
