#include "cli/environment_variables.hpp"

#include <array>

namespace assetctl::cli {
namespace {

constexpr std::array k_environment = std::to_array<EnvironmentVariable>({
    {"AWS_ACCESS_KEY_ID", "Access key of the credentials from the environment."},
    {"AWS_SECRET_ACCESS_KEY", "Secret key of the credentials from the environment."},
    {"AWS_SESSION_TOKEN", "Session token of temporary credentials from the environment."},
    {"AWS_SECURITY_TOKEN", "Older name of AWS_SESSION_TOKEN, read when that is unset."},
    {"AWS_CREDENTIAL_EXPIRATION",
     "When the credentials from the environment expire (ISO 8601), if they do."},
    {"AWS_PROFILE", "The profile of the shared files (overridden by --profile)."},
    {"AWS_CONFIG_FILE", "The shared config file (default ~/.aws/config)."},
    {"AWS_SHARED_CREDENTIALS_FILE", "The shared credentials file (default ~/.aws/credentials)."},
    {"AWS_REGION", "The default region, for destinations that name none."},
    {"AWS_DEFAULT_REGION", "The default region when AWS_REGION is unset."},
    {"AWS_WEB_IDENTITY_TOKEN_FILE",
     "With AWS_ROLE_ARN: web identity credentials (AssumeRoleWithWebIdentity)."},
    {"AWS_ROLE_ARN", "The role assumed with the web identity token."},
    {"AWS_ROLE_SESSION_NAME", "The session name of the web identity role."},
    {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "ECS container credentials at 169.254.170.2."},
    {"AWS_CONTAINER_CREDENTIALS_FULL_URI", "Container credentials at this URL."},
    {"AWS_CONTAINER_AUTHORIZATION_TOKEN",
     "The Authorization header sent to the container credentials URL."},
    {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
     "A file holding that header (read on every refresh)."},
    {"AWS_EC2_METADATA_DISABLED", "true: never ask EC2 instance metadata (IMDSv2)."},
    {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "The instance metadata endpoint."},
    {"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv4 (default) or IPv6 instance metadata."},
    {"AWS_MAX_ATTEMPTS",
     "Attempts per AWS or registry request, retries included (default 3, and 8 for throttled "
     "answers; when set, throttled answers get this many too)."},
    {"AWS_CA_BUNDLE", "Extra CA certificates (PEM) trusted for AWS endpoints and registries."},
    {"AWS_USE_FIPS_ENDPOINT", "true: FIPS endpoints."},
    {"AWS_USE_DUALSTACK_ENDPOINT", "true: dual-stack (IPv6) endpoints."},
    {"AWS_ENDPOINT_URL", "One endpoint URL for every AWS service."},
    {"AWS_ENDPOINT_URL_ECR", "The ECR endpoint URL."},
    {"AWS_ENDPOINT_URL_STS", "The STS endpoint URL."},
    {"AWS_ENDPOINT_URL_S3", "The S3 endpoint URL (addressed path style)."},
    {"AWS_ENDPOINT_URL_SECRETS_MANAGER",
     "The Secrets Manager endpoint URL (docker credentials of CDK Pipelines)."},
    {"AWS_S3_FORCE_PATH_STYLE", "true or 1: address S3 buckets path style."},
    {"CDK_S3_FORCE_PATH_STYLE", "The same, as cdk-assets names it."},
    {"HTTPS_PROXY", "Proxy for HTTPS requests (also https_proxy)."},
    {"HTTP_PROXY", "Proxy for plain HTTP requests (also http_proxy)."},
    {"NO_PROXY", "Hosts reached without the proxy (also no_proxy)."},
    {"CDK_DOCKER", "The container engine executable (default docker; overridden by --docker)."},
    {"DOCKER_CONFIG",
     "Your docker configuration folder; engine logins go into a private copy of it."},
    {"REGISTRY_AUTH_FILE",
     "podman's login file: when assetctl logs the engine in, the engine gets a private copy."},
    {"CDK_DOCKER_CREDS_FILE",
     "CDK Pipelines' docker credentials (default ~/.cdk/cdk-docker-creds.json)."},
    {"XDG_CACHE_HOME", "The layer cache lives in $XDG_CACHE_HOME/assetctl (default ~/.cache)."},
    {"ASSETCTL_CACHE_MAX_BYTES",
     "Size above which the least recently used cached layers are removed (default 10 GiB)."},
    {"ASSETCTL_HTTP_STALL_TIMEOUT",
     "Seconds an HTTP request may send and receive nothing before it fails and is retried "
     "(default 60; 0: no limit but each request's total timeout)."},
    {"TMPDIR", "Where private temporary folders are made (default /tmp)."},
    {"NO_COLOR", "Set and not empty: no colour in logs and progress."},
    {"TERM", "dumb: no colour, and plain progress lines instead of the live view."},
    {"SSL_CERT_FILE",
     "A CA bundle for TLS when AWS_CA_BUNDLE and the profile's ca_bundle name none."},
    {"GITHUB_ACTIONS", "true: an ::error annotation per failed asset and destination."},
    {"GITHUB_STEP_SUMMARY", "A file the Markdown summary of build and publish is appended to."},
    {"HOME", "Where ~ is: ~/.aws, ~/.docker, ~/.cache, ~/.cdk."},
});

}  // namespace

std::span<const EnvironmentVariable> documented_environment() {
    return k_environment;
}

}  // namespace assetctl::cli
