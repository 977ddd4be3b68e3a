#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "aws/credentials.hpp"

namespace assetctl::aws {

// A registry login from GetAuthorizationToken: Basic credentials for the registry host.
struct RegistryAuthorization {
    std::string username;        // "AWS"
    std::string password;        // a secret
    std::string proxy_endpoint;  // https://<account>.dkr.ecr.<region>.amazonaws.com
    std::chrono::system_clock::time_point expires_at;
};

struct Repository {
    std::string name;
    std::string uri;  // <registry host>/<name>
    std::string registry_id;
    std::string arn;
    std::string tag_mutability;  // MUTABLE | IMMUTABLE
};

struct ImageDetail {
    std::string digest;
    std::vector<std::string> tags;
    std::string manifest_media_type;
};

// BatchGetImage by tag: which tags exist (with their digests) and which do not.
struct ImageLookup {
    std::vector<std::pair<std::string, std::string>> found;  // tag -> digest
    std::vector<std::string> missing;
};

struct LayerAvailability {
    std::string digest;
    bool available = false;
};

// The ECR operations assetctl uses, per region and identity. `registry_id` (an account id)
// defaults to the caller's account.
class EcrApi {
  public:
    virtual ~EcrApi() = default;
    virtual RegistryAuthorization get_authorization_token(const AwsCredentials& caller,
                                                          const std::string& region) = 0;
    // The registry refused `password` (the token expired or was revoked before its time): a
    // cached token with that password is dropped, so the next get_authorization_token asks
    // ECR again. A newer cached token (another thread's refresh) is kept.
    virtual void forget_authorization_token(const AwsCredentials& caller, const std::string& region,
                                            const std::string& password) = 0;
    // nullopt when the repository does not exist (RepositoryNotFoundException).
    virtual std::optional<Repository> describe_repository(const AwsCredentials& caller,
                                                          const std::string& region,
                                                          const std::string& name) = 0;
    // nullopt when the tag does not exist (ImageNotFoundException).
    virtual std::optional<ImageDetail> describe_image(const AwsCredentials& caller,
                                                      const std::string& region,
                                                      const std::string& repository,
                                                      const std::string& tag) = 0;
    // Up to 100 tags per call are sent in one request; more are split.
    virtual ImageLookup batch_get_image(const AwsCredentials& caller, const std::string& region,
                                        const std::string& repository,
                                        const std::vector<std::string>& tags) = 0;
    virtual std::vector<LayerAvailability> batch_check_layer_availability(
        const AwsCredentials& caller, const std::string& region, const std::string& repository,
        const std::vector<std::string>& digests) = 0;
    virtual Repository create_repository(const AwsCredentials& caller, const std::string& region,
                                         const std::string& name) = 0;
};

}  // namespace assetctl::aws
