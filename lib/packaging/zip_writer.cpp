#include "packaging/zip_writer.hpp"

#include <archive_entry.h>
#include <cerrno>
#include <clocale>
#include <fcntl.h>
#include <locale.h>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/interrupt.hpp"

namespace assetctl::packaging {

namespace {

constexpr std::size_t k_read_chunk = 1 << 20;
constexpr const char* k_zip_options = "zip:compression=deflate,zip:compression-level=6";

struct EntryDeleter {
    void operator()(archive_entry* e) const noexcept { archive_entry_free(e); }
};

bool is_continuation(unsigned char byte) {
    return (byte & 0xC0) == 0x80;
}

// The length of the UTF-8 sequence at `s[i]` (1..4), or 0 when it is not valid UTF-8 (overlong
// forms, surrogates and code points above U+10FFFF included), as a strict decoder sees it.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead < 0x80) {
        return 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        low = lead == 0xE0 ? 0xA0 : 0x80;
        high = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        low = lead == 0xF0 ? 0x90 : 0x80;
        high = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (i + length > s.size()) {
        return 0;
    }
    const auto second = static_cast<unsigned char>(s[i + 1]);
    if (second < low || second > high) {
        return 0;
    }
    for (std::size_t k = 2; k < length; ++k) {
        if (!is_continuation(static_cast<unsigned char>(s[i + k]))) {
            return 0;
        }
    }
    return length;
}

// True for a name with at least one byte above 0x7F that is all valid UTF-8.
bool is_utf8_beyond_ascii(std::string_view s) {
    bool beyond_ascii = false;
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t length = utf8_sequence_length(s, i);
        if (length == 0) {
            return false;
        }
        beyond_ascii = beyond_ascii || length > 1;
        i += length;
    }
    return beyond_ascii;
}

// libarchive (with no hdrcharset, so names are stored as their bytes) sets the UTF-8 flag of a
// non-ASCII name when nl_langinfo(CODESET) is UTF-8. This switches the calling thread's LC_CTYPE
// to C.UTF-8 for one header, so the flag depends on the name only, never on the user's locale.
// Without a C.UTF-8 locale on the system the flag stays off (the names' bytes are the same).
class Utf8NamesScope {
  public:
    explicit Utf8NamesScope(bool wanted) {
        static const locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
        if (wanted && utf8 != locale_t{}) {
            previous_ = ::uselocale(utf8);
        }
    }
    ~Utf8NamesScope() {
        if (previous_ != locale_t{}) {
            ::uselocale(previous_);
        }
    }
    Utf8NamesScope(const Utf8NamesScope&) = delete;
    Utf8NamesScope& operator=(const Utf8NamesScope&) = delete;

  private:
    locale_t previous_{};
};

}  // namespace

ZipWriter::ZipWriter(int fd, std::string zip_name)
    : fd_(fd), archive_(archive_write_new()), zip_name_(std::move(zip_name)) {
    if (!archive_) {
        throw std::bad_alloc();
    }
    if (archive_write_set_format_zip(archive_.get()) != ARCHIVE_OK ||
        archive_write_set_options(archive_.get(), k_zip_options) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(archive_.get(), 1) != ARCHIVE_OK ||
        archive_write_open2(archive_.get(), this, nullptr, &ZipWriter::write_out, nullptr,
                            nullptr) != ARCHIVE_OK) {
        fail("cannot start the zip");
    }
}

la_ssize_t ZipWriter::write_out(archive*, void* self, const void* data, std::size_t size) {
    auto& writer = *static_cast<ZipWriter*>(self);
    const char* bytes = static_cast<const char*>(data);
    std::size_t left = writer.write_errno_ == 0 ? size : 0;  // after an error: discard
    while (left > 0) {
        const ssize_t n = ::write(writer.fd_, bytes, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            writer.write_errno_ = errno;
            break;
        }
        bytes += n;
        left -= static_cast<std::size_t>(n);
    }
    return static_cast<la_ssize_t>(size);
}

void ZipWriter::throw_if_write_failed(const std::string& what) const {
    if (write_errno_ != 0) {
        throw util::Fatal(util::ExitCode::assets_failed,
                          zip_name_ + ": " + what + ": " + util::errno_message(write_errno_));
    }
}

ZipWriter::~ZipWriter() {
    if (entry_open_) {
        // An add() that threw (a read error, an interrupt): end the entry into the discarding
        // sink, so libarchive frees its deflate stream; nothing more reaches the file.
        if (write_errno_ == 0) {
            write_errno_ = ECANCELED;
        }
        archive_write_finish_entry(archive_.get());
    }
}

void ZipWriter::fail(const std::string& what) const {
    const char* detail = archive_error_string(archive_.get());
    std::string message =
        zip_name_ + ": " + what + ": " + (detail ? detail : "unknown libarchive error");
    // libarchive's "Write error" alone does not say why; the errno it kept does (a full disk).
    if (const int code = archive_errno(archive_.get()); code > 0) {
        message += " (" + util::errno_message(code) + ")";
    }
    throw util::Fatal(util::ExitCode::assets_failed, message);
}

void ZipWriter::add(const ZipSource& source) {
    util::Fd fd(::open(source.file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        throw util::Fatal(util::ExitCode::input,
                          source.file.string() + ": cannot open it: " + util::errno_message(errno));
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
        throw util::Fatal(util::ExitCode::input,
                          source.file.string() + ": no longer a regular file");
    }
    write_header(source, info.st_size, info.st_mode & 07777);
    entry_open_ = true;
    if (copy_data(fd.get(), source) != static_cast<std::uint64_t>(info.st_size)) {
        throw util::Fatal(util::ExitCode::assets_failed,
                          source.file.string() + ": changed size while it was zipped");
    }
    entry_open_ = false;
    ++entries_;
}

void ZipWriter::write_header(const ZipSource& source, std::int64_t size, unsigned mode) {
    std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    if (!entry) {
        throw std::bad_alloc();
    }
    archive_entry_set_pathname(entry.get(), source.name.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), mode);
    archive_entry_set_size(entry.get(), size);
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    const Utf8NamesScope names(is_utf8_beyond_ascii(source.name));
    if (archive_write_header(archive_.get(), entry.get()) != ARCHIVE_OK) {
        fail("cannot add " + source.name);
    }
}

std::uint64_t ZipWriter::copy_data(int fd, const ZipSource& source) {
    buffer_.resize(k_read_chunk);
    std::uint64_t total = 0;
    while (true) {
        if (util::interrupted()) {
            throw util::Interrupted("interrupted while zipping " + source.file.string());
        }
        const ssize_t n = ::read(fd, buffer_.data(), buffer_.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw util::Fatal(
                util::ExitCode::assets_failed,
                source.file.string() + ": cannot read it: " + util::errno_message(errno));
        }
        if (n == 0) {
            return total;
        }
        if (archive_write_data(archive_.get(), buffer_.data(), static_cast<std::size_t>(n)) < 0) {
            fail("cannot write " + source.name);
        }
        throw_if_write_failed("cannot write " + source.name);  // the destructor ends the entry
        total += static_cast<std::uint64_t>(n);
    }
}

void ZipWriter::finish() {
    if (archive_write_close(archive_.get()) != ARCHIVE_OK) {
        fail("cannot finish the zip");
    }
    throw_if_write_failed("cannot finish the zip");
}

}  // namespace assetctl::packaging
