// InstanceMetadataProvider: the EC2 instance profile role through IMDSv2.

#include <spdlog/spdlog.h>

#include "aws/credential_providers.hpp"
#include "aws/credential_providers_detail.hpp"
#include "util/strings.hpp"

namespace assetctl::aws {
namespace {

constexpr std::string_view k_what = "EC2 instance metadata";
constexpr std::string_view k_token_path = "/latest/api/token";
constexpr std::string_view k_credentials_path = "/latest/meta-data/iam/security-credentials/";

struct Answer {
    std::optional<http::Response> response;
    std::string failure;  // the transport error when no response arrived
};

// One request with k_imds_attempts attempts: retried after a transport error or a 5xx.
Answer send(http::HttpClient& http, const http::Request& request) {
    Answer answer;
    for (int attempt = 1; attempt <= k_imds_attempts; ++attempt) {
        try {
            answer.response = http.send(request);
            if (answer.response->status < 500) {
                return answer;
            }
        } catch (const http::TransportError& e) {
            answer.response.reset();
            answer.failure = e.what();
        }
    }
    return answer;
}

std::string status_of(const Answer& answer) {
    return answer.response ? "HTTP " + std::to_string(answer.response->status) : answer.failure;
}

}  // namespace

ProviderResult InstanceMetadataProvider::resolve() {
    if (util::to_lower(env_.get("AWS_EC2_METADATA_DISABLED").value_or("")) == "true") {
        return {std::nullopt, "AWS_EC2_METADATA_DISABLED is true"};
    }
    std::string base;
    if (auto endpoint = env_.get_non_empty("AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
        base = *endpoint;
    } else if (util::to_lower(env_.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE").value_or("")) ==
               "ipv6") {
        base = k_imds_endpoint_ipv6;
    } else {
        base = k_imds_endpoint;
    }
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }

    http::Request token_request;
    token_request.method = "PUT";
    token_request.url = base + std::string(k_token_path);
    token_request.headers = {
        {"X-aws-ec2-metadata-token-ttl-seconds", std::string(k_imds_token_ttl_seconds)}};
    token_request.timeout = k_imds_timeout;
    const Answer token_answer = send(http_, token_request);
    if (!token_answer.response) {
        return {std::nullopt, "nothing answered at " + base + " (" + token_answer.failure + ")"};
    }
    if (token_answer.response->status == 403) {
        return {std::nullopt, base +
                                  " refused an IMDSv2 token (HTTP 403): instance metadata "
                                  "is turned off for this instance"};
    }
    const std::string token = util::trim(token_answer.response->body);
    if (token_answer.response->status != 200 || token.empty()) {
        return {std::nullopt, base + " answered the IMDSv2 token request with " +
                                  status_of(token_answer) + " (IMDSv1 is not used)"};
    }

    http::Request role_request;
    role_request.method = "GET";
    role_request.url = base + std::string(k_credentials_path);
    role_request.headers = {{"X-aws-ec2-metadata-token", token}};
    role_request.timeout = k_imds_timeout;
    const Answer role_answer = send(http_, role_request);
    if (role_answer.response && role_answer.response->status == 404) {
        return {std::nullopt, "no IAM role is attached to this instance (" + base +
                                  " answered HTTP 404 for the role name)"};
    }
    if (!role_answer.response || role_answer.response->status != 200) {
        throw CredentialsError(std::string(k_what) + ": asking " + base +
                               " for the role name failed: " + status_of(role_answer));
    }
    const auto body = role_answer.response->body;
    const std::string role = util::trim(std::string_view(body).substr(0, body.find('\n')));
    if (role.empty()) {
        return {std::nullopt, "no IAM role is attached to this instance (" + base +
                                  " answered an empty role name)"};
    }

    http::Request credentials_request = role_request;
    credentials_request.url += role;
    const Answer credentials_answer = send(http_, credentials_request);
    if (!credentials_answer.response || credentials_answer.response->status != 200) {
        throw CredentialsError(std::string(k_what) + ": asking " + base +
                               " for the credentials of role " + role +
                               " failed: " + status_of(credentials_answer));
    }
    const auto document = nlohmann::json::parse(credentials_answer.response->body, nullptr, false);
    const std::string what = std::string(k_what) + ": role " + role;
    if (document.is_discarded() || !document.is_object()) {
        throw CredentialsError(what + ": the answer is not a JSON object");
    }
    // IMDS answers 200 with {"Code": "AssumeRoleUnauthorizedAccess", "Message": ...} when the
    // role cannot be used (e.g. EC2 is not a trusted entity of it).
    if (auto code = document.find("Code");
        code != document.end() && code->is_string() && code->get<std::string>() != "Success") {
        std::string message = what + ": " + code->get<std::string>();
        if (auto text = document.find("Message"); text != document.end() && text->is_string()) {
            message += ": " + text->get<std::string>().substr(0, 300);
        }
        throw CredentialsError(message);
    }
    auto credentials = detail::credentials_from_json(document, what, {});
    credentials.source = std::string(k_what) + ": role " + role;
    spdlog::debug("credentials: instance role {} from {}", role, base);
    return {std::move(credentials), {}};
}

}  // namespace assetctl::aws
