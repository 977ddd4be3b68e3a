#include "aws/secrets_manager_client.hpp"

#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/aws_error.hpp"
#include "crypto/crypto.hpp"

namespace assetctl::aws {
namespace {

constexpr std::string_view k_service = "secretsmanager";
constexpr std::string_view k_operation = "GetSecretValue";

[[noreturn]] void malformed(const std::string& what) {
    throw AwsError(std::string(k_service), std::string(k_operation), 200, "MalformedResponse", what,
                   "");
}

std::string string_field(const nlohmann::json& object, const char* key) {
    if (auto it = object.find(key); it != object.end() && it->is_string()) {
        return it->get<std::string>();
    }
    return {};
}

// The answer's fields; the body (which holds the secret) is wiped once read.
SecretValue read_secret_value(std::string& body) {
    auto json = nlohmann::json::parse(body, nullptr, false);
    crypto::wipe(body);
    if (json.is_discarded() || !json.is_object()) {
        malformed("the answer is not a JSON object");
    }
    SecretValue value;
    value.arn = string_field(json, "ARN");
    value.name = string_field(json, "Name");
    value.version_id = string_field(json, "VersionId");
    if (auto it = json.find("SecretString"); it != json.end() && it->is_string()) {
        value.secret_string = std::move(it->get_ref<std::string&>());
    }
    return value;
}

}  // namespace

std::optional<std::string> secret_arn_region(const std::string& secret_id) {
    // arn:<partition>:secretsmanager:<region>:<account>:secret:<name>
    std::vector<std::string_view> fields;
    std::string_view rest = secret_id;
    for (int i = 0; i < 5; ++i) {
        const auto colon = rest.find(':');
        if (colon == std::string_view::npos) {
            return std::nullopt;
        }
        fields.push_back(rest.substr(0, colon));
        rest.remove_prefix(colon + 1);
    }
    if (fields[0] != "arn" || fields[2] != k_service || fields[3].empty() ||
        rest.rfind("secret:", 0) != 0) {
        return std::nullopt;
    }
    return std::string(fields[3]);
}

SecretsManagerClient::SecretsManagerClient(AwsRuntime& runtime, EndpointSettings endpoints)
    : runtime_(runtime), endpoints_(std::move(endpoints)) {}

SecretValue SecretsManagerClient::get_secret_value(const AwsCredentials& caller,
                                                   const std::string& region,
                                                   const std::string& secret_id) {
    const nlohmann::json body = {{"SecretId", secret_id}};
    ServiceRequest request{std::string(k_service),
                           std::string(k_operation),
                           secrets_manager_endpoint(region, endpoints_),
                           region,
                           {{"Content-Type", "application/x-amz-json-1.1"},
                            {"X-Amz-Target", "secretsmanager." + std::string(k_operation)}},
                           body.dump()};
    auto response = call_service(runtime_, request, &caller);
    return read_secret_value(response.body);
}

}  // namespace assetctl::aws
