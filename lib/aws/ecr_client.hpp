#pragma once

#include <map>
#include <mutex>
#include <tuple>

#include <nlohmann/json.hpp>

#include "aws/ecr.hpp"
#include "aws/endpoints.hpp"
#include "aws/service_call.hpp"

namespace assetctl::aws {

// ECR over its JSON 1.1 protocol. Authorization tokens are cached per (endpoint, access key)
// until half their lifetime has passed, as the token is valid for 12 hours and asking again
// costs a round trip per registry.
class EcrClient final : public EcrApi {
  public:
    EcrClient(AwsRuntime& runtime, EndpointSettings endpoints);

    RegistryAuthorization get_authorization_token(const AwsCredentials& caller,
                                                  const std::string& region) override;
    void forget_authorization_token(const AwsCredentials& caller, const std::string& region,
                                    const std::string& password) override;
    std::optional<Repository> describe_repository(const AwsCredentials& caller,
                                                  const std::string& region,
                                                  const std::string& name) override;
    std::optional<ImageDetail> describe_image(const AwsCredentials& caller,
                                              const std::string& region,
                                              const std::string& repository,
                                              const std::string& tag) override;
    ImageLookup batch_get_image(const AwsCredentials& caller, const std::string& region,
                                const std::string& repository,
                                const std::vector<std::string>& tags) override;
    std::vector<LayerAvailability> batch_check_layer_availability(
        const AwsCredentials& caller, const std::string& region, const std::string& repository,
        const std::vector<std::string>& digests) override;
    Repository create_repository(const AwsCredentials& caller, const std::string& region,
                                 const std::string& name) override;

  private:
    // Tokens are cached per (endpoint and region, access key).
    std::tuple<std::string, std::string> token_key(const AwsCredentials& caller,
                                                   const std::string& region) const;
    nlohmann::json call(const AwsCredentials& caller, const std::string& region,
                        const std::string& operation, const nlohmann::json& body);

    struct CachedToken {
        RegistryAuthorization authorization;
        std::chrono::system_clock::time_point refresh_after;
    };

    AwsRuntime& runtime_;
    EndpointSettings endpoints_;
    std::mutex mutex_;
    std::map<std::tuple<std::string, std::string>, CachedToken> tokens_;
};

}  // namespace assetctl::aws
