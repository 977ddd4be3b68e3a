#include "manifest/names.hpp"

#include "manifest/placeholders.hpp"

namespace assetctl::manifest {
namespace {

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_alnum(char c) {
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool is_control(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
}

// A character for messages: itself when printable, else its code.
std::string shown(char c) {
    if (is_control(c)) {
        constexpr std::string_view k_hex = "0123456789abcdef";
        const auto byte = static_cast<unsigned char>(c);
        return std::string("control character 0x") + k_hex[byte >> 4U] + k_hex[byte & 0xfU];
    }
    return "'" + std::string(1, c) + "'";
}

// `[a-z0-9]+([._-][a-z0-9]+)*`.
bool is_repository_component(std::string_view component) {
    if (component.empty() || !is_lower_alnum(component.front()) ||
        !is_lower_alnum(component.back())) {
        return false;
    }
    for (std::size_t i = 1; i < component.size(); ++i) {
        const char c = component[i];
        const bool separator = c == '.' || c == '_' || c == '-';
        if (!is_lower_alnum(c) && !(separator && is_lower_alnum(component[i - 1]))) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<std::string> repository_name_problem(std::string_view name) {
    constexpr std::size_t k_min = 2;
    constexpr std::size_t k_max = 256;
    if (name.size() < k_min || name.size() > k_max) {
        return "an ECR repository name has 2 to 256 characters, this one " +
               std::to_string(name.size());
    }
    for (const char c : name) {
        if (!is_lower_alnum(c) && c != '.' && c != '_' && c != '-' && c != '/') {
            return "an ECR repository name has only lower-case letters, digits and . _ - /, not " +
                   shown(c);
        }
    }
    std::string_view rest = name;
    while (true) {
        const auto slash = rest.find('/');
        if (!is_repository_component(rest.substr(0, slash))) {
            return std::string(
                "each /-separated part of an ECR repository name starts and ends with a letter "
                "or digit, with single . _ - between them");
        }
        if (slash == std::string_view::npos) {
            return std::nullopt;
        }
        rest.remove_prefix(slash + 1);
    }
}

std::optional<std::string> image_tag_problem(std::string_view tag) {
    constexpr std::size_t k_max = 128;
    if (tag.empty() || tag.size() > k_max) {
        return "an image tag has 1 to 128 characters, this one " + std::to_string(tag.size());
    }
    for (std::size_t i = 0; i < tag.size(); ++i) {
        const char c = tag[i];
        const bool allowed = is_alnum(c) || c == '_' || (i > 0 && (c == '.' || c == '-'));
        if (!allowed) {
            return "an image tag is [A-Za-z0-9_][A-Za-z0-9_.-]*; " + shown(c) +
                   (i == 0 ? " cannot start it" : " is not allowed");
        }
    }
    return std::nullopt;
}

std::optional<std::string> bucket_name_problem(std::string_view bucket) {
    constexpr std::size_t k_min = 3;
    constexpr std::size_t k_max = 63;
    if (bucket.size() < k_min || bucket.size() > k_max) {
        return "an S3 bucket name has 3 to 63 characters, this one " +
               std::to_string(bucket.size());
    }
    for (const char c : bucket) {
        if (!is_lower_alnum(c) && c != '.' && c != '-') {
            return "an S3 bucket name has only lower-case letters, digits, . and -, not " +
                   shown(c);
        }
    }
    if (!is_lower_alnum(bucket.front()) || !is_lower_alnum(bucket.back())) {
        return std::string("an S3 bucket name starts and ends with a letter or digit");
    }
    if (bucket.find("..") != std::string_view::npos) {
        return std::string("an S3 bucket name has no two dots in a row");
    }
    return std::nullopt;
}

std::optional<std::string> object_key_problem(std::string_view key) {
    constexpr std::size_t k_max = 1024;
    if (key.empty() || key.size() > k_max) {
        return "an S3 object key has 1 to 1024 bytes, this one " + std::to_string(key.size());
    }
    for (const char c : key) {
        if (is_control(c)) {
            return "an S3 object key has no control characters, this one has " + shown(c);
        }
    }
    return std::nullopt;
}

std::string with_sample_placeholders(std::string_view text) {
    return resolve_placeholders(text, {"123456789012", "us-east-1", "aws"});
}

}  // namespace assetctl::manifest
