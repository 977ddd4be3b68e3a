#pragma once

#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "manifest/model.hpp"

namespace assetctl::manifest {

// Parses JSON text; malformed JSON becomes a ManifestError naming the file, line and column.
nlohmann::ordered_json parse_json_document(std::string_view text,
                                           const std::filesystem::path& file);

// A typed view of one JSON value that knows its JSON path, so every type error names the
// file, the path and what was expected. Unknown object keys are recorded, not refused.
class JsonNode {
  public:
    struct Context {
        std::filesystem::path file;
        std::vector<std::string>* unknown_keys = nullptr;
    };

    JsonNode(const nlohmann::ordered_json& value, std::string path, const Context& context);

    const nlohmann::ordered_json& raw() const { return *value_; }
    const std::string& path() const { return path_; }

    // Requires an object and records keys outside `known` as unknown.
    const JsonNode& expect_object(std::initializer_list<std::string_view> known) const;

    bool has(std::string_view key) const;
    JsonNode required(std::string_view key) const;
    std::optional<JsonNode> optional(std::string_view key) const;
    std::vector<std::pair<std::string, JsonNode>> members() const;
    // The elements of an array; `expected` describes them for the error message.
    std::vector<JsonNode> elements(std::string_view expected) const;

    std::string as_string() const;
    std::string as_non_empty_string() const;
    bool as_bool() const;
    std::vector<std::string> as_string_array() const;
    KeyValues as_string_map() const;

    std::optional<std::string> optional_string(std::string_view key) const;

    [[noreturn]] void fail(const std::string& detail, const std::string& hint = {}) const;

  private:
    [[noreturn]] void fail_type(std::string_view expected) const;

    const nlohmann::ordered_json* value_;
    std::string path_;
    const Context* context_;
};

// "a number (42)", "an object", ... for error messages.
std::string describe_json_value(const nlohmann::ordered_json& value);

}  // namespace assetctl::manifest
