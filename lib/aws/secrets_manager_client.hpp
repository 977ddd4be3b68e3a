#pragma once

#include "aws/endpoints.hpp"
#include "aws/secrets_manager.hpp"
#include "aws/service_call.hpp"

namespace assetctl::aws {

// Secrets Manager over its JSON 1.1 protocol (`X-Amz-Target: secretsmanager.<Op>`, signing name
// `secretsmanager`), endpoint from secrets_manager_endpoint().
class SecretsManagerClient final : public SecretsManagerApi {
  public:
    SecretsManagerClient(AwsRuntime& runtime, EndpointSettings endpoints);

    SecretValue get_secret_value(const AwsCredentials& caller, const std::string& region,
                                 const std::string& secret_id) override;

  private:
    AwsRuntime& runtime_;
    EndpointSettings endpoints_;
};

}  // namespace assetctl::aws
