#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// AWS Signature Version 4, header signing (the Authorization header), for ordinary AWS services
// such as ECR and STS. Not for S3 (which signs the path without normalising or re-encoding it)
// and not for presigned URLs. Reference: "Create a signed AWS API request" in the IAM user guide;
// checked against the aws-c-auth and classic AWS test suites and against botocore.
//
// The work is split into small pure steps (canonical request -> string to sign -> signature)
// that can each be tested; sign() strings them together and edits the request.

namespace assetctl::aws {

struct Header {
    std::string name;
    std::string value;
};

struct QueryParameter {
    std::string key;
    std::string value;
};

// An HTTP request as it will be sent.
struct Request {
    // As sent; not case-folded ("GET", "POST").
    std::string method;
    // The path of the request target exactly as it goes on the request line (without `?query`),
    // i.e. normally already percent-encoded by the HTTP layer. The canonical URI encodes it once
    // more: that is the "double encoding" non-S3 services expect ("/a%20b" is signed as
    // "/a%2520b"). Raw bytes (a space, UTF-8) are fine too and are encoded once.
    std::string path;
    // Decoded keys and values, in any order, keys may repeat. The HTTP layer must send them
    // encoded as canonical_query_string() does, or the service will compute another signature.
    std::vector<QueryParameter> query;
    // As sent: names in any case, names may repeat (order of repeats matters), values untrimmed
    // and possibly folded over several lines. Every header is signed, so leave out anything a
    // proxy or the HTTP client may rewrite. Must contain Host.
    std::vector<Header> headers;
    // The payload bytes (may be empty or binary).
    std::string body;
    // When set, used verbatim as the payload hash instead of hashing `body`: the hex SHA-256 of
    // a streamed body, or the literal "UNSIGNED-PAYLOAD" where the service allows it.
    std::optional<std::string> payload_hash;
};

// Never log these: there is deliberately no operator<< or to_string.
struct Credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::optional<std::string> session_token;
};

struct SigningOptions {
    // Remove `.`/`..` segments and empty segments from the path before encoding it. Every
    // service except S3 wants this; false reproduces the suite's "*-unnormalized" cases.
    bool normalize_path = true;
    // Add an `x-amz-content-sha256` header carrying the payload hash (and sign it). ECR and STS
    // do not need it; S3 and some other services require it.
    bool add_content_sha256_header = false;
};

inline constexpr std::string_view k_algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view k_unsigned_payload = "UNSIGNED-PAYLOAD";

// --- Step 1: the canonical request ---------------------------------------------------------

// RFC 3986 percent-encoding: `A-Za-z0-9-._~` stay, every other byte becomes %XX (uppercase hex).
// With keep_slash, `/` stays too (for paths).
std::string uri_encode(std::string_view bytes, bool keep_slash = false);

// The path with empty, `.` and `..` segments resolved (RFC 3986 section 5.2.4, plus collapsing
// `//`), always starting with `/`. A path that ends in `/`, `/.` or `/..` keeps a trailing slash
// unless nothing is left: "/a/b/.." -> "/a/", "//a//" -> "/a/", "/./" -> "/". Segments are split
// on literal `/` only; "%2F" and "%2E%2E" are ordinary characters here.
std::string normalize_path(std::string_view path);

// The path line of the canonical request: normalised if asked, then uri_encode(keep_slash).
// An empty path is "/".
std::string canonical_uri(std::string_view path, bool normalize = true);

// `key=value` pairs, both URI-encoded, sorted by encoded key and then by encoded value, joined
// with `&`. Empty values stay as "key=".
std::string canonical_query_string(const std::vector<QueryParameter>& query);

// A header value as it is signed: leading and trailing whitespace removed and every inner run
// of whitespace (space, tab, CR, LF, VT, FF) replaced by one space, so a value folded over
// several lines becomes one line ("a\n  b" -> "a b").
std::string canonical_header_value(std::string_view value);

struct CanonicalHeaders {
    // One "name:value\n" line per distinct lowercased name, sorted by name; the values of a
    // repeated header are joined with "," in the order they appear.
    std::string text;
    // The sorted lowercased names joined with ";".
    std::string signed_headers;
};

// Throws std::invalid_argument for a header with an empty name.
CanonicalHeaders canonical_headers(const std::vector<Header>& headers);

// request.payload_hash if set, otherwise the hex SHA-256 of request.body.
std::string payload_hash(const Request& request);

// METHOD \n canonical URI \n canonical query \n canonical headers \n signed headers \n payload
// hash, over the request exactly as given (sign() adds its headers before calling this).
std::string canonical_request(const Request& request, const SigningOptions& options = {});

// --- Step 2: the string to sign ------------------------------------------------------------

// The ISO 8601 basic timestamp SigV4 uses, in UTC, truncated to the second: "20150830T123600Z".
// Throws std::invalid_argument outside the years 0000-9999.
std::string amz_date(std::chrono::system_clock::time_point time);

// "<yyyymmdd>/<region>/<service>/aws4_request"; `date` is the first 8 characters of amz_date.
std::string credential_scope(std::string_view date, std::string_view region,
                             std::string_view service);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(canonical_request)>" (no final newline).
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

// --- Step 3: the signature -----------------------------------------------------------------

// HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request": 32 raw bytes. The
// key is valid for one day, region and service, so callers signing many requests cache it.
std::string signing_key(std::string_view secret_access_key, std::string_view date,
                        std::string_view region, std::string_view service);

// Lowercase hex HMAC-SHA256 of the string to sign under the signing key.
std::string signature(std::string_view signing_key, std::string_view string_to_sign);

// "AWS4-HMAC-SHA256 Credential=<key id>/<scope>, SignedHeaders=<names>, Signature=<hex>".
std::string authorization_header(std::string_view access_key_id, std::string_view scope,
                                 std::string_view signed_headers, std::string_view signature);

// A small thread-safe cache of signing keys keyed by (SHA-256 of the secret, date, region,
// service). The secret itself is never stored, and a rotated secret under the same key id
// cannot hit a stale entry. When full, the oldest entry goes; evicted keys are wiped.
class SigningKeyCache {
  public:
    explicit SigningKeyCache(std::size_t capacity = 16);
    ~SigningKeyCache();
    SigningKeyCache(const SigningKeyCache&) = delete;
    SigningKeyCache& operator=(const SigningKeyCache&) = delete;

    // Same contract as signing_key().
    std::string get(std::string_view secret_access_key, std::string_view date,
                    std::string_view region, std::string_view service);

    std::size_t size() const;
    // How many get() calls were answered from the cache (for tests and trace logs).
    std::size_t hits() const;

  private:
    struct Entry {
        std::string secret_digest;
        std::string date;
        std::string region;
        std::string service;
        std::string key;
    };

    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::vector<Entry> entries_;  // oldest first
    std::size_t hits_ = 0;
};

// --- All steps -----------------------------------------------------------------------------

// The intermediate results of sign(), for tests and for diagnosing a SignatureDoesNotMatch.
// The canonical request contains the session token when one was signed: log it only at trace
// level, if at all.
struct SigningDetails {
    std::string canonical_request;
    std::string string_to_sign;
    std::string signature;
    std::string authorization;
};

// Signs `request` in place for `region` and `service` at `time` (take it from a util::Clock).
// The signer owns Authorization, X-Amz-Date and X-Amz-Security-Token (and x-amz-content-sha256
// when options.add_content_sha256_header): any existing copies are removed first, so signing a
// request again (a retry) leaves exactly one of each. Then it appends X-Amz-Date, then
// X-Amz-Security-Token if the credentials have a session token, then x-amz-content-sha256 if
// asked, signs every header, and appends Authorization last.
// `cache` is optional. Throws std::invalid_argument for an empty method, access key id, secret,
// region or service, or a request without a Host header.
SigningDetails sign(Request& request, const Credentials& credentials, std::string_view region,
                    std::string_view service, std::chrono::system_clock::time_point time,
                    const SigningOptions& options = {}, SigningKeyCache* cache = nullptr);

}  // namespace assetctl::aws
