#pragma once

#include <optional>
#include <string>

#include "aws/credentials.hpp"
#include "aws/ecr.hpp"
#include "aws/role_cache.hpp"
#include "aws/s3.hpp"
#include "aws/sts.hpp"

namespace assetctl::aws {

// The AWS side of a command, as `doctor` and `publish` both use it: the caller's credentials,
// STS, ECR and S3, the per-role cache, and the region a destination without one goes to.
struct Services {
    CredentialsProvider& credentials;
    StsApi& sts;
    EcrApi& ecr;
    AssumedRoleCache& roles;
    S3Api* s3 = nullptr;  // file assets; null where none are published (doctor)
    std::optional<std::string> default_region;
};

}  // namespace assetctl::aws
