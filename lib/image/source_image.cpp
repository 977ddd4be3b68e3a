#include "image/source_image.hpp"

#include <string_view>
#include <system_error>

#include "image/archive.hpp"
#include "image/docker_save.hpp"
#include "image/image_error.hpp"
#include "image/oci_layout.hpp"
#include "image/source_files.hpp"

namespace assetctl::image {

namespace fs = std::filesystem;

namespace {

// Names like "x/manifest.json": the tar was made of a folder instead of its content.
std::optional<std::string> nested_marker(const TarArchive& tar) {
    for (const auto& entry : tar.entries()) {
        for (const std::string_view marker : {"/manifest.json", "/oci-layout"}) {
            const std::string_view name = entry.name;
            if (name.size() > marker.size() && name.substr(name.size() - marker.size()) == marker) {
                return entry.name;
            }
        }
    }
    return std::nullopt;
}

SourceImage read_folder(const fs::path& path, const ImageSelector& selector) {
    const SourceFiles files(path);
    if (!files.find("oci-layout")) {
        throw ImageError(quote(path.string()) +
                         " is a folder without an oci-layout file: not a docker-save tarball "
                         "or OCI layout; pass a `docker save -o image.tar IMAGE` tarball or "
                         "an OCI image layout folder");
    }
    return read_oci(files, SourceFormat::oci_layout, selector);
}

[[noreturn]] void refuse_unknown_tarball(const fs::path& path, const TarArchive& tar) {
    std::string message = "image tarball " + quote(path.string()) +
                          " is not a docker-save tarball or OCI layout: it has neither "
                          "manifest.json nor oci-layout and index.json at its top level";
    if (const auto nested = nested_marker(tar)) {
        message += " (it has " + quote(*nested) +
                   ": make the tar from inside the folder, e.g. `tar -C FOLDER -cf image.tar .`)";
    } else {
        message += "; create it with `docker save -o image.tar IMAGE`";
    }
    throw ImageError(message);
}

// A docker-save tarball has manifest.json (docker 25+ adds an OCI layout beside it); an OCI
// archive has oci-layout and index.json only.
SourceImage read_tarball(const fs::path& path, const ImageSelector& selector,
                         const fs::path& spool_dir) {
    const TarArchive tar = TarArchive::open(path, spool_dir);
    const SourceFiles files(tar);
    const bool has_manifest = files.find("manifest.json").has_value();
    const bool has_layout = files.find("oci-layout").has_value();
    const bool has_index = files.find("index.json").has_value();
    if (has_manifest) {
        return read_docker_save(files, selector, has_layout && has_index);
    }
    if (has_layout && has_index) {
        return read_oci(files, SourceFormat::oci_archive, selector);
    }
    refuse_unknown_tarball(path, tar);
}

}  // namespace

const char* to_string(SourceFormat format) {
    switch (format) {
        case SourceFormat::docker_archive:
            return "docker-archive";
        case SourceFormat::docker_archive_oci:
            return "docker-archive-oci";
        case SourceFormat::oci_archive:
            return "oci-archive";
        case SourceFormat::oci_layout:
            return "oci-layout";
    }
    return "unknown";
}

SourceImage read_source_image(const fs::path& path, const ImageSelector& selector,
                              const fs::path& spool_dir) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
        throw ImageError("image source " + quote(path.string()) +
                         " does not exist; check the path (a `docker save` tarball or an OCI "
                         "layout folder)");
    }
    if (fs::is_directory(status)) {
        return read_folder(path, selector);
    }
    return read_tarball(path, selector, spool_dir);
}

}  // namespace assetctl::image
