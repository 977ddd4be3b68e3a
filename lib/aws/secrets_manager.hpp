#pragma once

#include <optional>
#include <string>

#include "aws/credentials.hpp"

namespace assetctl::aws {

// One version of a secret. `secret_string` is the secret itself: keep it in memory only, never
// log it (no printing operator on purpose). A binary secret has no string.
struct SecretValue {
    std::string arn;
    std::string name;
    std::string version_id;
    std::optional<std::string> secret_string;
};

// The Secrets Manager operation assetctl uses (the docker credential helper). Signed with
// `caller` for `region`, retried through the one retry policy; failures throw AwsError with
// Secrets Manager's code (ResourceNotFoundException, AccessDeniedException, DecryptionFailure).
class SecretsManagerApi {
  public:
    virtual ~SecretsManagerApi() = default;
    // GetSecretValue of the current version (AWSCURRENT) of `secret_id` (an ARN or a name).
    virtual SecretValue get_secret_value(const AwsCredentials& caller, const std::string& region,
                                         const std::string& secret_id) = 0;
};

// The region in a Secrets Manager ARN (`arn:<partition>:secretsmanager:<region>:<account>:
// secret:<name>`), nullopt for a plain name or another ARN.
std::optional<std::string> secret_arn_region(const std::string& secret_id);

}  // namespace assetctl::aws
