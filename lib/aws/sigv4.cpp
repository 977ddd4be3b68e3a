#include "aws/sigv4.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "crypto/crypto.hpp"
#include "util/strings.hpp"

namespace assetctl::aws {

namespace {

bool is_unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

// ASCII whitespace only. Header values are bytes here; botocore splits on Python's (wider)
// notion of whitespace, which only differs for control bytes 0x1C-0x1F and non-ASCII spaces
// that no real header carries.
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool is_header(std::string_view name, std::string_view lowercase) {
    return name.size() == lowercase.size() &&
           std::equal(name.begin(), name.end(), lowercase.begin(), [](char a, char b) {
               return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
           });
}

void remove_headers(std::vector<Header>& headers, std::string_view lowercase_name) {
    std::erase_if(headers, [&](const Header& h) { return is_header(h.name, lowercase_name); });
}

bool has_header(const std::vector<Header>& headers, std::string_view lowercase_name) {
    return std::any_of(headers.begin(), headers.end(),
                       [&](const Header& h) { return is_header(h.name, lowercase_name); });
}

void require(bool condition, const char* message) {
    if (!condition) {
        throw std::invalid_argument(message);
    }
}

std::string build_canonical_request(const Request& request, const CanonicalHeaders& headers,
                                    bool normalize, std::string_view payload) {
    std::string out;
    out.reserve(256 + headers.text.size());
    out += request.method;
    out += '\n';
    out += canonical_uri(request.path, normalize);
    out += '\n';
    out += canonical_query_string(request.query);
    out += '\n';
    out += headers.text;  // each line ends in '\n', which leaves the blank line SigV4 wants
    out += '\n';
    out += headers.signed_headers;
    out += '\n';
    out += payload;
    return out;
}

}  // namespace

std::string uri_encode(std::string_view bytes, bool keep_slash) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(bytes.size());
    for (const char c : bytes) {
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out += '%';
            out += k_hex[byte >> 4U];
            out += k_hex[byte & 0x0FU];
        }
    }
    return out;
}

std::string normalize_path(std::string_view path) {
    std::vector<std::string_view> kept;
    bool directory = false;  // whether the result names a "directory" (ends in '/')
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        const std::string_view segment = path.substr(start, end - start);
        const bool last = slash == std::string_view::npos;
        if (segment == "..") {
            if (!kept.empty()) {
                kept.pop_back();
            }
            directory = last;
        } else if (segment == "." || segment.empty()) {
            directory = last;
        } else {
            kept.push_back(segment);
            directory = false;
        }
        start = end + 1;
    }
    std::string out = "/";
    for (std::size_t i = 0; i < kept.size(); ++i) {
        if (i > 0) {
            out += '/';
        }
        out += kept[i];
    }
    if (directory && !kept.empty()) {
        out += '/';
    }
    return out;
}

std::string canonical_uri(std::string_view path, bool normalize) {
    if (path.empty()) {
        return "/";
    }
    if (normalize) {
        return uri_encode(normalize_path(path), true);
    }
    return uri_encode(path, true);
}

std::string canonical_query_string(const std::vector<QueryParameter>& query) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(query.size());
    for (const auto& parameter : query) {
        encoded.emplace_back(uri_encode(parameter.key), uri_encode(parameter.value));
    }
    // Pairs, not "k=v" strings: "Param" must sort before "Param-3" although '-' < '='.
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (const auto& [key, value] : encoded) {
        if (!out.empty()) {
            out += '&';
        }
        out += key;
        out += '=';
        out += value;
    }
    return out;
}

std::string canonical_header_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    bool pending_space = false;
    for (const char c : value) {
        if (is_space(c)) {
            pending_space = !out.empty();
        } else {
            if (pending_space) {
                out += ' ';
                pending_space = false;
            }
            out += c;
        }
    }
    return out;
}

CanonicalHeaders canonical_headers(const std::vector<Header>& headers) {
    // stable_sort keeps the order of repeated headers, which SigV4 preserves in the joined value.
    std::vector<std::pair<std::string, std::string>> lowered;
    lowered.reserve(headers.size());
    for (const auto& header : headers) {
        if (header.name.empty()) {
            throw std::invalid_argument("SigV4: a header has an empty name");
        }
        lowered.emplace_back(util::to_lower(header.name), canonical_header_value(header.value));
    }
    std::stable_sort(lowered.begin(), lowered.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });

    CanonicalHeaders out;
    for (std::size_t i = 0; i < lowered.size(); ++i) {
        const bool same_as_previous = i > 0 && lowered[i].first == lowered[i - 1].first;
        if (same_as_previous) {
            out.text.pop_back();  // the '\n' of the previous line
            out.text += ',';
        } else {
            if (!out.signed_headers.empty()) {
                out.signed_headers += ';';
            }
            out.signed_headers += lowered[i].first;
            out.text += lowered[i].first;
            out.text += ':';
        }
        out.text += lowered[i].second;
        out.text += '\n';
    }
    return out;
}

std::string payload_hash(const Request& request) {
    return request.payload_hash ? *request.payload_hash : crypto::sha256_hex(request.body);
}

std::string canonical_request(const Request& request, const SigningOptions& options) {
    return build_canonical_request(request, canonical_headers(request.headers),
                                   options.normalize_path, payload_hash(request));
}

std::string amz_date(std::chrono::system_clock::time_point time) {
    using namespace std::chrono;
    const auto seconds = floor<std::chrono::seconds>(time);
    const auto day = floor<days>(seconds);
    const year_month_day date{day};
    const hh_mm_ss clock{seconds - day};
    const int year = static_cast<int>(date.year());
    if (year < 0 || year > 9999) {
        throw std::invalid_argument("SigV4: time outside the years 0000-9999");
    }
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%04d%02u%02uT%02lld%02lld%02lldZ", year,
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<long long>(clock.hours().count()),
                  static_cast<long long>(clock.minutes().count()),
                  static_cast<long long>(clock.seconds().count()));
    return buffer;
}

std::string credential_scope(std::string_view date, std::string_view region,
                             std::string_view service) {
    std::string out;
    out.reserve(date.size() + region.size() + service.size() + 16);
    out.append(date).append("/").append(region).append("/").append(service);
    out.append("/aws4_request");
    return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
    std::string out(k_algorithm);
    out.append("\n").append(amz_date).append("\n").append(scope).append("\n");
    out += crypto::sha256_hex(canonical_request);
    return out;
}

std::string signing_key(std::string_view secret_access_key, std::string_view date,
                        std::string_view region, std::string_view service) {
    std::string seed = "AWS4";
    seed += secret_access_key;
    std::string key = crypto::hmac_sha256(seed, date);
    crypto::wipe(seed);
    for (const std::string_view part : {region, service, std::string_view("aws4_request")}) {
        std::string next = crypto::hmac_sha256(key, part);
        crypto::wipe(key);
        key = std::move(next);
    }
    return key;
}

std::string signature(std::string_view signing_key, std::string_view string_to_sign) {
    return crypto::hex_encode(crypto::hmac_sha256(signing_key, string_to_sign));
}

std::string authorization_header(std::string_view access_key_id, std::string_view scope,
                                 std::string_view signed_headers, std::string_view signature) {
    std::string out(k_algorithm);
    out.append(" Credential=").append(access_key_id).append("/").append(scope);
    out.append(", SignedHeaders=").append(signed_headers);
    out.append(", Signature=").append(signature);
    return out;
}

SigningKeyCache::SigningKeyCache(std::size_t capacity)
    : capacity_(std::max<std::size_t>(capacity, 1)) {}

SigningKeyCache::~SigningKeyCache() {
    for (auto& entry : entries_) {
        crypto::wipe(entry.key);
    }
}

std::string SigningKeyCache::get(std::string_view secret_access_key, std::string_view date,
                                 std::string_view region, std::string_view service) {
    const std::string digest = crypto::sha256(secret_access_key);
    {
        const std::lock_guard lock(mutex_);
        for (const auto& entry : entries_) {
            if (entry.secret_digest == digest && entry.date == date && entry.region == region &&
                entry.service == service) {
                ++hits_;
                return entry.key;
            }
        }
    }
    // Derived outside the lock; two threads may both derive the same key, which is harmless.
    std::string key = signing_key(secret_access_key, date, region, service);
    const std::lock_guard lock(mutex_);
    if (entries_.size() >= capacity_) {
        crypto::wipe(entries_.front().key);
        entries_.erase(entries_.begin());
    }
    entries_.push_back(
        Entry{digest, std::string(date), std::string(region), std::string(service), key});
    return key;
}

std::size_t SigningKeyCache::size() const {
    const std::lock_guard lock(mutex_);
    return entries_.size();
}

std::size_t SigningKeyCache::hits() const {
    const std::lock_guard lock(mutex_);
    return hits_;
}

SigningDetails sign(Request& request, const Credentials& credentials, std::string_view region,
                    std::string_view service, std::chrono::system_clock::time_point time,
                    const SigningOptions& options, SigningKeyCache* cache) {
    require(!request.method.empty(), "SigV4: the request has no method");
    require(!credentials.access_key_id.empty(), "SigV4: the access key id is empty");
    require(!credentials.secret_access_key.empty(), "SigV4: the secret access key is empty");
    require(!region.empty(), "SigV4: the region is empty");
    require(!service.empty(), "SigV4: the service is empty");
    require(has_header(request.headers, "host"), "SigV4: the request has no Host header");

    const std::string date_time = amz_date(time);
    const std::string_view date = std::string_view(date_time).substr(0, 8);

    remove_headers(request.headers, "authorization");
    remove_headers(request.headers, "x-amz-date");
    remove_headers(request.headers, "x-amz-security-token");
    if (options.add_content_sha256_header) {
        remove_headers(request.headers, "x-amz-content-sha256");
    }

    request.headers.push_back({"X-Amz-Date", date_time});
    if (credentials.session_token) {
        request.headers.push_back({"X-Amz-Security-Token", *credentials.session_token});
    }
    const std::string payload = payload_hash(request);
    if (options.add_content_sha256_header) {
        request.headers.push_back({"x-amz-content-sha256", payload});
    }

    const CanonicalHeaders headers = canonical_headers(request.headers);
    SigningDetails details;
    details.canonical_request =
        build_canonical_request(request, headers, options.normalize_path, payload);
    const std::string scope = credential_scope(date, region, service);
    details.string_to_sign = string_to_sign(date_time, scope, details.canonical_request);

    std::string key = cache != nullptr
                          ? cache->get(credentials.secret_access_key, date, region, service)
                          : signing_key(credentials.secret_access_key, date, region, service);
    details.signature = signature(key, details.string_to_sign);
    crypto::wipe(key);

    details.authorization = authorization_header(credentials.access_key_id, scope,
                                                 headers.signed_headers, details.signature);
    request.headers.push_back({"Authorization", details.authorization});
    return details;
}

}  // namespace assetctl::aws
