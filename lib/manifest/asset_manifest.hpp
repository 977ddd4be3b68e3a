#pragma once

#include <filesystem>
#include <string_view>

#include "manifest/json_reader.hpp"
#include "manifest/model.hpp"

namespace assetctl::manifest {

// Parses the text of an asset manifest. Throws ManifestError on anything the schema does not
// allow; unknown keys are tolerated and listed in `unknown_keys`.
AssetManifest parse_asset_manifest(std::string_view text, ManifestOrigin origin);

// Reads and parses `file`; relative paths inside resolve against its folder.
AssetManifest load_asset_manifest(const std::filesystem::path& file);

// Checks a `version` field against k_newest_schema_major (shared with manifest.json).
void check_schema_version(const JsonNode& version);

// The manifest's JSON form again (CDK's key names), for `ls --json`.
nlohmann::ordered_json to_json(const DockerImageSource& source);
nlohmann::ordered_json to_json(const FileSource& source);
nlohmann::ordered_json to_json(const DockerImageDestination& destination);
nlohmann::ordered_json to_json(const FileDestination& destination);

}  // namespace assetctl::manifest
