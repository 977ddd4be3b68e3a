#include "image/archive.hpp"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <array>
#include <cerrno>
#include <fcntl.h>
#include <memory>
#include <stdexcept>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "image/image_error.hpp"
#include "image/libarchive_reading.hpp"
#include "image/quote.hpp"
#include "util/fd.hpp"
#include "util/files.hpp"
#include "util/interrupt.hpp"

namespace assetctl::image {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t k_block_size = 512;
constexpr int k_max_link_hops = 16;
// Every regular file's first bytes (up to this many) are read through libarchive during the
// index and compared with the bytes at the computed offset: the offset arithmetic below relies
// on libarchive's header positions, and a wrong offset would silently push the wrong bytes.
constexpr std::size_t k_self_check_bytes = 64 * 1024;
constexpr std::size_t k_copy_buffer_size = 64 * 1024;

constexpr std::string_view k_recreate_hint =
    "re-create it, for example with `docker save -o image.tar IMAGE` or `skopeo copy "
    "containers-storage:IMAGE oci-archive:image.tar`";

using NameIndex = std::map<std::string, std::size_t, std::less<>>;

[[noreturn]] void fail(const fs::path& tarball, std::string_view what) {
    throw ImageError("image tarball " + quote(tarball.string()) + ": " + std::string(what));
}

[[noreturn]] void fail_entry(const fs::path& tarball, std::string_view entry,
                             std::string_view what) {
    throw ImageError("image tarball " + quote(tarball.string()) + ": entry " + quote(entry) + " " +
                     std::string(what) +
                     "; the whole tarball is refused: " + std::string(k_recreate_hint));
}

// Reads up to `size` bytes at `offset`; fewer only at end of file.
std::size_t pread_full(int fd, char* buffer, std::size_t size, std::uint64_t offset,
                       const fs::path& file) {
    try {
        return util::read_at(fd, buffer, size, offset);
    } catch (const std::system_error& e) {
        throw ImageError("cannot read " + quote(file.string()) + ": " + e.code().message());
    }
}

[[noreturn]] void fail_spool_write(const fs::path& file, int error) {
    throw std::runtime_error("cannot write the decompressed tarball " + quote(file.string()) +
                             ": " + util::errno_message(error));
}

void write_all(int fd, const char* data, std::size_t size, const fs::path& file) {
    try {
        util::write_all(fd, std::string_view(data, size));
    } catch (const std::system_error& e) {
        fail_spool_write(file, e.code().value());
    }
}

// The tarball (or its spooled copy) opened for reading, with its size: ImageError naming the
// tarball when it cannot be opened or is not a regular file.
struct OpenedFile {
    util::Fd fd;
    std::uint64_t size = 0;
};

OpenedFile open_regular_file(const fs::path& file, const fs::path& tarball) {
    OpenedFile out{util::Fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC)), 0};
    if (!out.fd) {
        const int error = errno;
        fail(tarball, "cannot be opened: " + util::errno_message(error));
    }
    struct stat info {};
    if (::fstat(out.fd.get(), &info) != 0) {
        const int error = errno;
        fail(tarball, "cannot be read: " + util::errno_message(error));
    }
    if (!S_ISREG(info.st_mode)) {
        fail(tarball, "is not a regular file");
    }
    out.size = static_cast<std::uint64_t>(info.st_size);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Compression: sniffed from the magic bytes; gzip is spooled, the others are refused.

enum class Magic { none, gzip, zstd, bzip2, xz };

Magic magic_of(const std::array<unsigned char, 6>& head, std::size_t got) {
    if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
        return Magic::gzip;
    }
    if (got >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) {
        return Magic::zstd;
    }
    if (got >= 3 && head[0] == 'B' && head[1] == 'Z' && head[2] == 'h') {
        return Magic::bzip2;
    }
    if (got >= 6 && head[0] == 0xfd && head[1] == '7' && head[2] == 'z' && head[3] == 'X' &&
        head[4] == 'Z' && head[5] == 0) {
        return Magic::xz;
    }
    return Magic::none;
}

Magic sniff(const fs::path& tarball) {
    const OpenedFile file = open_regular_file(tarball, tarball);
    std::array<unsigned char, 6> head{};
    const std::size_t got =
        pread_full(file.fd.get(), reinterpret_cast<char*>(head.data()), head.size(), 0, tarball);
    return magic_of(head, got);
}

[[noreturn]] void refuse_compression(const fs::path& tarball, std::string_view name,
                                     std::string_view command) {
    fail(tarball, "is " + std::string(name) +
                      "-compressed, which is not supported for image tarballs; decompress it (`" +
                      std::string(command) + "`) or use a plain or gzip-compressed tar");
}

// A new 0600 file in `spool_dir`, removed when this object goes unless keep() was called.
class SpoolFile {
  public:
    SpoolFile(const fs::path& spool_dir, const fs::path& tarball) {
        std::string pattern = (spool_dir / "tarball-XXXXXX.tar").string();
        fd_ = util::Fd(::mkstemps(pattern.data(), 4));
        if (!fd_) {
            const int error = errno;
            throw std::runtime_error("cannot create a file in " + quote(spool_dir.string()) +
                                     " to decompress " + quote(tarball.string()) + ": " +
                                     util::errno_message(error));
        }
        path_ = pattern;
        ::fchmod(fd_.get(), S_IRUSR | S_IWUSR);
    }
    ~SpoolFile() {
        if (!kept_) {
            std::error_code ignored;
            fs::remove(path_, ignored);
        }
    }
    SpoolFile(const SpoolFile&) = delete;
    SpoolFile& operator=(const SpoolFile&) = delete;

    int fd() const noexcept { return fd_.get(); }
    const fs::path& path() const noexcept { return path_; }
    // Closes the file (its close error counts: written data may be lost) and keeps it.
    fs::path keep() {
        try {
            fd_.close();
        } catch (const std::system_error& e) {
            fail_spool_write(path_, e.code().value());
        }
        kept_ = true;
        return path_;
    }

  private:
    util::Fd fd_;
    fs::path path_;
    bool kept_ = false;
};

// Decompresses the gzip stream `tarball` into a new 0600 file in `spool_dir`, with a fixed
// buffer. The partial file is removed on failure.
fs::path spool_gzip(const fs::path& tarball, const fs::path& spool_dir) {
    SpoolFile out(spool_dir, tarball);
    ArchivePtr reader = new_reader();
    archive_read_support_filter_gzip(reader.get());
    archive_read_support_format_raw(reader.get());
    const auto corrupt = [&](std::string_view detail) {
        fail(tarball, "is gzip-compressed but cannot be decompressed (" + std::string(detail) +
                          "): the file is truncated or corrupt; " + std::string(k_recreate_hint));
    };
    archive_entry* entry = nullptr;
    if (archive_read_open_filename(reader.get(), tarball.c_str(), k_copy_buffer_size) !=
            ARCHIVE_OK ||
        archive_read_next_header(reader.get(), &entry) != ARCHIVE_OK) {
        corrupt(archive_message(reader.get()));
    }
    std::vector<char> buffer(k_copy_buffer_size);
    for (;;) {
        if (util::interrupted()) {
            throw util::Interrupted("interrupted while decompressing " + quote(tarball.string()));
        }
        const la_ssize_t n = archive_read_data(reader.get(), buffer.data(), buffer.size());
        if (n < 0) {
            corrupt(archive_message(reader.get()));
        }
        if (n == 0) {
            break;
        }
        write_all(out.fd(), buffer.data(), static_cast<std::size_t>(n), out.path());
    }
    return out.keep();
}

// The uncompressed tar to index: the tarball itself, or its gzip content spooled.
fs::path uncompressed_tar(const fs::path& tarball, const fs::path& spool_dir) {
    switch (sniff(tarball)) {
        case Magic::gzip:
            return spool_gzip(tarball, spool_dir);
        case Magic::zstd:
            refuse_compression(tarball, "zstd", "zstd -d");
        case Magic::bzip2:
            refuse_compression(tarball, "bzip2", "bunzip2");
        case Magic::xz:
            refuse_compression(tarball, "xz", "xz -d");
        case Magic::none:
            break;
    }
    return tarball;
}

// ---------------------------------------------------------------------------------------------
// Indexing: every header read with libarchive, classified, and each file's data offset found.

std::uint64_t round_up_to_block(std::uint64_t size) {
    return (size + k_block_size - 1) / k_block_size * k_block_size;
}

// A regular file whose data offset is known once the next header's position is.
struct PendingFile {
    std::size_t index = 0;
    std::uint64_t header_position = 0;
    std::string prefix;  // its first bytes as libarchive returned them
};

// One pass over the tar's headers with libarchive. Each file's data offset is derived from
// the position of the header after it (its data is the padded block run just before), then
// checked against the first bytes libarchive returned for it.
class TarIndexer {
  public:
    TarIndexer(const fs::path& tarball, const fs::path& data_file)
        : tarball_(tarball),
          note_(data_file != tarball ? " (after gzip decompression)" : ""),
          data_(open_regular_file(data_file, tarball)),
          reader_(new_reader()),
          buffer_(k_copy_buffer_size) {
        if (data_.size == 0) {
            fail(tarball_, "is empty" + note_ + "; " + std::string(k_recreate_hint));
        }
        archive_read_support_format_tar(reader_.get());
        if (archive_read_open_filename(reader_.get(), data_file.c_str(), k_copy_buffer_size) !=
            ARCHIVE_OK) {
            fail(tarball_, "is not a tar archive" + note_ + ": " + archive_message(reader_.get()) +
                               "; " + std::string(k_recreate_hint));
        }
    }

    const std::string& note() const noexcept { return note_; }

    // Reads every header; the entries and their index by name.
    void index_all(std::vector<ArchiveEntry>& entries, NameIndex& by_name) {
        entries_ = &entries;
        by_name_ = &by_name;
        std::uint64_t position = 0;
        while (archive_entry* entry = next_header(position)) {
            add(entry, position);
        }
    }

  private:
    // The next header and where it starts (settling the pending file first); nullptr at the
    // end of the archive.
    archive_entry* next_header(std::uint64_t& position) {
        archive_entry* entry = nullptr;
        const int rc = archive_read_next_header(reader_.get(), &entry);
        // Set even for the call that ends with ARCHIVE_EOF: the start of this header (its pax or
        // GNU long-name records included), which is right after the previous entry's padded data.
        const la_int64_t header = archive_read_header_position(reader_.get());
        if (rc != ARCHIVE_EOF && rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
            fail_header();
        }
        if (header < 0) {
            throw std::logic_error("internal error: libarchive gave no header position for " +
                                   tarball_.string());
        }
        position = static_cast<std::uint64_t>(header);
        settle_pending(position);
        return rc == ARCHIVE_EOF ? nullptr : entry;
    }

    [[noreturn]] void fail_header() {
        if (last_name_.empty()) {
            fail(tarball_, "is not a tar archive (or is corrupt at its start)" + note_ + ": " +
                               archive_message(reader_.get()) + "; " +
                               std::string(k_recreate_hint));
        }
        fail(tarball_, "is truncated or corrupt" + note_ + " after entry " + quote(last_name_) +
                           ": " + archive_message(reader_.get()) + "; " +
                           std::string(k_recreate_hint));
    }

    void add(archive_entry* entry, std::uint64_t position) {
        const char* raw_name = entry_pathname(entry);
        if (raw_name == nullptr) {
            fail(tarball_, "has an entry without a readable name after " +
                               (last_name_.empty() ? std::string("the start")
                                                   : "entry " + quote(last_name_)) +
                               "; " + std::string(k_recreate_hint));
        }
        EntryDecision decision = classify_entry(raw_entry(entry, raw_name), *by_name_);
        if (decision.verdict == EntryDecision::Verdict::refuse) {
            fail_entry(tarball_, raw_name, decision.reason);
        }
        last_name_ = raw_name;
        if (decision.verdict == EntryDecision::Verdict::skip) {
            return;
        }
        by_name_->emplace(decision.entry.name, entries_->size());
        entries_->push_back(std::move(decision.entry));
        if (entries_->back().type == ArchiveEntry::Type::file) {
            start_pending(entries_->size() - 1, position);
        }
    }

    // Reads the file's first bytes through libarchive, for settle_pending's check.
    void start_pending(std::size_t index, std::uint64_t header_position) {
        const ArchiveEntry& item = (*entries_)[index];
        PendingFile file;
        file.index = index;
        file.header_position = header_position;
        const auto wanted =
            static_cast<std::size_t>(std::min<std::uint64_t>(item.size, k_self_check_bytes));
        while (file.prefix.size() < wanted) {
            const la_ssize_t n =
                archive_read_data(reader_.get(), buffer_.data(),
                                  std::min(buffer_.size(), wanted - file.prefix.size()));
            if (n < 0) {
                truncated(item.name, "cannot be read: " + archive_message(reader_.get()));
            }
            if (n == 0) {
                truncated(item.name, "ends early");
            }
            file.prefix.append(buffer_.data(), static_cast<std::size_t>(n));
        }
        pending_ = std::move(file);
    }

    // Places the pending file's data right before the header at `next_header`.
    void settle_pending(std::uint64_t next_header) {
        if (!pending_) {
            return;
        }
        ArchiveEntry& file = (*entries_)[pending_->index];
        const std::uint64_t padded = round_up_to_block(file.size);
        if (next_header < padded ||
            next_header - padded < pending_->header_position + k_block_size) {
            throw std::logic_error("internal error: tar entry '" + file.name + "' of " +
                                   tarball_.string() +
                                   ": libarchive's header positions leave no room for its data");
        }
        file.data_offset = next_header - padded;
        if (file.data_offset + file.size > data_.size) {
            truncated(file.name, "ends after the end of the file");
        }
        check_prefix(file, pending_->prefix);
        pending_.reset();
    }

    void check_prefix(const ArchiveEntry& file, const std::string& expected) {
        std::string actual(expected.size(), '\0');
        if (pread_full(data_.fd.get(), actual.data(), actual.size(), file.data_offset, tarball_) !=
            expected.size()) {
            truncated(file.name, "ends after the end of the file");
        }
        if (actual != expected) {
            throw std::logic_error("internal error: tar entry '" + file.name + "' of " +
                                   tarball_.string() + ": the bytes at the computed offset " +
                                   std::to_string(file.data_offset) +
                                   " differ from what libarchive read; please report");
        }
    }

    [[noreturn]] void truncated(std::string_view entry, std::string_view detail) {
        fail(tarball_, "is truncated or corrupt" + note_ + ": the data of entry " + quote(entry) +
                           " " + std::string(detail) + "; " + std::string(k_recreate_hint));
    }

    const fs::path& tarball_;
    std::string note_;  // " (after gzip decompression)" when spooled, for messages
    OpenedFile data_;
    ArchivePtr reader_;
    std::vector<char> buffer_;
    std::optional<PendingFile> pending_;
    std::string last_name_;  // for messages about what follows it
    std::vector<ArchiveEntry>* entries_ = nullptr;
    NameIndex* by_name_ = nullptr;
};

}  // namespace

TarArchive TarArchive::open(const fs::path& tarball, const fs::path& spool_dir) {
    TarArchive result;
    result.path_ = tarball;
    result.data_file_ = uncompressed_tar(tarball, spool_dir);
    TarIndexer indexer(tarball, result.data_file_);
    indexer.index_all(result.entries_, result.by_name_);
    if (result.entries_.empty()) {
        fail(tarball, "holds no files (an empty archive)" + indexer.note() + "; " +
                          std::string(k_recreate_hint));
    }
    if (const auto refusal = check_hardlink_targets(result.entries_, result.by_name_)) {
        fail_entry(tarball, refusal->entry, refusal->reason);
    }
    spdlog::debug("image tarball {}: {} entries{}", tarball.string(), result.entries_.size(),
                  indexer.note());
    return result;
}

const ArchiveEntry* TarArchive::find_file(std::string_view name) const {
    const auto normalised = normalize_archive_name(name);
    if (!normalised) {
        return nullptr;
    }
    std::string current = *normalised;
    for (int hops = 0;; ++hops) {
        if (hops > k_max_link_hops) {
            throw ImageError(
                "image tarball " + quote(path_.string()) + ": entry " + quote(std::string(name)) +
                " goes through more than " + std::to_string(k_max_link_hops) +
                " symlinks or hardlinks (a link loop?); " + std::string(k_recreate_hint));
        }
        if (const auto it = by_name_.find(current); it != by_name_.end()) {
            const ArchiveEntry& entry = entries_[it->second];
            if (entry.type == ArchiveEntry::Type::file) {
                return &entry;
            }
            if (entry.type == ArchiveEntry::Type::directory) {
                return nullptr;
            }
            current = entry.link_target;
            continue;
        }
        auto through_folder = resolve_symlinked_folder(current);
        if (!through_folder) {
            return nullptr;
        }
        current = std::move(*through_folder);
    }
}

// `name` with its first folder that is a symlink replaced by the link's target ("dir/file"
// with "dir -> other" gives "other/file"); nullopt when none of its folders is a symlink.
std::optional<std::string> TarArchive::resolve_symlinked_folder(const std::string& name) const {
    for (std::size_t slash = name.find('/'); slash != std::string::npos;
         slash = name.find('/', slash + 1)) {
        const auto it = by_name_.find(std::string_view(name).substr(0, slash));
        if (it == by_name_.end() || entries_[it->second].type != ArchiveEntry::Type::symlink) {
            continue;
        }
        const std::string& target = entries_[it->second].link_target;
        const std::string rest = name.substr(slash + 1);
        return target.empty() ? rest : target + "/" + rest;
    }
    return std::nullopt;
}

std::string TarArchive::read_file(std::string_view name, std::uint64_t max_size) const {
    const FileRange bytes_range = range(name);
    if (bytes_range.size > max_size) {
        throw ImageError("image tarball " + quote(path_.string()) + ": " + quote(name) + " is " +
                         std::to_string(bytes_range.size) + " bytes, more than the " +
                         std::to_string(max_size) + " expected of such a file; " +
                         std::string(k_recreate_hint));
    }
    const util::Fd fd(::open(data_file_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        const int error = errno;
        throw ImageError("cannot open " + quote(data_file_.string()) + ": " +
                         util::errno_message(error));
    }
    std::string bytes(static_cast<std::size_t>(bytes_range.size), '\0');
    if (pread_full(fd.get(), bytes.data(), bytes.size(), bytes_range.offset, data_file_) !=
        bytes.size()) {
        throw ImageError("image tarball " + quote(path_.string()) + ": " + quote(name) +
                         " is cut short (the file changed or was truncated since it was "
                         "opened)");
    }
    return bytes;
}

FileRange TarArchive::range(std::string_view name) const {
    const ArchiveEntry* entry = find_file(name);
    if (entry == nullptr) {
        throw ImageError("image tarball " + quote(path_.string()) + " has no file " + quote(name) +
                         "; " + std::string(k_recreate_hint));
    }
    return FileRange{data_file_, entry->data_offset, entry->size};
}

}  // namespace assetctl::image
