#include "http/url.hpp"

#include <charconv>

#include "util/strings.hpp"

namespace assetctl::http {

std::string Url::authority() const {
    const bool ipv6 = host.find(':') != std::string::npos;
    std::string out = ipv6 ? "[" + host + "]" : host;
    const int default_port = scheme == "https" ? 443 : 80;
    if (port && *port != default_port) {
        out += ':';
        out += std::to_string(*port);
    }
    return out;
}

std::string Url::origin() const {
    return scheme + "://" + authority();
}

namespace {

// `host[:port]` or `[v6]` / `[v6]:port` into url.host and the port's text; false when malformed.
bool split_authority(std::string_view authority, Url& url, std::string_view& port_text) {
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        url.host = std::string(authority.substr(1, close - 1));
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return false;
            }
            port_text = after.substr(1);
        }
    } else {
        const auto colon = authority.rfind(':');
        url.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
        }
    }
    return !url.host.empty();
}

// 1..65535, all digits; nullopt otherwise.
std::optional<int> parse_port(std::string_view text) {
    int port = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || ptr != text.data() + text.size() || port <= 0 || port > 65535) {
        return std::nullopt;
    }
    return port;
}

// What follows the authority: path and query (the fragment is dropped; an empty path is "/").
void split_path_and_query(std::string_view rest, Url& url) {
    rest = rest.substr(0, rest.find('#'));
    const auto question = rest.find('?');
    url.path = std::string(rest.substr(0, question));
    if (question != std::string_view::npos) {
        url.query = std::string(rest.substr(question + 1));
    }
    if (url.path.empty()) {
        url.path.push_back('/');  // not = "/": GCC 12 -O3 warns -Wrestrict (a false positive)
    }
}

}  // namespace

std::optional<Url> parse_url(std::string_view text) {
    Url url;
    const auto scheme_end = text.find("://");
    if (scheme_end == std::string_view::npos) {
        return std::nullopt;
    }
    url.scheme = util::to_lower(text.substr(0, scheme_end));
    if (url.scheme != "http" && url.scheme != "https") {
        return std::nullopt;
    }
    std::string_view rest = text.substr(scheme_end + 3);
    const auto authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    rest =
        authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
    if (authority.find('@') != std::string_view::npos || authority.empty()) {
        return std::nullopt;  // no credentials in endpoint URLs
    }
    std::string_view port_text;
    if (!split_authority(authority, url, port_text)) {
        return std::nullopt;
    }
    if (!port_text.empty()) {
        url.port = parse_port(port_text);
        if (!url.port) {
            return std::nullopt;
        }
    }
    split_path_and_query(rest, url);
    return url;
}

std::string form_encode(std::string_view text) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    for (char raw : text) {
        const auto c = static_cast<unsigned char>(raw);
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        if (unreserved) {
            out += raw;
        } else {
            out += '%';
            out += k_hex[c >> 4];
            out += k_hex[c & 0x0F];
        }
    }
    return out;
}

}  // namespace assetctl::http
