#include "publish/destination.hpp"

#include "aws/partitions.hpp"
#include "manifest/placeholders.hpp"

namespace assetctl::publish {
namespace {

bool mentions_account(const std::optional<std::string>& text) {
    return text && text->find("${AWS::AccountId}") != std::string::npos;
}

}  // namespace

ResolvedDestination resolve_destination(const manifest::DockerImageDestination& destination,
                                        const std::optional<std::string>& default_region,
                                        const std::function<std::string()>& account) {
    const auto region = destination.region ? destination.region : default_region;
    if (!region) {
        throw NoRegionError();
    }
    manifest::PlaceholderValues values{std::nullopt, *region, aws::partition_for_region(*region)};
    if (mentions_account(destination.repository_name) || mentions_account(destination.image_tag) ||
        mentions_account(destination.assume_role_arn) ||
        mentions_account(destination.assume_role_external_id)) {
        values.account = account();
    }
    ResolvedDestination resolved;
    resolved.region = *region;
    resolved.repository = manifest::resolve_placeholders(destination.repository_name, values);
    resolved.tag = manifest::resolve_placeholders(destination.image_tag, values);
    if (destination.assume_role_arn) {
        aws::RoleTarget role;
        role.role_arn = manifest::resolve_placeholders(*destination.assume_role_arn, values);
        if (destination.assume_role_external_id) {
            role.external_id =
                manifest::resolve_placeholders(*destination.assume_role_external_id, values);
        }
        if (destination.assume_role_additional_options) {
            role.additional_options = *destination.assume_role_additional_options;
        }
        role.region = *region;
        resolved.role = std::move(role);
    }
    return resolved;
}

std::string not_bootstrapped_message(const std::string& repository, const std::string& account,
                                     const std::string& region) {
    return "No ECR repository named '" + repository + "' in account " + account + " (" + region +
           "). Is this account bootstrapped? Run `cdk bootstrap aws://" + account + "/" + region +
           "`.";
}

}  // namespace assetctl::publish
