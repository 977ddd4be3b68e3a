#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "aws/sigv4.hpp"

namespace assetctl::aws {

// Credentials plus what the caches need to know about them. Never logged: `source` is what
// may be shown ("environment", "profile ci: assumed arn:aws:iam::1:role/x", ...).
struct AwsCredentials {
    Credentials keys;
    std::optional<std::chrono::system_clock::time_point> expiration;
    std::string source;
};

// A source that is configured but failed (an unreadable credentials file, a role that cannot be
// assumed, a credential_process that exits 1). It stops the chain: falling through to another
// identity would publish as somebody else. The message names the source and never a secret.
class CredentialsError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ProviderResult {
    std::optional<AwsCredentials> credentials;
    // When there are none: why this source does not apply ("AWS_ACCESS_KEY_ID is not set").
    std::string not_applicable_reason;
};

// One place credentials can come from.
class CredentialsProvider {
  public:
    virtual ~CredentialsProvider() = default;
    // Short name for reports: "environment", "shared config files", "web identity",
    // "ECS container", "EC2 instance metadata", ...
    virtual std::string name() const = 0;
    // Credentials, or an empty result with the reason this source does not apply. Throws
    // CredentialsError when the source applies but fails.
    virtual ProviderResult resolve() = 0;
};

// How long before `expiration` cached credentials count as expired and are fetched again.
inline constexpr std::chrono::minutes k_credentials_refresh_margin{5};

}  // namespace assetctl::aws
