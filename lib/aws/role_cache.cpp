#include "aws/role_cache.hpp"

#include <spdlog/spdlog.h>

namespace assetctl::aws {

AssumedRoleCache::AssumedRoleCache(StsApi& sts, const util::Clock& clock, std::string session_name)
    : sts_(sts), clock_(clock), session_name_(std::move(session_name)) {}

AwsCredentials AssumedRoleCache::credentials_for(const AwsCredentials& caller,
                                                 const RoleTarget& target) {
    // The key holds no secret: the caller's access key id identifies the identity.
    const std::string key = caller.keys.access_key_id + "\n" + target.role_arn + "\n" +
                            target.external_id.value_or("") + "\n" +
                            target.additional_options.dump() + "\n" + target.region.value_or("");
    const auto entry = entries_.get(key);
    std::lock_guard lock(entry->mutex);
    const auto now = clock_.now();
    if (entry->credentials &&
        (!entry->credentials->expiration ||
         now < *entry->credentials->expiration - k_credentials_refresh_margin)) {
        return *entry->credentials;
    }
    AssumeRoleRequest request;
    request.role_arn = target.role_arn;
    request.session_name = session_name_;
    request.external_id = target.external_id;
    request.additional_options = target.additional_options;
    request.region = target.region;
    entry->credentials = sts_.assume_role(caller, request);
    ++assume_count_;
    spdlog::debug("assumed {}", target.role_arn);
    return *entry->credentials;
}

std::size_t AssumedRoleCache::assume_count() const {
    return assume_count_;
}

}  // namespace assetctl::aws
