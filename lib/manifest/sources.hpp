#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "manifest/model.hpp"

namespace assetctl::manifest {

// The file a CDK TarballImageAsset loads, when `executable` is the command CDK writes for one:
//   ["sh", "-c", "docker load -i \"$1\" | tail -n 1 | sed ...", "cdk-tarball-image-asset", F]
// or, from older CDK versions, the same with the path inlined into the script. The path is as
// written (relative paths are relative to the manifest's folder).
std::optional<std::string> cdk_tarball_path(const std::vector<std::string>& executable);

// Where a directory-sourced image is built from, resolved on disk.
struct BuildLocation {
    std::filesystem::path context;     // the build context folder
    std::filesystem::path dockerfile;  // the Dockerfile inside (or relative to) it
};

// Checks that a docker image source can be used before anything is built: the build context
// exists and stays inside the cloud assembly, the Dockerfile exists, a CDK tarball exists.
// Returns the build location for directory sources. Throws ManifestError naming the JSON path.
std::optional<BuildLocation> check_docker_source(const ManifestOrigin& origin,
                                                 const DockerImageAsset& asset,
                                                 const std::filesystem::path& assembly_root);

// `dockerImages.<id>` (or `files.<id>`) for error messages.
std::string docker_image_json_path(const std::string& asset_id);

}  // namespace assetctl::manifest
