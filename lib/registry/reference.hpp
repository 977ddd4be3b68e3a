#pragma once

#include <compare>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace assetctl::registry {

// A reference, repository name, tag or digest that does not follow the distribution grammar.
class InvalidReference : public std::invalid_argument {
  public:
    using std::invalid_argument::invalid_argument;
};

// A content digest `algorithm:hex`. Only sha256 (64 hex digits) and sha512 (128) are accepted,
// lower-case as the OCI image spec requires for them; registries compare digests as strings,
// so an upper-case digest would name a different (missing) blob.
class Digest {
  public:
    Digest() = default;  // empty(); only as a placeholder before assignment

    // nullopt when `text` is not a valid digest.
    static std::optional<Digest> parse(std::string_view text);
    // As parse(), but throws InvalidReference naming the problem.
    static Digest from_string(std::string_view text);
    // The sha256 digest of `bytes`.
    static Digest sha256_of(std::string_view bytes);

    const std::string& algorithm() const noexcept { return algorithm_; }
    const std::string& hex() const noexcept { return hex_; }
    bool empty() const noexcept { return hex_.empty(); }
    // "sha256:0123..."
    std::string str() const { return empty() ? std::string() : algorithm_ + ":" + hex_; }
    // "sha256:0123456789ab" (12 hex digits), for logs and messages.
    std::string short_str() const;

    friend bool operator==(const Digest&, const Digest&) = default;
    friend auto operator<=>(const Digest&, const Digest&) = default;

  private:
    Digest(std::string algorithm, std::string hex)
        : algorithm_(std::move(algorithm)), hex_(std::move(hex)) {}

    std::string algorithm_;
    std::string hex_;
};

// An image reference `[host[:port]/]repo/path[:tag][@digest]`, split the way docker does:
// the first path component is the registry host when it contains `.` or `:`, is `localhost`,
// or has an upper-case letter (repository names cannot). Without a host the registry is
// `docker.io`, and a one-component Docker Hub name gets docker's implicit `library/` prefix
// (`busybox` -> `docker.io/library/busybox`); `index.docker.io` is folded into `docker.io`.
// The client itself is always constructed with an explicit host, so this is the only Docker Hub
// special-casing (its API host `registry-1.docker.io` is the caller's business).
struct Reference {
    std::string registry;    // "123456789012.dkr.ecr.us-east-1.amazonaws.com", "localhost:5000"
    std::string repository;  // "cdk-hnb659fds-container-assets-123456789012-us-east-1"
    std::optional<std::string> tag;
    std::optional<Digest> digest;

    // What manifest requests address: the digest when there is one, else the tag, else "latest".
    std::string manifest_reference() const;
    // registry/repository[:tag][@digest]
    std::string str() const;
};

// Throws InvalidReference.
Reference parse_reference(std::string_view text);

// The `host[:port]` of a repository URI (`<acct>.dkr.ecr.<region>.amazonaws.com/repo`), an
// endpoint URL (`https://<acct>.dkr.ecr.<region>.amazonaws.com/`) or a docker config key
// (`https://index.docker.io/v1/`): without a leading `scheme://`, up to the first `/`. Unlike
// parse_reference it checks nothing, keeps the case, and leaves `index.docker.io` as it is.
std::string registry_host_of(std::string_view uri);

// `path-component ('/' path-component)*` with components `[a-z0-9]+([._]|__|-+)[a-z0-9]+...`.
// Checked before a repository goes into a URL path, so `..` or `%2F` can never reach one.
bool is_valid_repository(std::string_view repository);
// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
bool is_valid_tag(std::string_view tag);
// A host name, IPv4 or bracketed IPv6 address, with an optional port.
bool is_valid_registry_host(std::string_view host);

}  // namespace assetctl::registry
