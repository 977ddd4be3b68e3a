#include "http/redact.hpp"

#include <array>

#include "util/strings.hpp"

namespace assetctl::http {
namespace {

constexpr std::string_view k_redacted = "<redacted>";

constexpr std::array<std::string_view, 7> k_secret_headers{
    "authorization", "proxy-authorization",      "x-amz-security-token",   "cookie",
    "set-cookie",    "x-aws-ec2-metadata-token", "x-amz-sso_bearer_token",
};

constexpr std::array<std::string_view, 4> k_secret_query_keys{"x-amz-signature", "x-amz-credential",
                                                              "x-amz-security-token", "token"};

}  // namespace

bool is_secret_header(std::string_view name) {
    const std::string lower = util::to_lower(name);
    for (auto secret : k_secret_headers) {
        if (lower == secret) {
            return true;
        }
    }
    return false;
}

std::string headers_for_log(const Headers& headers) {
    std::string out;
    for (const auto& header : headers) {
        if (!out.empty()) {
            out += "\n";
        }
        out += header.name + ": ";
        out += is_secret_header(header.name) ? std::string(k_redacted) : header.value;
    }
    return out;
}

std::string url_for_log(std::string_view url) {
    std::string out(url);
    // scheme://user:password@host -> scheme://<redacted>@host
    if (auto scheme = out.find("://"); scheme != std::string::npos) {
        const auto authority_start = scheme + 3;
        const auto authority_end = out.find_first_of("/?#", authority_start);
        const auto at =
            out.rfind('@', authority_end == std::string::npos ? out.size() : authority_end);
        if (at != std::string::npos && at >= authority_start) {
            out.replace(authority_start, at - authority_start, k_redacted);
        }
    }
    const auto query = out.find('?');
    if (query == std::string::npos) {
        return out;
    }
    std::string result = out.substr(0, query + 1);
    std::string_view rest = std::string_view(out).substr(query + 1);
    bool first = true;
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        const auto eq = pair.find('=');
        const std::string key(pair.substr(0, eq));
        if (!first) {
            result += '&';
        }
        first = false;
        bool secret = false;
        for (auto secret_key : k_secret_query_keys) {
            secret = secret || util::to_lower(key) == secret_key;
        }
        if (secret && eq != std::string_view::npos) {
            result += key + "=" + std::string(k_redacted);
        } else {
            result += pair;
        }
    }
    return result;
}

}  // namespace assetctl::http
