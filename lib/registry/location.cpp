#include "registry/location.hpp"

#include "http/url.hpp"
#include "registry/registry_error.hpp"

namespace assetctl::registry {

std::string resolve_location(std::string_view request_url, std::string_view location) {
    const auto fail = [&]() {
        return ProtocolError("the registry answered with an unusable upload Location '" +
                             std::string(location.substr(0, 200)) + "'");
    };
    location = location.substr(0, location.find('#'));
    if (location.empty()) {
        throw fail();
    }
    const auto base = http::parse_url(request_url);
    if (!base) {
        throw fail();
    }
    std::string resolved;
    if (location.find("://") != std::string_view::npos &&
        location.find("://") < location.find_first_of("/?")) {
        resolved = std::string(location);
    } else if (location.starts_with("//")) {
        resolved = base->scheme + ":" + std::string(location);
    } else if (location.front() == '/') {
        resolved = base->origin() + std::string(location);
    } else if (location.front() == '?') {
        resolved = base->origin() + base->path + std::string(location);
    } else {
        const auto folder = base->path.substr(0, base->path.rfind('/') + 1);
        resolved = base->origin() + folder + std::string(location);
    }
    if (!http::parse_url(resolved)) {
        throw fail();
    }
    return resolved;
}

std::string add_query_parameter(std::string_view url, std::string_view name,
                                std::string_view value) {
    std::string out(url);
    const auto question = out.find('?');
    if (question == std::string::npos) {
        out += '?';
    } else if (question + 1 != out.size() && out.back() != '&') {
        out += '&';
    }
    out += std::string(name) + "=" + http::form_encode(value);
    return out;
}

}  // namespace assetctl::registry
