#include "image/archive.hpp"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <array>
#include <cerrno>
#include <cstring>
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

std::string quote(std::string_view text) {
    return "'" + std::string(text) + "'";
}

std::string errno_text(int error) {
    return std::generic_category().message(error);
}

[[noreturn]] void fail(const fs::path& tarball, std::string_view what) {
    throw ImageError("image tarball " + quote(tarball.string()) + ": " + std::string(what));
}

[[noreturn]] void fail_entry(const fs::path& tarball, std::string_view entry,
                             std::string_view what) {
    throw ImageError("image tarball " + quote(tarball.string()) + ": entry " + quote(entry) + " " +
                     std::string(what) +
                     "; the whole tarball is refused: " + std::string(k_recreate_hint));
}

class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;

    int get() const noexcept { return fd_; }
    // Closes now, reporting the error (a failed close after writes can mean lost data).
    int close() noexcept {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

  private:
    int fd_;
};

// Reads up to `size` bytes at `offset`; fewer only at end of file.
std::size_t pread_full(int fd, char* buffer, std::size_t size, std::uint64_t offset,
                       const fs::path& file) {
    try {
        return util::read_at(fd, buffer, size, offset);
    } catch (const std::system_error& e) {
        throw ImageError("cannot read " + quote(file.string()) + ": " + e.code().message());
    }
}

void write_all(int fd, const char* data, std::size_t size, const fs::path& file) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int error = errno;
            throw std::runtime_error("cannot write the decompressed tarball " +
                                     quote(file.string()) + ": " + errno_text(error));
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

struct ArchiveDeleter {
    void operator()(archive* a) const noexcept { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

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

enum class Magic { none, gzip, zstd, bzip2, xz };

Magic sniff(const fs::path& tarball, std::uint64_t& file_size) {
    const int raw_fd = ::open(tarball.c_str(), O_RDONLY | O_CLOEXEC);
    if (raw_fd < 0) {
        const int error = errno;
        fail(tarball, "cannot be opened: " + errno_text(error));
    }
    FileDescriptor fd(raw_fd);
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) {
        const int error = errno;
        fail(tarball, "cannot be read: " + errno_text(error));
    }
    if (!S_ISREG(info.st_mode)) {
        fail(tarball, "is not a regular file");
    }
    file_size = static_cast<std::uint64_t>(info.st_size);
    std::array<unsigned char, 6> head{};
    const std::size_t got =
        pread_full(fd.get(), reinterpret_cast<char*>(head.data()), head.size(), 0, tarball);
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

// Decompresses the gzip stream `tarball` into a new 0600 file in `spool_dir`, with a fixed
// buffer. The partial file is removed on failure.
fs::path spool_gzip(const fs::path& tarball, const fs::path& spool_dir) {
    std::string pattern = (spool_dir / "tarball-XXXXXX.tar").string();
    const int raw_fd = ::mkstemps(pattern.data(), 4);
    if (raw_fd < 0) {
        const int error = errno;
        throw std::runtime_error("cannot create a file in " + quote(spool_dir.string()) +
                                 " to decompress " + quote(tarball.string()) + ": " +
                                 errno_text(error));
    }
    const fs::path spooled = pattern;
    FileDescriptor out(raw_fd);
    struct Remover {
        const fs::path& file;
        bool keep = false;
        ~Remover() {
            if (!keep) {
                std::error_code ignored;
                fs::remove(file, ignored);
            }
        }
    } remover{spooled};
    ::fchmod(out.get(), S_IRUSR | S_IWUSR);

    ArchivePtr reader = new_reader();
    archive_read_support_filter_gzip(reader.get());
    archive_read_support_format_raw(reader.get());
    const auto corrupt = [&](std::string_view detail) {
        fail(tarball, "is gzip-compressed but cannot be decompressed (" + std::string(detail) +
                          "): the file is truncated or corrupt; " + std::string(k_recreate_hint));
    };
    if (archive_read_open_filename(reader.get(), tarball.c_str(), k_copy_buffer_size) !=
        ARCHIVE_OK) {
        corrupt(archive_message(reader.get()));
    }
    archive_entry* entry = nullptr;
    if (archive_read_next_header(reader.get(), &entry) != ARCHIVE_OK) {
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
        write_all(out.get(), buffer.data(), static_cast<std::size_t>(n), spooled);
    }
    if (out.close() != 0) {
        const int error = errno;
        throw std::runtime_error("cannot write the decompressed tarball " +
                                 quote(spooled.string()) + ": " + errno_text(error));
    }
    remover.keep = true;
    return spooled;
}

std::uint64_t round_up_to_block(std::uint64_t size) {
    return (size + k_block_size - 1) / k_block_size * k_block_size;
}

bool has_dot_dot(std::string_view name) {
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find('/', start);
        if (end == std::string_view::npos) {
            end = name.size();
        }
        if (name.substr(start, end - start) == "..") {
            return true;
        }
        start = end + 1;
    }
    return false;
}

// Splits a relative name into its components, dropping empty ones and ".".
std::vector<std::string_view> components(std::string_view name) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find('/', start);
        if (end == std::string_view::npos) {
            end = name.size();
        }
        const std::string_view part = name.substr(start, end - start);
        if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        start = end + 1;
    }
    return parts;
}

std::string join(const std::vector<std::string_view>& parts) {
    std::string out;
    for (const auto part : parts) {
        if (!out.empty()) {
            out += '/';
        }
        out += part;
    }
    return out;
}

// A symlink's target resolved lexically against the link's folder; nullopt when it climbs
// above the archive root.
std::optional<std::string> resolve_symlink_target(std::string_view link_name,
                                                  std::string_view target) {
    std::vector<std::string_view> parts = components(link_name);
    if (!parts.empty()) {
        parts.pop_back();  // the link itself
    }
    std::size_t start = 0;
    while (start <= target.size()) {
        std::size_t end = target.find('/', start);
        if (end == std::string_view::npos) {
            end = target.size();
        }
        const std::string_view part = target.substr(start, end - start);
        if (part == "..") {
            if (parts.empty()) {
                return std::nullopt;
            }
            parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        start = end + 1;
    }
    return join(parts);
}

const char* entry_pathname(archive_entry* entry) {
    const char* name = archive_entry_pathname_utf8(entry);
    return name != nullptr ? name : archive_entry_pathname(entry);
}

const char* entry_symlink(archive_entry* entry) {
    const char* target = archive_entry_symlink_utf8(entry);
    return target != nullptr ? target : archive_entry_symlink(entry);
}

const char* entry_hardlink(archive_entry* entry) {
    const char* target = archive_entry_hardlink_utf8(entry);
    return target != nullptr ? target : archive_entry_hardlink(entry);
}

// A regular file whose data offset is known once the next header's position is.
struct PendingFile {
    std::size_t index = 0;
    std::uint64_t header_position = 0;
    std::string prefix;  // its first bytes as libarchive returned them
};

}  // namespace

std::optional<std::string> normalize_archive_name(std::string_view name) {
    if (!name.empty() && name.front() == '/') {
        return std::nullopt;
    }
    if (has_dot_dot(name)) {
        return std::nullopt;
    }
    return join(components(name));
}

TarArchive TarArchive::open(const fs::path& tarball, const fs::path& spool_dir) {
    TarArchive result;
    result.path_ = tarball;

    std::uint64_t file_size = 0;
    switch (sniff(tarball, file_size)) {
        case Magic::gzip:
            result.data_file_ = spool_gzip(tarball, spool_dir);
            break;
        case Magic::zstd:
            fail(tarball,
                 "is zstd-compressed, which is not supported for image tarballs; decompress it "
                 "(`zstd -d`) or use a plain or gzip-compressed tar");
        case Magic::bzip2:
            fail(tarball,
                 "is bzip2-compressed, which is not supported for image tarballs; decompress it "
                 "(`bunzip2`) or use a plain or gzip-compressed tar");
        case Magic::xz:
            fail(tarball,
                 "is xz-compressed, which is not supported for image tarballs; decompress it "
                 "(`xz -d`) or use a plain or gzip-compressed tar");
        case Magic::none:
            result.data_file_ = tarball;
            break;
    }
    const bool spooled = result.data_file_ != tarball;
    const std::string decompressed_note = spooled ? " (after gzip decompression)" : "";

    const int raw_fd = ::open(result.data_file_.c_str(), O_RDONLY | O_CLOEXEC);
    if (raw_fd < 0) {
        const int error = errno;
        fail(tarball, "cannot be opened: " + errno_text(error));
    }
    FileDescriptor data_fd(raw_fd);
    struct stat info {};
    if (::fstat(data_fd.get(), &info) != 0) {
        const int error = errno;
        fail(tarball, "cannot be read: " + errno_text(error));
    }
    const auto data_size = static_cast<std::uint64_t>(info.st_size);
    if (data_size == 0) {
        fail(tarball, "is empty" + decompressed_note + "; " + std::string(k_recreate_hint));
    }

    ArchivePtr reader = new_reader();
    archive_read_support_format_tar(reader.get());
    if (archive_read_open_filename(reader.get(), result.data_file_.c_str(), k_copy_buffer_size) !=
        ARCHIVE_OK) {
        fail(tarball, "is not a tar archive" + decompressed_note + ": " +
                          archive_message(reader.get()) + "; " + std::string(k_recreate_hint));
    }

    std::optional<PendingFile> pending;
    std::string last_name;  // for messages about what follows it
    std::vector<char> buffer(k_copy_buffer_size);

    const auto truncated = [&](std::string_view entry, std::string_view detail) {
        fail(tarball, "is truncated or corrupt" + decompressed_note + ": the data of entry " +
                          quote(entry) + " " + std::string(detail) + "; " +
                          std::string(k_recreate_hint));
    };

    // Places the pending file's data right before the header at `next_header`.
    const auto settle_pending = [&](std::uint64_t next_header) {
        if (!pending) {
            return;
        }
        ArchiveEntry& file = result.entries_[pending->index];
        const std::uint64_t padded = round_up_to_block(file.size);
        if (next_header < padded || next_header - padded < pending->header_position + 512) {
            throw std::logic_error("internal error: tar entry '" + file.name + "' of " +
                                   tarball.string() +
                                   ": libarchive's header positions leave no room for its data");
        }
        file.data_offset = next_header - padded;
        if (file.data_offset + file.size > data_size) {
            truncated(file.name, "ends after the end of the file");
        }
        const std::string& expected = pending->prefix;
        std::string actual(expected.size(), '\0');
        const std::size_t got =
            pread_full(data_fd.get(), actual.data(), actual.size(), file.data_offset, tarball);
        if (got != expected.size()) {
            truncated(file.name, "ends after the end of the file");
        }
        if (actual != expected) {
            throw std::logic_error("internal error: tar entry '" + file.name + "' of " +
                                   tarball.string() + ": the bytes at the computed offset " +
                                   std::to_string(file.data_offset) +
                                   " differ from what libarchive read; please report");
        }
        pending.reset();
    };

    for (;;) {
        archive_entry* entry = nullptr;
        const int rc = archive_read_next_header(reader.get(), &entry);
        // Set even for the call that ends with ARCHIVE_EOF: the start of this header (its pax or
        // GNU long-name records included), which is right after the previous entry's padded data.
        const la_int64_t position = archive_read_header_position(reader.get());
        if (rc == ARCHIVE_EOF || rc == ARCHIVE_OK || rc == ARCHIVE_WARN) {
            if (position < 0) {
                throw std::logic_error("internal error: libarchive gave no header position for " +
                                       tarball.string());
            }
            settle_pending(static_cast<std::uint64_t>(position));
        }
        if (rc == ARCHIVE_EOF) {
            break;
        }
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
            if (last_name.empty()) {
                fail(tarball, "is not a tar archive (or is corrupt at its start)" +
                                  decompressed_note + ": " + archive_message(reader.get()) + "; " +
                                  std::string(k_recreate_hint));
            }
            fail(tarball, "is truncated or corrupt" + decompressed_note + " after entry " +
                              quote(last_name) + ": " + archive_message(reader.get()) + "; " +
                              std::string(k_recreate_hint));
        }

        const char* raw_name = entry_pathname(entry);
        if (raw_name == nullptr) {
            fail(tarball,
                 "has an entry without a readable name after " +
                     (last_name.empty() ? std::string("the start") : "entry " + quote(last_name)) +
                     "; " + std::string(k_recreate_hint));
        }
        const std::string raw(raw_name);
        if (!raw.empty() && raw.front() == '/') {
            fail_entry(tarball, raw, "has an absolute name");
        }
        if (has_dot_dot(raw)) {
            fail_entry(tarball, raw, "has a '..' component, which could leave the archive");
        }
        std::string name = *normalize_archive_name(raw);
        last_name = raw;

        if (archive_entry_sparse_count(entry) > 0) {
            fail_entry(tarball, raw, "is a sparse file, which image tarballs never contain");
        }

        ArchiveEntry item;
        item.name = name;
        if (const char* hardlink = entry_hardlink(entry); hardlink != nullptr) {
            const std::string target_raw(hardlink);
            const auto target = normalize_archive_name(target_raw);
            if (!target || target->empty()) {
                fail_entry(
                    tarball, raw,
                    "is a hardlink to " + quote(target_raw) + ", which is outside the archive");
            }
            item.type = ArchiveEntry::Type::hardlink;
            item.link_target = *target;
        } else {
            switch (archive_entry_filetype(entry)) {
                case AE_IFREG: {
                    item.type = ArchiveEntry::Type::file;
                    const la_int64_t size = archive_entry_size(entry);
                    if (size < 0) {
                        fail_entry(tarball, raw, "has a negative size");
                    }
                    item.size = static_cast<std::uint64_t>(size);
                    break;
                }
                case AE_IFDIR:
                    item.type = ArchiveEntry::Type::directory;
                    break;
                case AE_IFLNK: {
                    const char* target_text = entry_symlink(entry);
                    const std::string target_raw = target_text != nullptr ? target_text : "";
                    if (target_raw.empty()) {
                        fail_entry(tarball, raw, "is a symlink without a target");
                    }
                    if (target_raw.front() == '/') {
                        fail_entry(tarball, raw,
                                   "is a symlink to the absolute path " + quote(target_raw));
                    }
                    const auto target = resolve_symlink_target(name, target_raw);
                    if (!target) {
                        fail_entry(
                            tarball, raw,
                            "is a symlink to " + quote(target_raw) + ", which leaves the archive");
                    }
                    item.type = ArchiveEntry::Type::symlink;
                    item.link_target = *target;
                    break;
                }
                case AE_IFCHR:
                case AE_IFBLK:
                    fail_entry(tarball, raw, "is a device node");
                case AE_IFIFO:
                    fail_entry(tarball, raw, "is a FIFO");
                case AE_IFSOCK:
                    fail_entry(tarball, raw, "is a socket");
                default:
                    fail_entry(tarball, raw, "has an unsupported entry type");
            }
        }

        if (name.empty()) {
            if (item.type == ArchiveEntry::Type::directory) {
                continue;  // "./": the root itself
            }
            fail_entry(tarball, raw, "has an empty name");
        }
        if (!result.by_name_.emplace(name, result.entries_.size()).second) {
            fail_entry(
                tarball, raw,
                "appears twice (as " + quote(name) + "), so which one is meant is ambiguous");
        }
        result.entries_.push_back(std::move(item));

        if (result.entries_.back().type == ArchiveEntry::Type::file) {
            PendingFile file;
            file.index = result.entries_.size() - 1;
            file.header_position = static_cast<std::uint64_t>(position);
            const std::size_t wanted = static_cast<std::size_t>(
                std::min<std::uint64_t>(result.entries_.back().size, k_self_check_bytes));
            while (file.prefix.size() < wanted) {
                const la_ssize_t n =
                    archive_read_data(reader.get(), buffer.data(),
                                      std::min(buffer.size(), wanted - file.prefix.size()));
                if (n < 0) {
                    truncated(name, "cannot be read: " + archive_message(reader.get()));
                }
                if (n == 0) {
                    truncated(name, "ends early");
                }
                file.prefix.append(buffer.data(), static_cast<std::size_t>(n));
            }
            pending = std::move(file);
        }
    }

    if (result.entries_.empty()) {
        fail(tarball, "holds no files (an empty archive)" + decompressed_note + "; " +
                          std::string(k_recreate_hint));
    }
    for (const auto& item : result.entries_) {
        if (item.type == ArchiveEntry::Type::hardlink &&
            result.by_name_.find(item.link_target) == result.by_name_.end()) {
            fail_entry(
                tarball, item.name,
                "is a hardlink to " + quote(item.link_target) + ", which is not in the archive");
        }
    }
    spdlog::debug("image tarball {}: {} entries{}", tarball.string(), result.entries_.size(),
                  decompressed_note);
    return result;
}

const ArchiveEntry* TarArchive::find_file(std::string_view name) const {
    const auto normalised = normalize_archive_name(name);
    if (!normalised) {
        return nullptr;
    }
    std::string current = *normalised;
    int hops = 0;
    const auto hop = [&](std::string next) {
        if (++hops > k_max_link_hops) {
            throw ImageError(
                "image tarball " + quote(path_.string()) + ": entry " + quote(std::string(name)) +
                " goes through more than " + std::to_string(k_max_link_hops) +
                " symlinks or hardlinks (a link loop?); " + std::string(k_recreate_hint));
        }
        current = std::move(next);
    };
    for (;;) {
        if (const auto it = by_name_.find(current); it != by_name_.end()) {
            const ArchiveEntry& entry = entries_[it->second];
            switch (entry.type) {
                case ArchiveEntry::Type::file:
                    return &entry;
                case ArchiveEntry::Type::directory:
                    return nullptr;
                case ArchiveEntry::Type::symlink:
                case ArchiveEntry::Type::hardlink:
                    hop(entry.link_target);
                    continue;
            }
            return nullptr;
        }
        // Not an entry itself: maybe one of its folders is a symlink ("dir/file" with
        // "dir -> other").
        bool replaced = false;
        for (std::size_t slash = current.find('/'); slash != std::string::npos;
             slash = current.find('/', slash + 1)) {
            const auto it = by_name_.find(std::string_view(current).substr(0, slash));
            if (it == by_name_.end()) {
                continue;
            }
            const ArchiveEntry& folder = entries_[it->second];
            if (folder.type != ArchiveEntry::Type::symlink) {
                continue;
            }
            const std::string rest = current.substr(slash + 1);
            hop(folder.link_target.empty() ? rest : folder.link_target + "/" + rest);
            replaced = true;
            break;
        }
        if (!replaced) {
            return nullptr;
        }
    }
}

std::string TarArchive::read_file(std::string_view name, std::uint64_t max_size) const {
    const ArchiveEntry* entry = find_file(name);
    if (entry == nullptr) {
        throw ImageError("image tarball " + quote(path_.string()) + " has no file " + quote(name) +
                         "; " + std::string(k_recreate_hint));
    }
    if (entry->size > max_size) {
        throw ImageError("image tarball " + quote(path_.string()) + ": " + quote(name) + " is " +
                         std::to_string(entry->size) + " bytes, more than the " +
                         std::to_string(max_size) + " expected of such a file; " +
                         std::string(k_recreate_hint));
    }
    const int raw_fd = ::open(data_file_.c_str(), O_RDONLY | O_CLOEXEC);
    if (raw_fd < 0) {
        const int error = errno;
        throw ImageError("cannot open " + quote(data_file_.string()) + ": " + errno_text(error));
    }
    FileDescriptor fd(raw_fd);
    std::string bytes(static_cast<std::size_t>(entry->size), '\0');
    if (pread_full(fd.get(), bytes.data(), bytes.size(), entry->data_offset, data_file_) !=
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
