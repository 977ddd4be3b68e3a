#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "manifest/errors.hpp"
#include "manifest/model.hpp"
#include "manifest/selection.hpp"

namespace assetctl::manifest {

// The file a CDK TarballImageAsset loads, when `executable` is the command CDK writes for one:
//   ["sh", "-c", "docker load -i \"$1\" | tail -n 1 | sed ...", "cdk-tarball-image-asset", F]
// or, from older CDK versions, the same with the path inlined into the script. The path is as
// written (relative paths are relative to the manifest's folder).
std::optional<std::string> cdk_tarball_path(const std::vector<std::string>& executable);

// An image that exists already as a file: a CDK tarball, or a `directory` source naming a
// `.tar` / `.tar.gz` / `.tgz` file or an OCI image layout folder (holding `oci-layout` and no
// Dockerfile), optionally followed by `#<name:tag>` to pick one image of several.
struct ImageArchiveSource {
    std::filesystem::path path;      // resolved against the manifest's folder
    std::optional<std::string> tag;  // from `#<name:tag>`
    // With several images and no tag, take the one `docker load` prints last (CDK's tarball
    // command does exactly that).
    bool last_loaded = false;
};

// The archive a docker image source names, or nullopt for a build or another executable.
// Looks at the file system (is the path a file, a layout folder).
std::optional<ImageArchiveSource> image_archive_source(const ManifestOrigin& origin,
                                                       const DockerImageSource& source);

// True when some selected image needs the container engine: everything but an image archive
// (pushed without it). False for a selection without images.
bool needs_engine(const Selection& selection);

// Where a directory-sourced image is built from, resolved on disk.
struct BuildLocation {
    std::filesystem::path context;     // the build context folder
    std::filesystem::path dockerfile;  // the Dockerfile inside (or relative to) it
};

// A selected asset's source that is not on disk: a build context, Dockerfile, tarball, archive
// or file the manifest names but the folder lacks (an incomplete copy of a cloud assembly, a
// CI artifact without its asset folders). A value, so `ls` can list the asset and mark it;
// build, publish and doctor refuse it (`error()`) before any work starts.
struct MissingSource {
    std::filesystem::path manifest;  // the asset manifest naming it
    std::string json_path;           // e.g. `dockerImages.<id>.source.directory`
    std::filesystem::path path;      // where it was looked for
    std::string detail;              // one line: what is missing
    std::string hint;

    ManifestError error() const;
};

// The source checks of check_docker_source and check_file_source, with a missing source
// returned instead of thrown. A source outside the cloud assembly still throws ManifestError:
// then the manifest is wrong, not the copy on disk.
std::optional<MissingSource> find_missing_docker_source(const ManifestOrigin& origin,
                                                        const DockerImageAsset& asset,
                                                        const std::filesystem::path& assembly_root);
std::optional<MissingSource> find_missing_file_source(const ManifestOrigin& origin,
                                                      const FileAsset& asset,
                                                      const std::filesystem::path& assembly_root);

// Checks that a docker image source can be used before anything is built: the build context
// exists and stays inside the cloud assembly, the Dockerfile exists, a CDK tarball exists.
// Returns the build location for directory sources. Throws ManifestError naming the JSON path.
std::optional<BuildLocation> check_docker_source(const ManifestOrigin& origin,
                                                 const DockerImageAsset& asset,
                                                 const std::filesystem::path& assembly_root);

// Checks that a file asset's `path` source exists inside the cloud assembly before anything
// is uploaded: a file (packaging file), or a folder or file (zip). Executables are not checked
// (their output exists once they ran). Throws ManifestError naming the JSON path.
void check_file_source(const ManifestOrigin& origin, const FileAsset& asset,
                       const std::filesystem::path& assembly_root);

// `dockerImages.<id>` (or `files.<id>`) for error messages.
std::string docker_image_json_path(const std::string& asset_id);

}  // namespace assetctl::manifest
