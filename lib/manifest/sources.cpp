#include "manifest/sources.hpp"

#include "manifest/errors.hpp"
#include "util/files.hpp"

namespace assetctl::manifest {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view k_tarball_marker = "cdk-tarball-image-asset";
constexpr std::string_view k_docker_load = "docker load -i ";

constexpr std::string_view k_resynth_hint =
    "re-synthesize the app (cdk synth) so the cloud assembly is complete";

// Reads the path after `docker load -i ` in an inlined script: "quoted", 'quoted' or bare.
std::optional<std::string> inlined_tarball_path(std::string_view script) {
    const auto start = script.find(k_docker_load);
    if (start == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view rest = script.substr(start + k_docker_load.size());
    if (rest.empty()) {
        return std::nullopt;
    }
    if (rest.front() == '"' || rest.front() == '\'') {
        const char quote = rest.front();
        const auto end = rest.find(quote, 1);
        if (end == std::string_view::npos) {
            return std::nullopt;
        }
        std::string path(rest.substr(1, end - 1));
        if (path == "$1") {
            return std::nullopt;  // the positional form, handled by the caller
        }
        return path;
    }
    const auto end = rest.find_first_of(" |;&");
    std::string path(rest.substr(0, end));
    if (path.empty() || path == "$1") {
        return std::nullopt;
    }
    return path;
}

}  // namespace

std::optional<std::string> cdk_tarball_path(const std::vector<std::string>& executable) {
    if (executable.size() < 3 || executable[0] != "sh" || executable[1] != "-c" ||
        executable[2].find(k_docker_load) == std::string::npos) {
        return std::nullopt;
    }
    if (executable.size() == 5 && executable[3] == k_tarball_marker) {
        return executable[4];
    }
    if (executable.size() == 3) {
        return inlined_tarball_path(executable[2]);
    }
    return std::nullopt;
}

namespace {

bool is_archive_file_name(const std::string& name) {
    for (const std::string_view suffix : {".tar", ".tar.gz", ".tgz"}) {
        if (name.size() > suffix.size() && name.ends_with(suffix)) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::optional<ImageArchiveSource> image_archive_source(const ManifestOrigin& origin,
                                                       const DockerImageSource& source) {
    if (source.executable) {
        if (auto tarball = cdk_tarball_path(*source.executable)) {
            return ImageArchiveSource{origin.directory / *tarball, std::nullopt, true};
        }
        return std::nullopt;
    }
    if (!source.directory) {
        return std::nullopt;
    }
    std::string name = *source.directory;
    std::optional<std::string> tag;
    if (const auto hash = name.rfind('#'); hash != std::string::npos && hash + 1 < name.size()) {
        tag = name.substr(hash + 1);
        name.resize(hash);
    }
    const fs::path path = origin.directory / name;
    std::error_code ec;
    if (is_archive_file_name(name) && !fs::is_directory(path, ec)) {
        return ImageArchiveSource{path, tag, false};
    }
    if (fs::is_regular_file(path / "oci-layout", ec) &&
        !fs::exists(path / source.docker_file.value_or("Dockerfile"), ec)) {
        return ImageArchiveSource{path, tag, false};
    }
    return std::nullopt;
}

bool needs_engine(const Selection& selection) {
    for (const auto& selected : selection.docker_images) {
        if (!image_archive_source(selected.origin, selected.asset.source)) {
            return true;
        }
    }
    return false;
}

std::string docker_image_json_path(const std::string& asset_id) {
    return json_path_child("dockerImages", asset_id);
}

ManifestError MissingSource::error() const {
    return ManifestError(manifest, json_path, detail, hint);
}

namespace {

std::optional<MissingSource> missing(const ManifestOrigin& origin, std::string json_path,
                                     fs::path path, std::string detail,
                                     std::string_view hint = k_resynth_hint) {
    return MissingSource{origin.file, std::move(json_path), std::move(path), std::move(detail),
                         std::string(hint)};
}

// A CDK tarball asset: the tarball its command loads exists inside the assembly.
std::optional<MissingSource> find_missing_cdk_tarball(const ManifestOrigin& origin,
                                                      const std::vector<std::string>& executable,
                                                      const fs::path& assembly_root,
                                                      const std::string& json_path) {
    const auto tarball = cdk_tarball_path(executable);
    if (!tarball) {
        return std::nullopt;
    }
    const fs::path file = origin.directory / *tarball;
    if (!util::is_within(file, assembly_root)) {
        throw ManifestError(origin.file, json_path,
                            "image tarball '" + *tarball + "' is outside the cloud assembly " +
                                assembly_root.string(),
                            std::string(k_resynth_hint));
    }
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
        return missing(
            origin, json_path, file,
            "image tarball '" + *tarball + "' not found (looked for " + file.string() + ")");
    }
    return std::nullopt;
}

// An image tarball or layout named by `directory`: inside the assembly, and there.
std::optional<MissingSource> find_missing_image_archive(const ManifestOrigin& origin,
                                                        const ImageArchiveSource& archive,
                                                        const std::string& directory,
                                                        const fs::path& assembly_root,
                                                        const std::string& json_path) {
    if (!util::is_within(archive.path, assembly_root)) {
        throw ManifestError(origin.file, json_path,
                            "image archive '" + directory + "' is outside the cloud assembly " +
                                assembly_root.string(),
                            "keep image tarballs and layouts inside the cloud assembly");
    }
    std::error_code ec;
    if (!fs::exists(archive.path, ec)) {
        return missing(origin, json_path, archive.path,
                       "image archive '" + directory + "' not found (looked for " +
                           archive.path.string() + ")");
    }
    return std::nullopt;
}

BuildLocation build_location(const ManifestOrigin& origin, const DockerImageSource& source) {
    const fs::path context = origin.directory / *source.directory;
    return BuildLocation{context, context / source.docker_file.value_or("Dockerfile")};
}

// A build context inside the assembly, with its Dockerfile.
std::optional<MissingSource> find_missing_build_context(const ManifestOrigin& origin,
                                                        const DockerImageSource& source,
                                                        const fs::path& assembly_root,
                                                        const std::string& source_path) {
    const auto location = build_location(origin, source);
    if (!util::is_within(location.context, assembly_root)) {
        throw ManifestError(origin.file, source_path + ".directory",
                            "build context '" + *source.directory +
                                "' is outside the cloud assembly " + assembly_root.string(),
                            "asset folders must be inside the cloud assembly; re-synthesize "
                            "with asset staging enabled (the default)");
    }
    std::error_code ec;
    if (!fs::is_directory(location.context, ec)) {
        return missing(origin, source_path + ".directory", location.context,
                       "build context '" + *source.directory +
                           "' does not exist or is not a folder (looked for " +
                           location.context.string() + ")");
    }
    if (!fs::is_regular_file(location.dockerfile, ec)) {
        const std::string dockerfile_name = source.docker_file.value_or("Dockerfile");
        return missing(origin, source_path + ".dockerFile", location.dockerfile,
                       "Dockerfile '" + dockerfile_name +
                           (source.docker_file ? "'" : "' (the default)") +
                           " not found in build context '" + *source.directory + "'",
                       "check the DockerImageAsset's `file` property and re-synthesize");
    }
    return std::nullopt;
}

}  // namespace

std::optional<MissingSource> find_missing_docker_source(const ManifestOrigin& origin,
                                                        const DockerImageAsset& asset,
                                                        const fs::path& assembly_root) {
    const std::string source_path = docker_image_json_path(asset.id) + ".source";
    const auto& source = asset.source;
    if (source.executable) {
        return find_missing_cdk_tarball(origin, *source.executable, assembly_root,
                                        source_path + ".executable");
    }
    if (auto archive = image_archive_source(origin, source)) {
        return find_missing_image_archive(origin, *archive, *source.directory, assembly_root,
                                          source_path + ".directory");
    }
    return find_missing_build_context(origin, source, assembly_root, source_path);
}

std::optional<MissingSource> find_missing_file_source(const ManifestOrigin& origin,
                                                      const FileAsset& asset,
                                                      const fs::path& assembly_root) {
    if (!asset.source.path) {
        return std::nullopt;  // an executable: its output is known only once it ran
    }
    const std::string json_path = json_path_child("files", asset.id) + ".source.path";
    const fs::path path = origin.directory / *asset.source.path;
    if (!util::is_within(path, assembly_root)) {
        throw ManifestError(origin.file, json_path,
                            "file asset source '" + *asset.source.path +
                                "' is outside the cloud assembly " + assembly_root.string(),
                            "asset files must be inside the cloud assembly; re-synthesize with "
                            "asset staging enabled (the default)");
    }
    std::error_code ec;
    const auto status = fs::status(path, ec);
    const bool usable = asset.source.packaging == FilePackaging::zip
                            ? fs::is_directory(status) || fs::is_regular_file(status)
                            : fs::is_regular_file(status);
    if (!usable) {
        return missing(origin, json_path, path,
                       "file asset source '" + *asset.source.path + "' " +
                           (fs::exists(status) ? "is not a file" : "not found") + " (looked for " +
                           path.string() + ")");
    }
    return std::nullopt;
}

std::optional<BuildLocation> check_docker_source(const ManifestOrigin& origin,
                                                 const DockerImageAsset& asset,
                                                 const fs::path& assembly_root) {
    if (const auto missing_source = find_missing_docker_source(origin, asset, assembly_root)) {
        throw missing_source->error();
    }
    const auto& source = asset.source;
    if (source.executable || image_archive_source(origin, source)) {
        return std::nullopt;
    }
    return build_location(origin, source);
}

void check_file_source(const ManifestOrigin& origin, const FileAsset& asset,
                       const fs::path& assembly_root) {
    if (const auto missing_source = find_missing_file_source(origin, asset, assembly_root)) {
        throw missing_source->error();
    }
}

}  // namespace assetctl::manifest
