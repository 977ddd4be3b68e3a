#include "aws/ecr_client.hpp"

#include <cmath>

#include <spdlog/spdlog.h>

#include "aws/aws_error.hpp"
#include "crypto/crypto.hpp"

namespace assetctl::aws {
namespace {

constexpr std::string_view k_target_prefix = "AmazonEC2ContainerRegistry_V20150921.";
constexpr std::size_t k_max_batch = 100;  // BatchGetImage / BatchCheckLayerAvailability limit

[[noreturn]] void malformed(const std::string& operation, const std::string& what) {
    throw AwsError("ecr", operation, 200, "MalformedResponse", what, "");
}

std::string string_field(const nlohmann::json& object, const char* key) {
    if (auto it = object.find(key); it != object.end() && it->is_string()) {
        return it->get<std::string>();
    }
    return {};
}

Repository read_repository(const nlohmann::json& json) {
    Repository repository;
    repository.name = string_field(json, "repositoryName");
    repository.uri = string_field(json, "repositoryUri");
    repository.registry_id = string_field(json, "registryId");
    repository.arn = string_field(json, "repositoryArn");
    repository.tag_mutability = string_field(json, "imageTagMutability");
    return repository;
}

}  // namespace

EcrClient::EcrClient(AwsRuntime& runtime, EndpointSettings endpoints)
    : runtime_(runtime), endpoints_(std::move(endpoints)) {}

nlohmann::json EcrClient::call(const AwsCredentials& caller, const std::string& region,
                               const std::string& operation, const nlohmann::json& body) {
    ServiceRequest request{"ecr",
                           operation,
                           ecr_endpoint(region, endpoints_),
                           region,
                           {{"Content-Type", "application/x-amz-json-1.1"},
                            {"X-Amz-Target", std::string(k_target_prefix) + operation}},
                           body.dump()};
    const auto response = call_service(runtime_, request, &caller);
    auto json = nlohmann::json::parse(response.body, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        malformed(operation, "the answer is not a JSON object");
    }
    return json;
}

std::tuple<std::string, std::string> EcrClient::token_key(const AwsCredentials& caller,
                                                          const std::string& region) const {
    return std::make_tuple(ecr_endpoint(region, endpoints_) + "|" + region,
                           caller.keys.access_key_id);
}

void EcrClient::forget_authorization_token(const AwsCredentials& caller, const std::string& region,
                                           const std::string& password) {
    const auto key = token_key(caller, region);
    std::lock_guard lock(mutex_);
    if (auto it = tokens_.find(key);
        it != tokens_.end() && it->second.authorization.password == password) {
        tokens_.erase(it);
    }
}

RegistryAuthorization EcrClient::get_authorization_token(const AwsCredentials& caller,
                                                         const std::string& region) {
    const auto key = token_key(caller, region);
    const auto now = runtime_.clock.now();
    {
        std::lock_guard lock(mutex_);
        if (auto it = tokens_.find(key); it != tokens_.end() && now < it->second.refresh_after) {
            return it->second.authorization;
        }
    }
    const auto json = call(caller, region, "GetAuthorizationToken", nlohmann::json::object());
    const auto data = json.find("authorizationData");
    if (data == json.end() || !data->is_array() || data->empty()) {
        malformed("GetAuthorizationToken", "no authorizationData");
    }
    const auto& entry = (*data)[0];
    const auto decoded = crypto::base64_decode(string_field(entry, "authorizationToken"));
    const auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
        malformed("GetAuthorizationToken", "authorizationToken is not base64 of user:password");
    }
    RegistryAuthorization authorization;
    authorization.username = decoded->substr(0, colon);
    authorization.password = decoded->substr(colon + 1);
    authorization.proxy_endpoint = string_field(entry, "proxyEndpoint");
    const auto expires = entry.find("expiresAt");
    // Seconds since 1970; one that system_clock cannot hold (a fuzzed answer's 1e300) counts as
    // absent rather than overflowing the conversion.
    constexpr double k_latest_expiry = 7.0e9;  // about the year 2191
    if (expires != entry.end() && expires->is_number() && expires->get<double>() >= 0 &&
        expires->get<double>() <= k_latest_expiry) {
        const double seconds = expires->get<double>();
        authorization.expires_at = std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::duration<double>(std::floor(seconds))));
    } else {
        authorization.expires_at = now + std::chrono::hours(12);
    }
    const auto lifetime = authorization.expires_at - now;
    std::lock_guard lock(mutex_);
    tokens_[key] = {authorization, now + lifetime / 2};
    return authorization;
}

std::optional<Repository> EcrClient::describe_repository(const AwsCredentials& caller,
                                                         const std::string& region,
                                                         const std::string& name) {
    try {
        const auto json = call(caller, region, "DescribeRepositories",
                               {{"repositoryNames", nlohmann::json::array({name})}});
        const auto repositories = json.find("repositories");
        if (repositories == json.end() || !repositories->is_array() || repositories->empty()) {
            return std::nullopt;
        }
        return read_repository((*repositories)[0]);
    } catch (const AwsError& e) {
        if (e.code() == "RepositoryNotFoundException") {
            return std::nullopt;
        }
        throw;
    }
}

std::optional<ImageDetail> EcrClient::describe_image(const AwsCredentials& caller,
                                                     const std::string& region,
                                                     const std::string& repository,
                                                     const std::string& tag) {
    try {
        const auto json = call(caller, region, "DescribeImages",
                               {{"repositoryName", repository},
                                {"imageIds", nlohmann::json::array({{{"imageTag", tag}}})}});
        const auto details = json.find("imageDetails");
        if (details == json.end() || !details->is_array() || details->empty()) {
            return std::nullopt;
        }
        const auto& detail = (*details)[0];
        ImageDetail image;
        image.digest = string_field(detail, "imageDigest");
        image.manifest_media_type = string_field(detail, "imageManifestMediaType");
        if (auto tags = detail.find("imageTags"); tags != detail.end() && tags->is_array()) {
            for (const auto& t : *tags) {
                if (t.is_string()) {
                    image.tags.push_back(t.get<std::string>());
                }
            }
        }
        return image;
    } catch (const AwsError& e) {
        if (e.code() == "ImageNotFoundException") {
            return std::nullopt;
        }
        throw;
    }
}

ImageLookup EcrClient::batch_get_image(const AwsCredentials& caller, const std::string& region,
                                       const std::string& repository,
                                       const std::vector<std::string>& tags) {
    ImageLookup lookup;
    for (std::size_t start = 0; start < tags.size(); start += k_max_batch) {
        auto ids = nlohmann::json::array();
        const auto end = std::min(tags.size(), start + k_max_batch);
        for (std::size_t i = start; i < end; ++i) {
            ids.push_back({{"imageTag", tags[i]}});
        }
        const auto json = call(caller, region, "BatchGetImage",
                               {{"repositoryName", repository}, {"imageIds", ids}});
        if (auto images = json.find("images"); images != json.end() && images->is_array()) {
            for (const auto& image : *images) {
                const auto id = image.find("imageId");
                if (id != image.end() && id->is_object()) {
                    lookup.found.emplace_back(string_field(*id, "imageTag"),
                                              string_field(*id, "imageDigest"));
                }
            }
        }
        if (auto failures = json.find("failures"); failures != json.end() && failures->is_array()) {
            for (const auto& failure : *failures) {
                const std::string code = string_field(failure, "failureCode");
                const auto id = failure.find("imageId");
                const std::string tag =
                    id != failure.end() && id->is_object() ? string_field(*id, "imageTag") : "";
                if (code == "ImageNotFound" || code == "ImageTagDoesNotMatchDigest") {
                    lookup.missing.push_back(tag);
                } else {
                    throw AwsError(
                        "ecr", "BatchGetImage", 200, code,
                        "for tag '" + tag + "': " + string_field(failure, "failureReason"), "");
                }
            }
        }
    }
    return lookup;
}

std::vector<LayerAvailability> EcrClient::batch_check_layer_availability(
    const AwsCredentials& caller, const std::string& region, const std::string& repository,
    const std::vector<std::string>& digests) {
    std::vector<LayerAvailability> out;
    for (std::size_t start = 0; start < digests.size(); start += k_max_batch) {
        const auto end = std::min(digests.size(), start + k_max_batch);
        const std::vector<std::string> chunk(digests.begin() + static_cast<std::ptrdiff_t>(start),
                                             digests.begin() + static_cast<std::ptrdiff_t>(end));
        const auto json = call(caller, region, "BatchCheckLayerAvailability",
                               {{"repositoryName", repository}, {"layerDigests", chunk}});
        if (auto layers = json.find("layers"); layers != json.end() && layers->is_array()) {
            for (const auto& layer : *layers) {
                out.push_back({string_field(layer, "layerDigest"),
                               string_field(layer, "layerAvailability") == "AVAILABLE"});
            }
        }
        if (auto failures = json.find("failures"); failures != json.end() && failures->is_array()) {
            for (const auto& failure : *failures) {
                out.push_back({string_field(failure, "layerDigest"), false});
            }
        }
    }
    return out;
}

Repository EcrClient::create_repository(const AwsCredentials& caller, const std::string& region,
                                        const std::string& name) {
    const auto json = call(caller, region, "CreateRepository", {{"repositoryName", name}});
    const auto repository = json.find("repository");
    if (repository == json.end() || !repository->is_object()) {
        malformed("CreateRepository", "no repository in the answer");
    }
    return read_repository(*repository);
}

}  // namespace assetctl::aws
