#include "cli/aws_setup.hpp"

#include <spdlog/spdlog.h>

#include "aws/shared_config.hpp"
#include "aws/sts.hpp"
#include "http/retry.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"
#include "util/version.hpp"

namespace assetctl::cli {
namespace {

std::string region_origin(const util::Environment& env, const aws::ProfileSelection& profile) {
    if (env.get_non_empty("AWS_REGION")) {
        return "AWS_REGION";
    }
    if (env.get_non_empty("AWS_DEFAULT_REGION")) {
        return "AWS_DEFAULT_REGION";
    }
    return "profile " + profile.name;
}

// ASSETCTL_HTTP_STALL_TIMEOUT: whole seconds, 0 for none; the default when unset.
std::chrono::seconds stall_timeout(const util::Environment& env) {
    const auto text = env.get_non_empty("ASSETCTL_HTTP_STALL_TIMEOUT");
    if (!text) {
        return http::k_default_stall_timeout;
    }
    constexpr std::uint64_t k_one_day = 86'400;
    const auto value = util::parse_whole_number(*text);
    if (!value || *value > k_one_day) {
        throw util::Fatal(util::ExitCode::usage,
                          "ASSETCTL_HTTP_STALL_TIMEOUT=" + *text + " is not a number of seconds",
                          "give whole seconds from 0 (no stall limit) to 86400, e.g. 60");
    }
    return std::chrono::seconds(*value);
}

}  // namespace

AwsSetup::AwsSetup(const util::Environment& env, const std::optional<std::string>& profile) {
    http::ClientOptions http_options;
    http_options.user_agent = "assetctl/" + std::string(util::version());
    http::RetryPolicy retry;

    // A broken config file must not stop doctor from reporting it: the credential chain reads
    // the same files and reports the error as its own.
    try {
        const auto config = aws::SharedConfig::load(env);
        const auto selection = aws::select_profile(env, profile);
        default_region_ = aws::resolve_default_region(env, config, selection);
        if (default_region_) {
            region_source_ = region_origin(env, selection);
        }
        if (auto attempts = aws::resolve_max_attempts(env, config, selection)) {
            // Asked for explicitly: throttled answers get exactly that many too.
            retry.max_attempts = *attempts;
            retry.throttle_attempts = *attempts;
        }
        http_options.ca_bundle = aws::resolve_ca_bundle(env, config, selection);
    } catch (const aws::CredentialsError& e) {
        region_source_ = e.what();
        spdlog::debug("AWS configuration: {}", e.what());
    }

    http_options.ssl_cert_file = env.get_non_empty("SSL_CERT_FILE");
    http_options.stall_timeout = stall_timeout(env);
    http_ = http::make_curl_client(http_options);
    processes_ = process::make_system_runner();
    runtime_ =
        std::make_unique<aws::AwsRuntime>(*http_, clock_, sleeper_, retry, http::random_jitter());
    const auto endpoints = aws::endpoint_settings_from(env);
    sts_ = std::make_unique<aws::StsClient>(*runtime_, endpoints, default_region_.value_or(""));
    ecr_ = std::make_unique<aws::EcrClient>(*runtime_, endpoints);
    s3_ = std::make_unique<aws::S3Client>(*runtime_, endpoints);
    credentials_ = aws::make_default_credentials_chain(
        {env, clock_, *http_, *processes_, *sts_, profile, &sleeper_});
    roles_ = std::make_unique<aws::AssumedRoleCache>(
        *sts_, clock_, aws::sts_session_name(aws::default_session_user(env)));
}

AwsSetup::~AwsSetup() = default;

}  // namespace assetctl::cli
