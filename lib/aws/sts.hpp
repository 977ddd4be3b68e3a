#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "aws/credentials.hpp"

namespace assetctl::aws {

struct AssumeRoleRequest {
    std::string role_arn;
    std::string session_name;  // sanitised to STS's alphabet by the caller (sts_session_name)
    std::optional<std::string> external_id;
    std::optional<int> duration_seconds;
    // Further AssumeRole parameters as the manifest's assumeRoleAdditionalOptions carries them
    // (Tags: [{Key, Value}], TransitiveTagKeys: [...], Policy, PolicyArns: [{arn}],
    // SourceIdentity, ...). Must not contain RoleArn or ExternalId.
    nlohmann::ordered_json additional_options = nlohmann::ordered_json::object();
    // STS region to call; the client's default region when empty.
    std::optional<std::string> region;
};

struct WebIdentityRequest {
    std::string role_arn;
    std::string session_name;
    std::string token;  // the OIDC token (a secret)
    std::optional<int> duration_seconds;
    std::optional<std::string> region;
};

struct CallerIdentity {
    std::string account;
    std::string arn;
    std::string user_id;
};

// The STS operations assetctl uses. The real client speaks the query protocol over HTTP; the
// credential providers and tests use this interface.
class StsApi {
  public:
    virtual ~StsApi() = default;
    virtual AwsCredentials assume_role(const AwsCredentials& caller,
                                       const AssumeRoleRequest& request) = 0;
    // Unsigned: the token is the proof of identity.
    virtual AwsCredentials assume_role_with_web_identity(const WebIdentityRequest& request) = 0;
    virtual CallerIdentity get_caller_identity(const AwsCredentials& caller,
                                               const std::optional<std::string>& region) = 0;
};

// `assetctl-<user>` made safe for RoleSessionName: characters outside [\w+=,.@-] become `-`,
// at most 64 characters, at least 2.
std::string sts_session_name(std::string_view user);

}  // namespace assetctl::aws
