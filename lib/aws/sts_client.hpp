#pragma once

#include <string>

#include "aws/endpoints.hpp"
#include "aws/service_call.hpp"
#include "aws/sts.hpp"

namespace assetctl::aws {

// STS over its query protocol (form POST, XML answers), regional endpoints.
class StsClient final : public StsApi {
  public:
    // `default_region`: where to call STS when a request names no region (us-east-1 if empty).
    StsClient(AwsRuntime& runtime, EndpointSettings endpoints, std::string default_region);

    AwsCredentials assume_role(const AwsCredentials& caller,
                               const AssumeRoleRequest& request) override;
    AwsCredentials assume_role_with_web_identity(const WebIdentityRequest& request) override;
    CallerIdentity get_caller_identity(const AwsCredentials& caller,
                                       const std::optional<std::string>& region) override;

  private:
    std::string region_or_default(const std::optional<std::string>& region) const;

    AwsRuntime& runtime_;
    EndpointSettings endpoints_;
    std::string default_region_;
};

// The query-protocol form of STS parameters given as JSON (assumeRoleAdditionalOptions):
// objects nest with `.`, lists become `Name.member.N`, scalars are written as text.
// {"Tags": [{"Key": "a", "Value": "b"}]} -> Tags.member.1.Key=a, Tags.member.1.Value=b
std::vector<std::pair<std::string, std::string>> flatten_query_parameters(
    const nlohmann::ordered_json& options);

}  // namespace assetctl::aws
