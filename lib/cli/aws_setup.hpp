#pragma once

#include <memory>
#include <optional>
#include <string>

#include "aws/credential_providers.hpp"
#include "aws/ecr_client.hpp"
#include "aws/role_cache.hpp"
#include "aws/s3_client.hpp"
#include "aws/service_call.hpp"
#include "aws/services.hpp"
#include "aws/sts_client.hpp"
#include "http/http_client.hpp"
#include "http/retry.hpp"
#include "process/process_runner.hpp"
#include "util/clock.hpp"
#include "util/environment.hpp"
#include "util/sleeper.hpp"

namespace assetctl::cli {

// The composition root for AWS work: the real HTTP client, clock, STS, ECR and S3 clients, the
// default credential chain and the assumed-role cache, configured from the environment and
// shared config files the way the AWS SDKs are.
class AwsSetup {
  public:
    AwsSetup(const util::Environment& env, const std::optional<std::string>& profile);
    ~AwsSetup();

    aws::CredentialsProvider& credentials() { return *credentials_; }
    aws::StsApi& sts() { return *sts_; }
    aws::EcrApi& ecr() { return *ecr_; }
    aws::AssumedRoleCache& roles() { return *roles_; }
    aws::S3Api& s3() { return *s3_; }
    // The five above and the default region, as doctor and publish take them.
    aws::Services services() {
        return {.credentials = credentials(),
                .sts = sts(),
                .ecr = ecr(),
                .roles = roles(),
                .s3 = s3_.get(),
                .default_region = default_region()};
    }
    process::ProcessRunner& processes() { return *processes_; }
    // For AWS clients made elsewhere (the credential helper's Secrets Manager client).
    aws::AwsRuntime& runtime() { return *runtime_; }
    // For other HTTPS clients (the registry): same connections, CA bundle and retry policy.
    http::HttpClient& http() { return *http_; }
    const util::Clock& clock() const { return clock_; }
    http::RetryContext retry() const {
        return {runtime_->retry, runtime_->sleeper, runtime_->jitter};
    }

    const std::optional<std::string>& default_region() const { return default_region_; }
    // Where the default region came from ("AWS_REGION", "profile ci"), or why none could be
    // read (a broken config file).
    const std::string& region_source() const { return region_source_; }

  private:
    util::SystemClock clock_;
    util::ThreadSleeper sleeper_;
    std::optional<std::string> default_region_;
    std::string region_source_;
    std::unique_ptr<http::HttpClient> http_;
    std::unique_ptr<process::ProcessRunner> processes_;
    std::unique_ptr<aws::AwsRuntime> runtime_;
    std::unique_ptr<aws::StsClient> sts_;
    std::unique_ptr<aws::EcrClient> ecr_;
    std::unique_ptr<aws::S3Client> s3_;
    std::unique_ptr<aws::CredentialsProvider> credentials_;
    std::unique_ptr<aws::AssumedRoleCache> roles_;
};

}  // namespace assetctl::cli
