#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/credentials.hpp"
#include "aws/ecr.hpp"
#include "aws/role_cache.hpp"
#include "aws/secrets_manager.hpp"
#include "docker/cdk_docker_creds.hpp"
#include "docker/engine_client.hpp"
#include "util/environment.hpp"
#include "util/sleeper.hpp"

namespace assetctl::cli {

// `docker-credential-cdk-assets`, the docker credential helper of CDK Pipelines'
// `dockerCredentials` (cdk-assets' bin/docker-credential-cdk-assets), answered by assetctl when
// started under that name (a symlink). Docker runs `docker-credential-cdk-assets get` with the
// registry's server URL on stdin; the answer is `{"Username":..,"Secret":..}` on stdout and
// nothing else. The login comes from the domain's Secrets Manager secret (JSON; fields
// `secretsUsernameField`/`secretsPasswordField`, default `username`/`secret`) or, with
// `ecrRepository: true`, an ECR authorization token; as `assumeRoleArn` when it is set. The
// secret stays in memory.

// A registry login. Never printed: it holds a password.
struct DockerLogin {
    std::string username;
    std::string secret;
};

// The AWS side of the helper: the caller's credentials, roles, Secrets Manager and ECR.
struct CredentialHelperAws {
    aws::CredentialsProvider& credentials;
    aws::AssumedRoleCache& roles;
    aws::SecretsManagerApi& secrets;
    aws::EcrApi& ecr;
    std::optional<std::string> default_region;
    util::Sleeper& sleeper;  // the pauses between AccessDenied retries
};

// As cdk-assets' helper: an STS `AccessDenied` (a role or policy made moments ago that IAM has
// not propagated yet) is retried, k_access_denied_attempts in all, k_access_denied_pause apart.
inline constexpr int k_access_denied_attempts = 12;
inline constexpr std::chrono::seconds k_access_denied_pause{5};

// The login for `domain`. Secrets go to the region of the secret's ARN (else the default
// region); ECR to the region in an ECR registry host (else the default region). Throws
// util::Fatal (exit 1) naming the domain and the secret id, never a secret. AccessDenied is
// retried (k_access_denied_attempts).
DockerLogin fetch_docker_login(const docker::DomainCredential& domain, CredentialHelperAws& aws);

// The program the credential helper link points at: ASSETCTL_EXECUTABLE when set (the
// self-contained tarball's bin/assetctl wrapper sets it: under its bundled loader
// /proc/self/exe is the loader), else /proc/self/exe.
inline constexpr std::string_view k_executable_variable = "ASSETCTL_EXECUTABLE";
std::filesystem::path assetctl_executable(const util::Environment& env);

// Whether argv[0]'s file name is `docker-credential-cdk-assets`.
bool started_as_credential_helper(std::string_view argv0);

// Gets the login of the configured domain; the caller builds the AWS clients only when asked.
using LoginFetcher = std::function<DockerLogin(const docker::DomainCredential&)>;

// The helper protocol. `get`: reads the server URL from `in`; a server the creds file does not
// list (or no creds file) answers `credentials not found in native keychain` on `out` with exit
// 1 (docker then pulls anonymously); any failure is one line on `out` (docker shows it) and on
// `err`, exit 1. `store`/`erase` are accepted and ignored (exit 0, as cdk-assets), `list` answers
// `{}`; another action is an error (exit 1).
int answer_credential_helper(const std::vector<std::string>& args, std::istream& in,
                             std::ostream& out, std::ostream& err, const util::Environment& env,
                             const LoginFetcher& fetch);

// answer_credential_helper with the real AWS clients (the default credential chain, AWS_PROFILE).
int run_credential_helper(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                          std::ostream& err, const util::Environment& env);

// Points builds at the helper: credHelpers entries for `creds`' domains in `config`, the helper
// (a symlink to this executable) in the config's private bin/ folder, prepended to the PATH of
// every `engine` command, and AWS_PROFILE = `profile` when one was given (the helper runs as a
// child of the engine CLI and reads its AWS settings from the environment).
void use_cdk_docker_creds(const docker::CdkDockerCreds& creds, docker::PrivateDockerConfig& config,
                          docker::EngineClient& engine, const util::Environment& env,
                          const std::optional<std::string>& profile);

}  // namespace assetctl::cli
