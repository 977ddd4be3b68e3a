#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/environment.hpp"
#include "util/error.hpp"

namespace assetctl::docker {

// CDK Pipelines' docker credentials file (`dockerCredentials`; cdk-assets'
// docker-credentials.ts): `CDK_DOCKER_CREDS_FILE`, else `~/.cdk/cdk-docker-creds.json`:
//   {"version": "1.0",
//    "domainCredentials": {"<domain>": {"secretsManagerSecretId"?, "secretsUsernameField"?,
//                                       "secretsPasswordField"?, "assumeRoleArn"?,
//                                       "ecrRepository"?: true}}}
// A domain is a registry host (`index.docker.io`, `host:port`) or, as CDK writes Docker Hub, a
// URL (`https://index.docker.io/v1/`). It holds no secret: only where the secret is.

// One domain's credential source.
struct DomainCredential {
    std::string domain;                    // the key as written
    std::optional<std::string> secret_id;  // secretsManagerSecretId (an ARN or a name)
    std::string username_field = "username";
    std::string password_field = "secret";  // cdk-assets' default, not "password"
    bool ecr_repository = false;            // an ECR authorization token instead of a secret
    std::optional<std::string> assume_role_arn;
};

struct CdkDockerCreds {
    std::filesystem::path file;
    std::string version;
    std::vector<DomainCredential> domains;
};

// The file is unusable: what() is `<file>: <JSON path>: <what is wrong>`, exit code `input`.
class CdkDockerCredsError : public util::Fatal {
  public:
    CdkDockerCredsError(const std::filesystem::path& file, const std::string& json_path,
                        const std::string& detail);
};

// CDK_DOCKER_CREDS_FILE, else $HOME/.cdk/cdk-docker-creds.json (the passwd entry's home when
// HOME is unset); empty when neither gives a home.
std::filesystem::path cdk_docker_creds_path(const util::Environment& env);

// Parses and checks the file's text: an object with `domainCredentials` an object of objects,
// each with a non-empty string `secretsManagerSecretId` or `ecrRepository: true`; the optional
// fields strings. Unknown keys are tolerated (the schema may grow). Throws CdkDockerCredsError.
CdkDockerCreds parse_cdk_docker_creds(std::string_view text, const std::filesystem::path& file);

// The file at cdk_docker_creds_path(), parsed; nullopt when it does not exist. Throws
// CdkDockerCredsError when it exists but cannot be read or is malformed.
std::optional<CdkDockerCreds> load_cdk_docker_creds(const util::Environment& env);

// The domain a credential helper's server URL (docker writes it to the helper's stdin:
// `host[:port]`, `https://host`, `https://index.docker.io/v1/`) belongs to: the key naming the
// same `host[:port]` (case-insensitive, scheme and path ignored); else, as cdk-assets matches,
// a key that is the bare host name without the port. nullptr when none.
const DomainCredential* find_domain(const CdkDockerCreds& creds, std::string_view server_url);

// The docker config `credHelpers` keys for the file's domains, each once: the key as written and
// its `host[:port]` (what BuildKit asks the CLI for), or for Docker Hub
// `https://index.docker.io/v1/` (the key the docker CLI looks Docker Hub up by).
std::vector<std::string> cred_helper_keys(const CdkDockerCreds& creds);

// The credential helper's name in `credHelpers` (docker runs `docker-credential-<name>`).
inline constexpr std::string_view k_cred_helper_name = "cdk-assets";
inline constexpr std::string_view k_cred_helper_program = "docker-credential-cdk-assets";

}  // namespace assetctl::docker
