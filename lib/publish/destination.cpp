#include "publish/destination.hpp"

#include <initializer_list>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "aws/partitions.hpp"
#include "manifest/names.hpp"
#include "manifest/placeholders.hpp"

namespace assetctl::publish {
namespace {

bool mentions_account(const std::optional<std::string>& text) {
    return text && text->find("${AWS::AccountId}") != std::string::npos;
}

bool mentions_account(const std::string& text) {
    return text.find("${AWS::AccountId}") != std::string::npos;
}

// What resolving any destination needs: its region and the placeholder values.
struct Resolver {
    std::string region;
    manifest::PlaceholderValues values;

    std::string operator()(const std::string& text) const {
        return manifest::resolve_placeholders(text, values);
    }
};

// `fields` are the destination's own strings: the account is asked for only when one of them,
// or the role, mentions ${AWS::AccountId}.
Resolver make_resolver(const manifest::AwsDestination& destination,
                       const std::optional<std::string>& default_region,
                       const std::function<std::string()>& account,
                       std::initializer_list<const std::string*> fields) {
    const auto region = destination.region ? destination.region : default_region;
    if (!region) {
        throw NoRegionError();
    }
    Resolver resolver{*region, {std::nullopt, *region, aws::partition_for_region(*region)}};
    bool needs_account = mentions_account(destination.assume_role_arn) ||
                         mentions_account(destination.assume_role_external_id);
    for (const auto* field : fields) {
        needs_account = needs_account || mentions_account(*field);
    }
    if (needs_account) {
        resolver.values.account = account();
    }
    return resolver;
}

std::optional<aws::RoleTarget> resolve_role(const manifest::AwsDestination& destination,
                                            const Resolver& resolve) {
    if (!destination.assume_role_arn) {
        return std::nullopt;
    }
    aws::RoleTarget role;
    role.role_arn = resolve(*destination.assume_role_arn);
    if (destination.assume_role_external_id) {
        role.external_id = resolve(*destination.assume_role_external_id);
    }
    if (destination.assume_role_additional_options) {
        role.additional_options = *destination.assume_role_additional_options;
    }
    role.region = resolve.region;
    return role;
}

// A resolved name must still follow its grammar (a placeholder's value could break it).
void check_resolved(const std::string& field, const std::string& value,
                    std::optional<std::string> (*problem_of)(std::string_view)) {
    if (const auto problem = problem_of(value)) {
        throw std::runtime_error(field + " resolves to " + nlohmann::json(value).dump() + ": " +
                                 *problem + "; fix the destination in the CDK app");
    }
}

}  // namespace

ResolvedDestination resolve_destination(const manifest::DockerImageDestination& destination,
                                        const std::optional<std::string>& default_region,
                                        const std::function<std::string()>& account) {
    const auto resolve = make_resolver(destination, default_region, account,
                                       {&destination.repository_name, &destination.image_tag});
    ResolvedDestination resolved{resolve.region, resolve(destination.repository_name),
                                 resolve(destination.image_tag),
                                 resolve_role(destination, resolve)};
    check_resolved("repositoryName", resolved.repository, manifest::repository_name_problem);
    check_resolved("imageTag", resolved.tag, manifest::image_tag_problem);
    return resolved;
}

ResolvedFileDestination resolve_file_destination(const manifest::FileDestination& destination,
                                                 const std::optional<std::string>& default_region,
                                                 const std::function<std::string()>& account) {
    const auto resolve = make_resolver(destination, default_region, account,
                                       {&destination.bucket_name, &destination.object_key});
    ResolvedFileDestination resolved{resolve.region, resolve(destination.bucket_name),
                                     resolve(destination.object_key),
                                     resolve_role(destination, resolve)};
    check_resolved("bucketName", resolved.bucket, manifest::bucket_name_problem);
    check_resolved("objectKey", resolved.key, manifest::object_key_problem);
    return resolved;
}

std::optional<std::string> account_of_role(const std::string& role_arn) {
    // arn:<partition>:iam::<account>:role/<name>
    const auto start = role_arn.find(":iam::");
    if (role_arn.rfind("arn:", 0) != 0 || start == std::string::npos) {
        return std::nullopt;
    }
    const auto account = role_arn.substr(start + 6, role_arn.find(':', start + 6) - start - 6);
    if (account.size() != 12 || account.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    return account;
}

std::string destination_account(const std::optional<aws::RoleTarget>& role,
                                const std::function<std::string()>& caller_account) {
    if (role) {
        if (auto account = account_of_role(role->role_arn)) {
            return *account;
        }
    }
    return caller_account();
}

std::string not_bootstrapped_message(const std::string& repository, const std::string& account,
                                     const std::string& region) {
    return "No ECR repository named '" + repository + "' in account " + account + " (" + region +
           "). Is this account bootstrapped? Run `cdk bootstrap aws://" + account + "/" + region +
           "`.";
}

}  // namespace assetctl::publish
