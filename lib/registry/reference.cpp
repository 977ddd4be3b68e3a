#include "registry/reference.hpp"

#include <algorithm>

#include "crypto/crypto.hpp"

namespace assetctl::registry {
namespace {

// docker/distribution limits the full name (host and repository) to 255 characters.
constexpr std::size_t k_max_name_length = 255;
constexpr std::size_t k_max_tag_length = 128;

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_alnum(char c) {
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

bool is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// alpha-numeric (separator alpha-numeric)*, separator = [._] | __ | -+
bool is_valid_path_component(std::string_view component) {
    if (component.empty() || !is_lower_alnum(component.front()) ||
        !is_lower_alnum(component.back())) {
        return false;
    }
    std::size_t i = 0;
    while (i < component.size()) {
        if (is_lower_alnum(component[i])) {
            ++i;
            continue;
        }
        const std::size_t start = i;
        while (i < component.size() && !is_lower_alnum(component[i])) {
            ++i;
        }
        const std::string_view separator = component.substr(start, i - start);
        const bool dashes =
            std::all_of(separator.begin(), separator.end(), [](char c) { return c == '-'; });
        if (!(separator == "." || separator == "_" || separator == "__" || dashes)) {
            return false;
        }
    }
    return true;
}

bool is_valid_domain_component(std::string_view component) {
    if (component.empty() || !is_alnum(component.front()) || !is_alnum(component.back())) {
        return false;
    }
    return std::all_of(component.begin(), component.end(),
                       [](char c) { return is_alnum(c) || c == '-'; });
}

bool is_valid_port(std::string_view port) {
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
    }
    const int value = std::stoi(std::string(port));
    return value > 0 && value <= 65535;
}

// docker's rule for "is the first component a registry host?"
bool looks_like_host(std::string_view component) {
    return component.find_first_of(".:") != std::string_view::npos || component == "localhost" ||
           std::any_of(component.begin(), component.end(),
                       [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

std::optional<Digest> Digest::parse(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    const std::string_view algorithm = text.substr(0, colon);
    const std::string_view hex = text.substr(colon + 1);
    std::size_t length = 0;
    if (algorithm == "sha256") {
        length = 64;
    } else if (algorithm == "sha512") {
        length = 128;
    } else {
        return std::nullopt;
    }
    if (hex.size() != length || !std::all_of(hex.begin(), hex.end(), is_lower_hex)) {
        return std::nullopt;
    }
    return Digest(std::string(algorithm), std::string(hex));
}

Digest Digest::from_string(std::string_view text) {
    if (auto digest = parse(text)) {
        return *digest;
    }
    throw InvalidReference("invalid digest '" + std::string(text) +
                           "': expected sha256:<64 lower-case hex digits> or "
                           "sha512:<128 lower-case hex digits>");
}

Digest Digest::sha256_of(std::string_view bytes) {
    return Digest("sha256", crypto::sha256_hex(bytes));
}

std::string Digest::short_str() const {
    return empty() ? std::string() : algorithm_ + ":" + hex_.substr(0, 12);
}

std::string Reference::manifest_reference() const {
    if (digest) {
        return digest->str();
    }
    return tag.value_or("latest");
}

std::string Reference::str() const {
    std::string out = registry + "/" + repository;
    if (tag) {
        out += ":" + *tag;
    }
    if (digest) {
        out += '@';
        out += digest->str();
    }
    return out;
}

bool is_valid_repository(std::string_view repository) {
    if (repository.empty() || repository.size() > k_max_name_length) {
        return false;
    }
    std::size_t start = 0;
    for (;;) {
        const auto slash = repository.find('/', start);
        const auto component = repository.substr(
            start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (!is_valid_path_component(component)) {
            return false;
        }
        if (slash == std::string_view::npos) {
            return true;
        }
        start = slash + 1;
    }
}

bool is_valid_tag(std::string_view tag) {
    if (tag.empty() || tag.size() > k_max_tag_length) {
        return false;
    }
    const auto word = [](char c) { return is_alnum(c) || c == '_'; };
    if (!word(tag.front())) {
        return false;
    }
    return std::all_of(tag.begin(), tag.end(),
                       [&](char c) { return word(c) || c == '.' || c == '-'; });
}

bool is_valid_registry_host(std::string_view host) {
    std::string_view port;
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string_view::npos || close < 3) {
            return false;
        }
        const auto address = host.substr(1, close - 1);
        if (!std::all_of(address.begin(), address.end(), [](char c) {
                return is_lower_hex(c) || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
            })) {
            return false;
        }
        const auto after = host.substr(close + 1);
        if (after.empty()) {
            return true;
        }
        return after.front() == ':' && is_valid_port(after.substr(1));
    }
    const auto colon = host.find(':');
    if (colon != std::string_view::npos) {
        port = host.substr(colon + 1);
        host = host.substr(0, colon);
        if (!is_valid_port(port)) {
            return false;
        }
    }
    if (host.empty()) {
        return false;
    }
    std::size_t start = 0;
    for (;;) {
        const auto dot = host.find('.', start);
        const auto component = host.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (!is_valid_domain_component(component)) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        start = dot + 1;
    }
}

Reference parse_reference(std::string_view text) {
    const auto fail = [&](const std::string& why) -> InvalidReference {
        return InvalidReference("invalid image reference '" + std::string(text) + "': " + why);
    };
    if (text.empty()) {
        throw fail("it is empty");
    }
    Reference reference;
    std::string_view rest = text;
    if (const auto at = rest.find('@'); at != std::string_view::npos) {
        reference.digest = Digest::parse(rest.substr(at + 1));
        if (!reference.digest) {
            throw fail("the part after '@' is not a sha256 or sha512 digest");
        }
        rest = rest.substr(0, at);
    }
    const auto last_slash = rest.rfind('/');
    const auto last_colon = rest.rfind(':');
    if (last_colon != std::string_view::npos &&
        (last_slash == std::string_view::npos || last_colon > last_slash)) {
        const auto tag = rest.substr(last_colon + 1);
        if (!is_valid_tag(tag)) {
            throw fail("invalid tag '" + std::string(tag) +
                       "' (letters, digits, '_', '.', '-'; at most 128; not starting with "
                       "'.' or '-')");
        }
        reference.tag = std::string(tag);
        rest = rest.substr(0, last_colon);
    }
    const auto first_slash = rest.find('/');
    if (first_slash != std::string_view::npos && looks_like_host(rest.substr(0, first_slash))) {
        reference.registry = std::string(rest.substr(0, first_slash));
        reference.repository = std::string(rest.substr(first_slash + 1));
        if (!is_valid_registry_host(reference.registry)) {
            throw fail("invalid registry host '" + reference.registry + "'");
        }
        if (reference.registry == "index.docker.io") {
            reference.registry = "docker.io";
        }
    } else {
        reference.registry = "docker.io";
        reference.repository = std::string(rest);
    }
    if (reference.registry == "docker.io" && reference.repository.find('/') == std::string::npos) {
        reference.repository = "library/" + reference.repository;
    }
    if (!is_valid_repository(reference.repository)) {
        throw fail("invalid repository name '" + reference.repository +
                   "' (lower-case letters and digits, separated by '.', '_', '__', '-' or '/')");
    }
    if (reference.registry.size() + 1 + reference.repository.size() > k_max_name_length) {
        throw fail("the name is longer than 255 characters");
    }
    return reference;
}

std::string registry_host_of(std::string_view uri) {
    const auto scheme = uri.find("://");
    if (scheme != std::string_view::npos && scheme < uri.find('/')) {
        uri.remove_prefix(scheme + 3);
    }
    return std::string(uri.substr(0, uri.find('/')));
}

}  // namespace assetctl::registry
