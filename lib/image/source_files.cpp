#include "image/source_files.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <system_error>
#include <utility>

#include "image/image_error.hpp"
#include "util/fd.hpp"
#include "util/files.hpp"

namespace assetctl::image {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_oci_folder_hint =
    "re-create it, for example with `skopeo copy docker-daemon:IMAGE oci-archive:image.tar` "
    "or `docker save -o image.tar IMAGE`";

}  // namespace

void SourceContext::fail(const std::string& what) const {
    throw ImageError(label + ": " + what + "; " + std::string(hint));
}

std::string read_range(const FileRange& range, std::uint64_t count) {
    const auto wanted = static_cast<std::size_t>(std::min(count, range.size));
    const util::Fd fd(::open(range.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        const int error = errno;
        throw ImageError("cannot open " + quote(range.file.string()) + ": " +
                         util::errno_message(error));
    }
    std::string bytes(wanted, '\0');
    std::string problem;
    try {
        if (util::read_at(fd.get(), bytes.data(), wanted, range.offset) < wanted) {
            problem = "the file is shorter (changed or truncated)";
        }
    } catch (const std::system_error& e) {
        problem = e.code().message();
    }
    if (!problem.empty()) {
        throw ImageError("cannot read " + std::to_string(wanted) + " bytes at offset " +
                         std::to_string(range.offset) + " of " + quote(range.file.string()) + ": " +
                         problem);
    }
    return bytes;
}

SourceLayer::Compression detect_compression(const FileRange& range) {
    const std::string head = read_range(range, 4);
    if (head.size() >= 2 && head[0] == '\x1f' && head[1] == '\x8b') {
        return SourceLayer::Compression::gzip;
    }
    if (head.size() >= 4 && head == std::string_view("\x28\xb5\x2f\xfd", 4)) {
        return SourceLayer::Compression::zstd;
    }
    return SourceLayer::Compression::none;
}

SourceFiles::SourceFiles(const TarArchive& tar)
    : tar_(&tar), label_("image tarball " + quote(tar.path().string())) {}

SourceFiles::SourceFiles(fs::path dir)
    : dir_(std::move(dir)), label_("OCI layout " + quote(dir_.string())) {}

std::optional<FileRange> SourceFiles::find(std::string_view name) const {
    if (tar_ == nullptr) {
        return find_in_folder(name);
    }
    const ArchiveEntry* entry = tar_->find_file(name);
    if (entry == nullptr) {
        return std::nullopt;
    }
    return FileRange{tar_->data_file(), entry->data_offset, entry->size};
}

std::optional<FileRange> SourceFiles::find_in_folder(std::string_view name) const {
    const auto normalised = normalize_archive_name(name);
    if (!normalised || normalised->empty()) {
        return std::nullopt;
    }
    const fs::path full = dir_ / *normalised;
    std::error_code ec;
    const auto status = fs::status(full, ec);  // follows symlinks; dangling = not found
    if (ec || !fs::exists(status)) {
        return std::nullopt;
    }
    if (!util::is_within(full, dir_)) {
        throw ImageError(label_ + ": " + quote(*normalised) +
                         " is (or goes through) a symlink to a file outside the layout; "
                         "refusing to read it: copy the layout without such links, for "
                         "example with `skopeo copy oci:DIR oci:NEWDIR`");
    }
    if (!fs::is_regular_file(status)) {
        throw ImageError(label_ + ": " + quote(*normalised) + " is not a regular file; " +
                         std::string(k_oci_folder_hint));
    }
    const fs::path real = fs::canonical(full, ec);
    const auto size = ec ? 0 : fs::file_size(real, ec);
    if (ec) {
        throw ImageError(label_ + ": cannot read " + quote(*normalised) + ": " + ec.message());
    }
    return FileRange{real, 0, size};
}

std::string SourceFiles::read(const SourceContext& context, std::string_view name,
                              std::string_view what) const {
    const auto range = find(name);
    if (!range) {
        context.fail((what == name ? quote(name) : std::string(what) + " " + quote(name)) +
                     " is missing");
    }
    if (range->size > k_max_metadata_size) {
        context.fail(std::string(what) + " " + quote(name) + " is " + std::to_string(range->size) +
                     " bytes, far more than such a file can be");
    }
    return read_range(*range, range->size);
}

}  // namespace assetctl::image
