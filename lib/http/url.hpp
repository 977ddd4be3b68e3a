#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace assetctl::http {

// The parts of an absolute http(s) URL that request building needs.
struct Url {
    std::string scheme;  // "http" or "https"
    std::string host;    // without brackets for IPv6
    std::optional<int> port;
    std::string path;   // "/" when empty
    std::string query;  // without '?'

    // `host[:port]` as the Host header carries it (the port only when not the default).
    std::string authority() const;
    // scheme://authority (no path)
    std::string origin() const;
};

// nullopt for anything but an absolute http:// or https:// URL.
std::optional<Url> parse_url(std::string_view text);

// Percent-encoding for application/x-www-form-urlencoded bodies and query strings:
// RFC 3986 unreserved characters stay, everything else becomes %XX.
std::string form_encode(std::string_view text);

}  // namespace assetctl::http
