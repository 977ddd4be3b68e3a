#pragma once

#include <optional>
#include <string>

#include "aws/credentials.hpp"
#include "aws/ecr.hpp"
#include "aws/role_cache.hpp"
#include "aws/sts.hpp"

namespace assetctl::aws {

// The AWS side of a command, as `doctor` and `publish` both use it: the caller's credentials,
// STS and ECR, the per-role cache, and the region a destination without one goes to.
struct Services {
    CredentialsProvider& credentials;
    StsApi& sts;
    EcrApi& ecr;
    AssumedRoleCache& roles;
    std::optional<std::string> default_region;
};

}  // namespace assetctl::aws
