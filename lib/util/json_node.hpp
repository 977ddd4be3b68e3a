#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace assetctl::util {

// `parent.key`, or `parent["key"]` when the key has characters that would make the path
// ambiguous. An empty parent gives just the key.
std::string json_path_child(const std::string& parent, const std::string& key);
std::string json_path_index(const std::string& parent, std::size_t index);

// "a number (42)", "an object", ... for error messages.
std::string describe_json_value(const nlohmann::ordered_json& value);

// What is wrong where in a JSON document: the JSON path ("" for the root), what is wrong and
// optionally what to do about it.
struct JsonFailure {
    std::string path;
    std::string detail;
    std::string hint;
};

// Thrown for a failure when the node's context has no error of its own to throw.
// what() is "<path>: <detail>" (just the detail at the root).
class JsonError : public std::runtime_error {
  public:
    explicit JsonError(JsonFailure failure);
    const JsonFailure& failure() const noexcept { return failure_; }

  private:
    JsonFailure failure_;
};

// A typed view of one JSON value that knows its JSON path, so every type error names the path
// and what was expected. Unknown object keys are recorded, not refused. Every failure goes
// through the context's `raise`, so each module throws its own error type (naming its file,
// adding its hint) without a walker of its own.
class JsonNode {
  public:
    struct Context {
        // Throws the module's error for a failure. When empty (or if it returns), JsonError is
        // thrown instead.
        std::function<void(const JsonFailure&)> raise;
        std::vector<std::string>* unknown_keys = nullptr;
    };

    // `context` must outlive the node and every node reached from it.
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
    std::vector<std::pair<std::string, std::string>> as_string_map() const;

    std::optional<std::string> optional_string(std::string_view key) const;

    // Without failing, for callers that word their own message: the value when it has that
    // type, else nullopt. A non-negative integer for string_value()'s unsigned sibling.
    std::optional<std::string> string_value() const;
    std::optional<std::uint64_t> unsigned_value() const;
    // The member `key` when this is an object that has it.
    std::optional<JsonNode> find(std::string_view key) const;

    [[noreturn]] void fail(const std::string& detail, const std::string& hint = {}) const;
    // Fails naming the member `key` (which may be absent): "missing or not a string".
    [[noreturn]] void fail_member(std::string_view key, const std::string& detail,
                                  const std::string& hint = {}) const;

  private:
    [[noreturn]] void fail_type(std::string_view expected) const;
    [[noreturn]] void raise(JsonFailure failure) const;

    const nlohmann::ordered_json* value_;
    std::string path_;
    const Context* context_;
};

}  // namespace assetctl::util
