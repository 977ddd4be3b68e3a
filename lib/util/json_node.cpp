#include "util/json_node.hpp"

#include <algorithm>
#include <cctype>

namespace assetctl::util {

std::string json_path_child(const std::string& parent, const std::string& key) {
    const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
    if (!plain) {
        std::string quoted = "[\"";
        for (char c : key) {
            if (c == '"' || c == '\\') {
                quoted += '\\';
            }
            quoted += c;
        }
        return parent + quoted + "\"]";
    }
    return parent.empty() ? key : parent + "." + key;
}

std::string json_path_index(const std::string& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
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

namespace {

std::string render(const JsonFailure& failure) {
    return failure.path.empty() ? failure.detail : failure.path + ": " + failure.detail;
}

}  // namespace

JsonError::JsonError(JsonFailure failure)
    : std::runtime_error(render(failure)), failure_(std::move(failure)) {}

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
    if (auto node = optional(key)) {
        return *node;
    }
    fail_member(key, "required key is missing");
}

std::optional<JsonNode> JsonNode::optional(std::string_view key) const {
    if (!value_->is_object()) {
        fail_type("an object");
    }
    return find(key);
}

std::optional<JsonNode> JsonNode::find(std::string_view key) const {
    if (!value_->is_object()) {
        return std::nullopt;
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

std::vector<std::pair<std::string, std::string>> JsonNode::as_string_map() const {
    if (!value_->is_object()) {
        fail_type("an object of strings");
    }
    std::vector<std::pair<std::string, std::string>> out;
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

std::optional<std::string> JsonNode::string_value() const {
    if (!value_->is_string()) {
        return std::nullopt;
    }
    return value_->get<std::string>();
}

std::optional<std::uint64_t> JsonNode::unsigned_value() const {
    if (value_->is_number_unsigned()) {
        return value_->get<std::uint64_t>();
    }
    if (value_->is_number_integer() && value_->get<std::int64_t>() >= 0) {
        return static_cast<std::uint64_t>(value_->get<std::int64_t>());
    }
    return std::nullopt;
}

void JsonNode::fail(const std::string& detail, const std::string& hint) const {
    raise({path_, detail, hint});
}

void JsonNode::fail_member(std::string_view key, const std::string& detail,
                           const std::string& hint) const {
    raise({json_path_child(path_, std::string(key)), detail, hint});
}

void JsonNode::fail_type(std::string_view expected) const {
    fail("expected " + std::string(expected) + ", found " + describe_json_value(*value_));
}

void JsonNode::raise(JsonFailure failure) const {
    if (context_->raise) {
        context_->raise(failure);
    }
    throw JsonError(std::move(failure));
}

}  // namespace assetctl::util
