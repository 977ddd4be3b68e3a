#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace assetctl::manifest {

// The in-memory form of a CDK asset manifest (`*.assets.json`), field for field as the cloud
// assembly schema defines it (npm `@aws-cdk/cloud-assembly-schema`, schema/assets.schema.json).
// Maps keep the manifest's key order, because `docker build` argv follows it and users compare
// logs with cdk-assets.

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// One `--cache-from` / `--cache-to` entry: `type=T,k=v,...`.
struct CacheOption {
    std::string type;
    KeyValues params;
};

struct DockerImageSource {
    // Exactly one of `directory` and `executable` is set.
    std::optional<std::string> directory;
    std::optional<std::vector<std::string>> executable;

    std::optional<std::string> docker_file;
    std::optional<std::string> docker_build_target;
    KeyValues docker_build_args;
    KeyValues docker_build_contexts;
    KeyValues docker_build_secrets;  // values like `src=/path` or `env=VAR`
    std::optional<std::string> docker_build_ssh;
    std::optional<std::string> network_mode;
    std::optional<std::string> platform;
    std::vector<std::string> docker_outputs;
    std::vector<CacheOption> cache_from;
    std::optional<CacheOption> cache_to;
    std::optional<bool> cache_disabled;
};

// Fields every destination has: where and as whom to publish.
struct AwsDestination {
    std::string id;
    std::optional<std::string> region;
    std::optional<std::string> assume_role_arn;
    std::optional<std::string> assume_role_external_id;
    // Extra STS AssumeRole input (Tags, TransitiveTagKeys, ...), passed through as written.
    std::optional<nlohmann::ordered_json> assume_role_additional_options;
};

struct DockerImageDestination : AwsDestination {
    std::string repository_name;
    std::string image_tag;
};

struct DockerImageAsset {
    std::string id;
    std::optional<std::string> display_name;
    DockerImageSource source;
    std::vector<DockerImageDestination> destinations;
};

enum class FilePackaging { file, zip };

struct FileSource {
    // Exactly one of `path` and `executable` is set.
    std::optional<std::string> path;
    std::optional<std::vector<std::string>> executable;
    FilePackaging packaging = FilePackaging::file;
};

struct FileDestination : AwsDestination {
    std::string bucket_name;
    std::string object_key;
};

struct FileAsset {
    std::string id;
    std::optional<std::string> display_name;
    FileSource source;
    std::vector<FileDestination> destinations;
};

// Where a manifest came from inside a cloud assembly.
struct ManifestOrigin {
    std::filesystem::path file;       // the *.assets.json as the user can find it
    std::filesystem::path directory;  // relative paths inside the manifest resolve against this
    std::string artifact_id;          // e.g. `MyStack.assets`; empty for a lone manifest file
    std::string stack;                // the stack's display name, e.g. `Prod/Api`
};

struct AssetManifest {
    ManifestOrigin origin;
    std::string version;
    std::vector<FileAsset> files;
    std::vector<DockerImageAsset> docker_images;
    // JSON paths of keys this version does not know; tolerated, reported at debug level.
    std::vector<std::string> unknown_keys;
};

}  // namespace assetctl::manifest
