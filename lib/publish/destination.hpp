#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "aws/role_cache.hpp"
#include "manifest/model.hpp"

namespace assetctl::publish {

// A destination with its `${AWS::…}` placeholders resolved: where the image goes and as whom.
struct ResolvedDestination {
    std::string region;
    std::string repository;
    std::string tag;
    std::optional<aws::RoleTarget> role;  // the role to assume (STS in `region`), if any
};

// A file destination resolved: the bucket, the key, and as whom.
struct ResolvedFileDestination {
    std::string region;
    std::string bucket;
    std::string key;
    std::optional<aws::RoleTarget> role;
};

// A destination that names no region when no default region is set either.
class NoRegionError : public std::runtime_error {
  public:
    NoRegionError()
        : std::runtime_error(
              "no region: the destination names none and no default region is set; set "
              "AWS_REGION (or the profile's region)") {}
};

// Region: the destination's, else `default_region` (NoRegionError when neither). The account
// comes from `account()`, called only when some field mentions ${AWS::AccountId} (it costs a
// GetCallerIdentity); the partition follows from the region.
ResolvedDestination resolve_destination(const manifest::DockerImageDestination& destination,
                                        const std::optional<std::string>& default_region,
                                        const std::function<std::string()>& account);

// The same rules for a file destination (bucketName, objectKey).
ResolvedFileDestination resolve_file_destination(const manifest::FileDestination& destination,
                                                 const std::optional<std::string>& default_region,
                                                 const std::function<std::string()>& account);

// The account a role ARN belongs to (`arn:<partition>:iam::<account>:role/...`), if it has one.
std::optional<std::string> account_of_role(const std::string& role_arn);

// The account a destination publishes into: its role's account, else the caller's (asked of
// `caller_account` only then; it may throw).
std::string destination_account(const std::optional<aws::RoleTarget>& role,
                                const std::function<std::string()>& caller_account);

// What cdk-assets says, plus the command that fixes it.
std::string not_bootstrapped_message(const std::string& repository, const std::string& account,
                                     const std::string& region);

}  // namespace assetctl::publish
