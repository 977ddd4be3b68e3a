#include "aws/sts_client.hpp"

#include <spdlog/spdlog.h>

#include "aws/aws_error.hpp"
#include "aws/xml.hpp"
#include "http/url.hpp"
#include "util/time.hpp"

namespace assetctl::aws {
namespace {

constexpr std::string_view k_version = "2011-06-15";

using Parameters = std::vector<std::pair<std::string, std::string>>;

std::string form_body(const Parameters& parameters) {
    std::string body;
    for (const auto& [key, value] : parameters) {
        if (!body.empty()) {
            body += '&';
        }
        body += http::form_encode(key) + "=" + http::form_encode(value);
    }
    return body;
}

void flatten(const nlohmann::ordered_json& value, const std::string& prefix, Parameters& out) {
    if (value.is_object()) {
        for (const auto& [key, child] : value.items()) {
            flatten(child, prefix.empty() ? key : prefix + "." + key, out);
        }
    } else if (value.is_array()) {
        std::size_t index = 1;
        for (const auto& child : value) {
            flatten(child, prefix + ".member." + std::to_string(index++), out);
        }
    } else if (value.is_string()) {
        out.emplace_back(prefix, value.get<std::string>());
    } else if (!value.is_null()) {
        out.emplace_back(prefix, value.dump());  // numbers, booleans
    }
}

// A malformed answer is reported like an AWS error so callers handle one type.
[[noreturn]] void malformed(const std::string& operation, const std::string& what) {
    throw AwsError("sts", operation, 200, "MalformedResponse", what, "");
}

AwsCredentials read_credentials(const std::string& body, const std::string& operation,
                                const std::string& result_element, const std::string& source) {
    const auto doc = XmlDocument::parse(body);
    if (!doc) {
        malformed(operation, "the answer is not XML");
    }
    const std::string_view result = result_element;
    AwsCredentials credentials;
    auto key = doc->text({result, "Credentials", "AccessKeyId"});
    auto secret = doc->text({result, "Credentials", "SecretAccessKey"});
    auto token = doc->text({result, "Credentials", "SessionToken"});
    auto expiration = doc->text({result, "Credentials", "Expiration"});
    if (!key || !secret || !token || !expiration) {
        malformed(operation, "the answer lacks Credentials");
    }
    credentials.keys = {*key, *secret, *token};
    credentials.expiration = util::parse_iso8601(*expiration);
    if (!credentials.expiration) {
        malformed(operation, "unreadable Expiration '" + *expiration + "'");
    }
    credentials.source = source;
    return credentials;
}

}  // namespace

Parameters flatten_query_parameters(const nlohmann::ordered_json& options) {
    Parameters out;
    flatten(options, "", out);
    return out;
}

StsClient::StsClient(AwsRuntime& runtime, EndpointSettings endpoints, std::string default_region)
    : runtime_(runtime),
      endpoints_(std::move(endpoints)),
      default_region_(default_region.empty() ? "us-east-1" : std::move(default_region)) {}

std::string StsClient::region_or_default(const std::optional<std::string>& region) const {
    return region && !region->empty() ? *region : default_region_;
}

AwsCredentials StsClient::assume_role(const AwsCredentials& caller,
                                      const AssumeRoleRequest& request) {
    Parameters parameters{{"Action", "AssumeRole"},
                          {"Version", std::string(k_version)},
                          {"RoleArn", request.role_arn},
                          {"RoleSessionName", request.session_name}};
    if (request.external_id) {
        parameters.emplace_back("ExternalId", *request.external_id);
    }
    if (request.duration_seconds) {
        parameters.emplace_back("DurationSeconds", std::to_string(*request.duration_seconds));
    }
    for (auto& parameter : flatten_query_parameters(request.additional_options)) {
        if (parameter.first == "RoleArn" || parameter.first == "ExternalId" ||
            parameter.first == "RoleSessionName") {
            continue;  // the dedicated fields win
        }
        parameters.push_back(std::move(parameter));
    }
    const std::string region = region_or_default(request.region);
    ServiceRequest call{"sts",
                        "AssumeRole",
                        sts_endpoint(region, endpoints_),
                        region,
                        {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
                        form_body(parameters)};
    spdlog::debug("sts AssumeRole {}{} in {}", request.role_arn,
                  request.external_id ? " (with external id)" : "", region);
    const auto response = call_service(runtime_, call, &caller);
    return read_credentials(response.body, "AssumeRole", "AssumeRoleResult",
                            "assumed " + request.role_arn);
}

AwsCredentials StsClient::assume_role_with_web_identity(const WebIdentityRequest& request) {
    Parameters parameters{{"Action", "AssumeRoleWithWebIdentity"},
                          {"Version", std::string(k_version)},
                          {"RoleArn", request.role_arn},
                          {"RoleSessionName", request.session_name},
                          {"WebIdentityToken", request.token}};
    if (request.duration_seconds) {
        parameters.emplace_back("DurationSeconds", std::to_string(*request.duration_seconds));
    }
    const std::string region = region_or_default(request.region);
    ServiceRequest call{"sts",
                        "AssumeRoleWithWebIdentity",
                        sts_endpoint(region, endpoints_),
                        region,
                        {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
                        form_body(parameters)};
    const auto response = call_service(runtime_, call, nullptr);
    return read_credentials(response.body, "AssumeRoleWithWebIdentity",
                            "AssumeRoleWithWebIdentityResult",
                            "web identity for " + request.role_arn);
}

CallerIdentity StsClient::get_caller_identity(const AwsCredentials& caller,
                                              const std::optional<std::string>& region_override) {
    const std::string region = region_or_default(region_override);
    ServiceRequest call{
        "sts",
        "GetCallerIdentity",
        sts_endpoint(region, endpoints_),
        region,
        {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
        form_body({{"Action", "GetCallerIdentity"}, {"Version", std::string(k_version)}})};
    const auto response = call_service(runtime_, call, &caller);
    const auto doc = XmlDocument::parse(response.body);
    if (!doc) {
        malformed("GetCallerIdentity", "the answer is not XML");
    }
    CallerIdentity identity;
    identity.account = doc->text({"GetCallerIdentityResult", "Account"}).value_or("");
    identity.arn = doc->text({"GetCallerIdentityResult", "Arn"}).value_or("");
    identity.user_id = doc->text({"GetCallerIdentityResult", "UserId"}).value_or("");
    if (identity.account.empty()) {
        malformed("GetCallerIdentity", "the answer lacks Account");
    }
    return identity;
}

}  // namespace assetctl::aws
