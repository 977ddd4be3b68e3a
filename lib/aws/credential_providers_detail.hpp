#pragma once

// Helpers shared by the credential providers' .cpp files; not part of the module's interface.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "aws/credentials.hpp"

namespace assetctl::aws::detail {

// Whether a key of a credentials JSON document must be there.
enum class Presence { required, optional };

// Which keys a credentials JSON document uses and which are required.
struct CredentialsJsonShape {
    std::string_view token_key = "Token";  // "SessionToken" for credential_process
    Presence token = Presence::required;
    Presence expiration = Presence::required;
};

// AccessKeyId, SecretAccessKey, the token and Expiration from `document`. Throws
// CredentialsError("<what>: ...") naming a missing or mistyped key, never a value.
AwsCredentials credentials_from_json(const nlohmann::json& document, std::string_view what,
                                     const CredentialsJsonShape& shape);

// The trimmed contents of a token file (OIDC or container authorization token). Throws
// CredentialsError("<what>: ...") when it cannot be read or is empty.
std::string read_token_file(const std::string& path, std::string_view what);

// The last few non-empty lines of a process's stderr, trimmed and joined with " | ", at most
// a few hundred characters: enough for an error message without flooding it.
std::string stderr_tail(std::string_view err);

}  // namespace assetctl::aws::detail
