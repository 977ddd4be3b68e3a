#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "aws/credentials.hpp"
#include "aws/sts.hpp"
#include "util/clock.hpp"
#include "util/per_key.hpp"

namespace assetctl::aws {

// A role to publish as: a destination's assumeRoleArn with its external id and extra options.
struct RoleTarget {
    std::string role_arn;
    std::optional<std::string> external_id;
    nlohmann::ordered_json additional_options = nlohmann::ordered_json::object();
    std::optional<std::string> region;  // the STS region (the destination's)
};

// Assumed-role credentials, one AssumeRole per (caller, role, external id, options) and
// refreshed k_credentials_refresh_margin before they expire. Many destinations share a role
// (CDK's image-publishing role per account and region), so this is what keeps publish from
// calling STS once per asset as cdk-assets does. Thread-safe; concurrent callers for the same
// role wait for one AssumeRole.
class AssumedRoleCache {
  public:
    AssumedRoleCache(StsApi& sts, const util::Clock& clock, std::string session_name);

    AwsCredentials credentials_for(const AwsCredentials& caller, const RoleTarget& target);

    // How many AssumeRole calls were made (for reports and tests).
    std::size_t assume_count() const;

  private:
    struct Entry {
        std::mutex mutex;
        std::optional<AwsCredentials> credentials;
    };

    StsApi& sts_;
    const util::Clock& clock_;
    std::string session_name_;
    util::PerKey<Entry> entries_;
    std::atomic<std::size_t> assume_count_{0};
};

}  // namespace assetctl::aws
