#include "manifest/json_reader.hpp"

#include <algorithm>

#include "manifest/errors.hpp"

namespace assetctl::manifest {

nlohmann::ordered_json parse_json_document(std::string_view text,
                                           const std::filesystem::path& file) {
    try {
        return nlohmann::ordered_json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::parse_error& e) {
        // what() starts with "[json.exception.parse_error.101] "; keep the readable rest.
        std::string reason = e.what();
        if (auto pos = reason.find("] "); pos != std::string::npos) {
            reason = reason.substr(pos + 2);
        }
        throw ManifestError(file, "", "malformed JSON: " + reason,
                            "re-synthesize the app (cdk synth) or fix the file by hand");
    }
}

std::string describe_json_value(const nlohmann::ordered_json& value) {
    const auto excerpt = [&value] {
        std::string text = value.dump();
        if (text.size() > 40) {
            text = text.substr(0, 37) + "...";
        }
        return text;
    };
    switch (value.type()) {
        case nlohmann::json::value_t::null:
            return "null";
        case nlohmann::json::value_t::object:
            return "an object";
        case nlohmann::json::value_t::array:
            return "an array";
        case nlohmann::json::value_t::string:
            return "a string (" + excerpt() + ")";
        case nlohmann::json::value_t::boolean:
            return "a boolean (" + excerpt() + ")";
        case nlohmann::json::value_t::number_integer:
        case nlohmann::json::value_t::number_unsigned:
        case nlohmann::json::value_t::number_float:
            return "a number (" + excerpt() + ")";
        default:
            return "a value of unexpected type";
    }
}

JsonNode::JsonNode(const nlohmann::ordered_json& value, std::string path, const Context& context)
    : value_(&value), path_(std::move(path)), context_(&context) {}

const JsonNode& JsonNode::expect_object(std::initializer_list<std::string_view> known) const {
    if (!value_->is_object()) {
        fail_type("an object");
    }
    if (context_->unknown_keys != nullptr) {
        for (const auto& [key, unused] : value_->items()) {
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                context_->unknown_keys->push_back(json_path_child(path_, key));
            }
        }
    }
    return *this;
}

bool JsonNode::has(std::string_view key) const {
    return value_->is_object() && value_->contains(key);
}

JsonNode JsonNode::required(std::string_view key) const {
    if (!value_->is_object()) {
        fail_type("an object");
    }
    const std::string name(key);
    auto it = value_->find(name);
    if (it == value_->end()) {
        throw ManifestError(context_->file, json_path_child(path_, name),
                            "required key is missing");
    }
    return JsonNode(*it, json_path_child(path_, name), *context_);
}

std::optional<JsonNode> JsonNode::optional(std::string_view key) const {
    if (!value_->is_object()) {
        fail_type("an object");
    }
    const std::string name(key);
    auto it = value_->find(name);
    if (it == value_->end()) {
        return std::nullopt;
    }
    return JsonNode(*it, json_path_child(path_, name), *context_);
}

std::vector<std::pair<std::string, JsonNode>> JsonNode::members() const {
    if (!value_->is_object()) {
        fail_type("an object");
    }
    std::vector<std::pair<std::string, JsonNode>> out;
    for (auto it = value_->begin(); it != value_->end(); ++it) {
        out.emplace_back(it.key(),
                         JsonNode(it.value(), json_path_child(path_, it.key()), *context_));
    }
    return out;
}

std::vector<JsonNode> JsonNode::elements(std::string_view expected) const {
    if (!value_->is_array()) {
        fail_type(expected);
    }
    std::vector<JsonNode> out;
    for (std::size_t i = 0; i < value_->size(); ++i) {
        out.emplace_back((*value_)[i], json_path_index(path_, i), *context_);
    }
    return out;
}

std::string JsonNode::as_string() const {
    if (!value_->is_string()) {
        fail_type("a string");
    }
    return value_->get<std::string>();
}

std::string JsonNode::as_non_empty_string() const {
    std::string value = as_string();
    if (value.empty()) {
        fail("expected a non-empty string, found \"\"");
    }
    return value;
}

bool JsonNode::as_bool() const {
    if (!value_->is_boolean()) {
        fail_type("a boolean");
    }
    return value_->get<bool>();
}

std::vector<std::string> JsonNode::as_string_array() const {
    std::vector<std::string> out;
    for (const auto& element : elements("an array of strings")) {
        out.push_back(element.as_string());
    }
    return out;
}

KeyValues JsonNode::as_string_map() const {
    if (!value_->is_object()) {
        fail_type("an object of strings");
    }
    KeyValues out;
    for (const auto& [key, node] : members()) {
        out.emplace_back(key, node.as_string());
    }
    return out;
}

std::optional<std::string> JsonNode::optional_string(std::string_view key) const {
    if (auto node = optional(key)) {
        return node->as_string();
    }
    return std::nullopt;
}

void JsonNode::fail(const std::string& detail, const std::string& hint) const {
    throw ManifestError(context_->file, path_, detail, hint);
}

void JsonNode::fail_type(std::string_view expected) const {
    fail("expected " + std::string(expected) + ", found " + describe_json_value(*value_));
}

}  // namespace assetctl::manifest
