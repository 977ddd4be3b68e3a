#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/json_node.hpp"

namespace assetctl::manifest {

// The manifest module reads JSON with util's walker; its failures become ManifestErrors
// through json_context().
using util::describe_json_value;
using util::JsonNode;

// Parses JSON text; malformed JSON becomes a ManifestError naming the file, line and column.
nlohmann::ordered_json parse_json_document(std::string_view text,
                                           const std::filesystem::path& file);

// A JsonNode context whose failures are ManifestErrors naming `file` (and the JSON path, the
// detail and the hint); unknown keys are appended to `unknown_keys` when it is given.
JsonNode::Context json_context(const std::filesystem::path& file,
                               std::vector<std::string>* unknown_keys);

}  // namespace assetctl::manifest
