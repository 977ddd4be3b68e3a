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

// A token or role name, or why there is none (the chain then moves on to the next source).
struct Lookup {
    std::optional<std::string> value;
    std::string why_not;
};

// AWS_EC2_METADATA_SERVICE_ENDPOINT, else the IPv6 or IPv4 address by
// AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE; without a trailing slash.
std::string metadata_base_url(const util::Environment& env) {
    std::string base;
    if (auto endpoint = env.get_non_empty("AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
        base = *endpoint;
    } else if (util::to_lower(env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE").value_or("")) ==
               "ipv6") {
        base = k_imds_endpoint_ipv6;
    } else {
        base = k_imds_endpoint;
    }
    while (!base.empty() && base.back() == '/') {
        base.pop_back();
    }
    return base;
}

// The IMDSv2 session token (PUT /latest/api/token); never falls back to IMDSv1.
Lookup fetch_token(http::HttpClient& http, const std::string& base) {
    http::Request request;
    request.method = "PUT";
    request.url = base + std::string(k_token_path);
    request.headers = {
        {"X-aws-ec2-metadata-token-ttl-seconds", std::string(k_imds_token_ttl_seconds)}};
    request.timeout = k_imds_timeout;
    const Answer answer = send(http, request);
    if (!answer.response) {
        return {std::nullopt, "nothing answered at " + base + " (" + answer.failure + ")"};
    }
    if (answer.response->status == 403) {
        return {std::nullopt, base +
                                  " refused an IMDSv2 token (HTTP 403): instance metadata "
                                  "is turned off for this instance"};
    }
    std::string token = util::trim(answer.response->body);
    if (answer.response->status != 200 || token.empty()) {
        return {std::nullopt, base + " answered the IMDSv2 token request with " +
                                  status_of(answer) + " (IMDSv1 is not used)"};
    }
    return {std::move(token), {}};
}

// The name of the instance profile's role (the first line of the answer). Throws
// CredentialsError when the metadata service fails rather than saying there is none.
Lookup fetch_role_name(http::HttpClient& http, const http::Request& request,
                       const std::string& base) {
    const Answer answer = send(http, request);
    if (answer.response && answer.response->status == 404) {
        return {std::nullopt, "no IAM role is attached to this instance (" + base +
                                  " answered HTTP 404 for the role name)"};
    }
    if (!answer.response || answer.response->status != 200) {
        throw CredentialsError(std::string(k_what) + ": asking " + base +
                               " for the role name failed: " + status_of(answer));
    }
    const auto& body = answer.response->body;
    std::string role = util::trim(std::string_view(body).substr(0, body.find('\n')));
    if (role.empty()) {
        return {std::nullopt, "no IAM role is attached to this instance (" + base +
                                  " answered an empty role name)"};
    }
    return {std::move(role), {}};
}

// The role's credentials from the metadata service's JSON answer. Throws CredentialsError.
AwsCredentials credentials_of_role(const std::string& body, const std::string& role) {
    const auto document = nlohmann::json::parse(body, nullptr, false);
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
    credentials.source = what;
    return credentials;
}

}  // namespace

ProviderResult InstanceMetadataProvider::resolve() {
    if (util::to_lower(env_.get("AWS_EC2_METADATA_DISABLED").value_or("")) == "true") {
        return {std::nullopt, "AWS_EC2_METADATA_DISABLED is true"};
    }
    const std::string base = metadata_base_url(env_);
    const Lookup token = fetch_token(http_, base);
    if (!token.value) {
        return {std::nullopt, token.why_not};
    }

    http::Request role_request;
    role_request.method = "GET";
    role_request.url = base + std::string(k_credentials_path);
    role_request.headers = {{"X-aws-ec2-metadata-token", *token.value}};
    role_request.timeout = k_imds_timeout;
    const Lookup role = fetch_role_name(http_, role_request, base);
    if (!role.value) {
        return {std::nullopt, role.why_not};
    }

    http::Request credentials_request = role_request;
    credentials_request.url += *role.value;
    const Answer credentials_answer = send(http_, credentials_request);
    if (!credentials_answer.response || credentials_answer.response->status != 200) {
        throw CredentialsError(std::string(k_what) + ": asking " + base +
                               " for the credentials of role " + *role.value +
                               " failed: " + status_of(credentials_answer));
    }
    auto credentials = credentials_of_role(credentials_answer.response->body, *role.value);
    spdlog::debug("credentials: instance role {} from {}", *role.value, base);
    return {std::move(credentials), {}};
}

}  // namespace assetctl::aws
