#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/credentials.hpp"
#include "aws/shared_config.hpp"
#include "aws/sts.hpp"
#include "http/http_client.hpp"
#include "process/process_runner.hpp"
#include "util/clock.hpp"
#include "util/environment.hpp"
#include "util/sleeper.hpp"

// The default credential chain of the AWS SDKs (botocore's create_credential_resolver is the
// reference), as small providers behind CredentialsProvider, a chain, and a cache around it:
//
//   environment -> shared config files (profile) -> web identity (env) -> ECS container -> EC2
//
// Differences from botocore, all deliberate: SSO profiles are reported as unsupported instead
// of used; IMDS is IMDSv2 only; the env web identity provider comes after the whole profile (the
// Rust SDK's order), where botocore puts it between a profile's role_arn and its static keys.

namespace assetctl::aws {

// --- Helpers -------------------------------------------------------------------------------

// Timestamps (Expiration) are parsed by util::parse_iso8601 (util/time.hpp), the project's one
// ISO 8601 parser.

// Splits a command line into argv the way a POSIX shell splits words, without running one and
// without expansions: blanks separate words; '...' is literal; "..." is literal except that a
// backslash escapes `"`, `\`, `$`, and backquote (and removes a newline); outside quotes a
// backslash escapes any character (a backslash-newline disappears); adjacent parts join
// (`a"b c"` is one word); `''` is an empty word. Throws std::invalid_argument for an unclosed
// quote or a trailing backslash.
std::vector<std::string> split_command_line(std::string_view command);

// The user for default role session names: USER, else LOGNAME, else "ci".
std::string default_session_user(const util::Environment& env);

// True for the FULL_URI hosts the container provider may call: any https URL, and over http
// loopback (127.0.0.0/8, [::1], localhost), the ECS (169.254.170.2) and EKS Pod Identity
// (169.254.170.23, [fd00:ec2::23]) agents.
bool is_allowed_container_uri(std::string_view url);

inline constexpr std::chrono::milliseconds k_credential_process_timeout{60'000};
inline constexpr std::string_view k_ecs_relative_uri_host = "http://169.254.170.2";
inline constexpr std::chrono::milliseconds k_container_timeout{2'000};
inline constexpr int k_container_attempts = 3;
inline constexpr std::chrono::milliseconds k_container_retry_delay{1'000};
inline constexpr std::string_view k_imds_endpoint = "http://169.254.169.254";
inline constexpr std::string_view k_imds_endpoint_ipv6 = "http://[fd00:ec2::254]";
inline constexpr std::chrono::milliseconds k_imds_timeout{1'000};
inline constexpr int k_imds_attempts = 2;  // one attempt and one retry
inline constexpr std::string_view k_imds_token_ttl_seconds = "21600";

// --- Providers -----------------------------------------------------------------------------

// Always "does not apply" with a fixed reason: stands in for a provider the configuration
// turns off (botocore drops the environment providers when --profile is given).
class DisabledProvider final : public CredentialsProvider {
  public:
    DisabledProvider(std::string name, std::string reason)
        : name_(std::move(name)), reason_(std::move(reason)) {}
    std::string name() const override { return name_; }
    ProviderResult resolve() override { return {std::nullopt, reason_}; }

  private:
    std::string name_;
    std::string reason_;
};

// AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN (AWS_SECURITY_TOKEN,
// the legacy name, as a fallback) and AWS_CREDENTIAL_EXPIRATION. Empty values count as unset.
// Only one of the pair set is a CredentialsError naming the missing one.
class EnvironmentProvider final : public CredentialsProvider {
  public:
    explicit EnvironmentProvider(const util::Environment& env) : env_(env) {}
    std::string name() const override { return "environment"; }
    ProviderResult resolve() override;

  private:
    const util::Environment& env_;
};

// AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME): AssumeRoleWithWebIdentity.
// The token file is read on every resolve (the platform rotates it).
class WebIdentityEnvProvider final : public CredentialsProvider {
  public:
    WebIdentityEnvProvider(const util::Environment& env, StsApi& sts) : env_(env), sts_(sts) {}
    std::string name() const override { return "web identity"; }
    ProviderResult resolve() override;

  private:
    const util::Environment& env_;
    StsApi& sts_;
};

// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (wins, on http://169.254.170.2) or
// AWS_CONTAINER_CREDENTIALS_FULL_URI (see is_allowed_container_uri), with an Authorization
// header from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (preferred, read on every resolve) or
// AWS_CONTAINER_AUTHORIZATION_TOKEN. Up to k_container_attempts attempts for transport errors,
// 5xx and 429, k_container_retry_delay apart.
class ContainerProvider final : public CredentialsProvider {
  public:
    ContainerProvider(const util::Environment& env, http::HttpClient& http, util::Sleeper& sleeper)
        : env_(env), http_(http), sleeper_(sleeper) {}
    std::string name() const override { return "ECS container"; }
    ProviderResult resolve() override;

  private:
    const util::Environment& env_;
    http::HttpClient& http_;
    util::Sleeper& sleeper_;
};

// EC2 instance metadata, IMDSv2 only (no IMDSv1 fallback): PUT /latest/api/token, then the
// role name and its credentials. Endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT, else
// AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 picks k_imds_endpoint_ipv6; off with
// AWS_EC2_METADATA_DISABLED=true. Each request has k_imds_timeout and k_imds_attempts, so a
// machine without IMDS loses at most a few seconds. Does not apply when nothing answers, the
// token is refused (403: metadata turned off) or no role is attached (404); an instance that
// has a role but cannot hand out its credentials is a CredentialsError.
class InstanceMetadataProvider final : public CredentialsProvider {
  public:
    InstanceMetadataProvider(const util::Environment& env, http::HttpClient& http)
        : env_(env), http_(http) {}
    std::string name() const override { return "EC2 instance metadata"; }
    ProviderResult resolve() override;

  private:
    const util::Environment& env_;
    http::HttpClient& http_;
};

// The providers `credential_source` may name (canonical names `Environment`,
// `Ec2InstanceMetadata`, `EcsContainer`, matched case-insensitively as botocore does). A null
// one makes that name unsupported.
struct CredentialSources {
    std::unique_ptr<CredentialsProvider> environment;
    std::unique_ptr<CredentialsProvider> ec2_instance_metadata;
    std::unique_ptr<CredentialsProvider> ecs_container;
};

// The selected profile of the shared files, read again on every resolve. In botocore's order
// for one profile:
//   role_arn (without web_identity_token_file): AssumeRole with credentials from
//     source_profile (a chain of any length; a profile may name itself to use its own static
//     keys) or credential_source, plus external_id, role_session_name (default
//     sts_session_name(default_session_user)) and duration_seconds;
//   web_identity_token_file + role_arn: AssumeRoleWithWebIdentity;
//   sso_* keys: a CredentialsError (IAM Identity Center is not supported);
//   static keys from the credentials file; credential_process; static keys from the config file.
// A source profile resolves the same way except that static keys win over its role_arn.
// Does not apply when the profile is missing (and was not chosen explicitly) or holds none of
// these; everything else that goes wrong is a CredentialsError naming the profile.
class SharedProfileProvider final : public CredentialsProvider {
  public:
    SharedProfileProvider(const util::Environment& env, process::ProcessRunner& processes,
                          StsApi& sts, ProfileSelection selection, CredentialSources sources);
    std::string name() const override { return "shared config files"; }
    ProviderResult resolve() override;

  private:
    const util::Environment& env_;
    process::ProcessRunner& processes_;
    StsApi& sts_;
    ProfileSelection selection_;
    CredentialSources sources_;
};

// --- The chain and the cache ---------------------------------------------------------------

// No provider had credentials. what() lists every provider with its reason and ends with
// hint(); reasons() holds the pairs (provider name, reason) for callers that format them.
class NoCredentialsError : public CredentialsError {
  public:
    explicit NoCredentialsError(std::vector<std::pair<std::string, std::string>> reasons);
    const std::vector<std::pair<std::string, std::string>>& reasons() const { return reasons_; }
    const std::string& hint() const { return hint_; }

  private:
    std::vector<std::pair<std::string, std::string>> reasons_;
    std::string hint_;
};

// Tries providers in order; the first with credentials wins and is remembered: the next
// resolve (a refresh) asks it first and walks the whole chain only if it no longer applies.
// A CredentialsError stops the chain. When no provider applies, throws NoCredentialsError.
class CredentialsChain final : public CredentialsProvider {
  public:
    explicit CredentialsChain(std::vector<std::unique_ptr<CredentialsProvider>> providers);
    std::string name() const override { return "credential chain"; }
    ProviderResult resolve() override;

    // The name of the provider that answered last, if any.
    std::optional<std::string> last_provider() const;

  private:
    std::optional<AwsCredentials> try_provider(std::size_t index, std::string& reason);

    std::vector<std::unique_ptr<CredentialsProvider>> providers_;
    std::atomic<int> last_{-1};
};

// Hands out the inner provider's credentials until `expiration - k_credentials_refresh_margin`
// and then resolves again; credentials without an expiration are kept for good. Safe to call
// from several threads: one refresh runs at a time and the others wait for its result.
// Failures and "does not apply" are not cached.
class CachingCredentialsProvider final : public CredentialsProvider {
  public:
    CachingCredentialsProvider(std::unique_ptr<CredentialsProvider> inner,
                               const util::Clock& clock);
    std::string name() const override { return inner_->name(); }
    ProviderResult resolve() override;

    // The credentials, or CredentialsError (the inner reason) when the inner provider has none.
    AwsCredentials credentials();
    // Drops the cached credentials, e.g. after a service answered ExpiredToken.
    void invalidate();

  private:
    std::unique_ptr<CredentialsProvider> inner_;
    const util::Clock& clock_;
    std::mutex mutex_;
    std::optional<AwsCredentials> cached_;
};

struct ChainDependencies {
    const util::Environment& environment;
    const util::Clock& clock;
    http::HttpClient& http;
    process::ProcessRunner& processes;
    StsApi& sts;
    // --profile. When set, the environment and env web identity providers are skipped (as
    // botocore does): an explicit profile beats AWS_ACCESS_KEY_ID in the environment.
    std::optional<std::string> profile_override;
    // Waits between ECS container retries; nullptr sleeps for real.
    util::Sleeper* sleeper = nullptr;
};

// environment, shared config files, web identity, ECS container, EC2 instance metadata; in a
// cache. Keep `dependencies`' referents alive as long as the result.
std::unique_ptr<CachingCredentialsProvider> make_default_credentials_chain(
    const ChainDependencies& dependencies);

// --- Region and other settings ------------------------------------------------------------

// AWS_REGION, then AWS_DEFAULT_REGION, then the profile's `region`; nullopt if none. Throws
// SharedConfigError when it gets to the profile and an explicitly chosen one does not exist.
std::optional<std::string> resolve_default_region(const util::Environment& env,
                                                  const SharedConfig& config,
                                                  const ProfileSelection& profile);

// AWS_MAX_ATTEMPTS, then the profile's `max_attempts`: a whole number >= 1, else
// SharedConfigError naming where it came from.
std::optional<int> resolve_max_attempts(const util::Environment& env, const SharedConfig& config,
                                        const ProfileSelection& profile);

// AWS_CA_BUNDLE, then the profile's `ca_bundle` (a PEM file path, used as written).
std::optional<std::string> resolve_ca_bundle(const util::Environment& env,
                                             const SharedConfig& config,
                                             const ProfileSelection& profile);

}  // namespace assetctl::aws
