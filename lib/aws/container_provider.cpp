// ContainerProvider: the ECS task role / EKS Pod Identity credentials endpoint.

#include <arpa/inet.h>
#include <array>
#include <cstring>

#include <spdlog/spdlog.h>

#include "aws/credential_providers.hpp"
#include "aws/credential_providers_detail.hpp"
#include "http/redact.hpp"
#include "util/strings.hpp"

namespace assetctl::aws {
namespace {

constexpr std::string_view k_what = "ECS container";

bool is_allowed_http_host(const std::string& host) {
    if (host == "localhost" || host == "169.254.170.2" || host == "169.254.170.23") {
        return true;
    }
    std::array<unsigned char, 16> address{};
    if (inet_pton(AF_INET, host.c_str(), address.data()) == 1) {
        return address[0] == 127;  // 127.0.0.0/8
    }
    if (inet_pton(AF_INET6, host.c_str(), address.data()) == 1) {
        std::array<unsigned char, 16> allowed{};
        for (const char* text : {"::1", "fd00:ec2::23"}) {
            if (inet_pton(AF_INET6, text, allowed.data()) == 1 && address == allowed) {
                return true;
            }
        }
    }
    return false;
}

// The error an endpoint explains itself with ({"code": ..., "message": ...}), if any.
std::string error_detail(const std::string& body) {
    const auto document = nlohmann::json::parse(body, nullptr, false);
    if (document.is_discarded() || !document.is_object()) {
        return {};
    }
    std::string detail;
    for (const char* key : {"code", "Code", "message", "Message"}) {
        if (auto it = document.find(key); it != document.end() && it->is_string()) {
            detail += (detail.empty() ? ": " : " ") + it->get<std::string>().substr(0, 200);
        }
    }
    return detail;
}

}  // namespace

bool is_allowed_container_uri(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        return false;
    }
    const std::string scheme = util::to_lower(url.substr(0, scheme_end));
    std::string_view authority = url.substr(scheme_end + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        authority.remove_prefix(at + 1);
    }
    std::string host;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        host = std::string(authority.substr(1, close - 1));
    } else {
        host = std::string(authority.substr(0, authority.find(':')));
    }
    if (host.empty()) {
        return false;
    }
    if (scheme == "https") {
        return true;
    }
    return scheme == "http" && is_allowed_http_host(util::to_lower(host));
}

namespace {

// The endpoint: the ECS agent's host plus the relative URI, or the full URI if it is one the
// SDKs allow. Throws CredentialsError for a full URI that is not.
std::string credentials_url(const std::optional<std::string>& relative,
                            const std::optional<std::string>& full) {
    if (relative) {
        return std::string(k_ecs_relative_uri_host) + *relative;
    }
    if (!is_allowed_container_uri(*full)) {
        throw CredentialsError(std::string(k_what) + ": AWS_CONTAINER_CREDENTIALS_FULL_URI " +
                               http::url_for_log(*full) +
                               " is not allowed: use https, or http to a loopback address, "
                               "169.254.170.2, 169.254.170.23 or [fd00:ec2::23]");
    }
    return *full;
}

// The Authorization header's value: from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (EKS Pod
// Identity), else AWS_CONTAINER_AUTHORIZATION_TOKEN. Throws CredentialsError for an unreadable
// file or a token that would split the header.
std::optional<std::string> authorization_token(const util::Environment& env) {
    std::optional<std::string> token;
    if (auto file = env.get_non_empty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
        token = detail::read_token_file(
            *file, std::string(k_what) + ": AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    } else {
        token = env.get_non_empty("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    }
    if (token && token->find_first_of("\r\n") != std::string::npos) {
        throw CredentialsError(std::string(k_what) +
                               ": the authorization token contains a line break");
    }
    return token;
}

// The credentials in a 200 answer. Throws CredentialsError.
AwsCredentials credentials_of_answer(const std::string& body, const std::string& url_for_log) {
    const auto document = nlohmann::json::parse(body, nullptr, false);
    if (document.is_discarded()) {
        throw CredentialsError(std::string(k_what) + ": " + url_for_log + " did not answer JSON");
    }
    auto credentials =
        detail::credentials_from_json(document, std::string(k_what) + ": " + url_for_log, {});
    credentials.source = std::string(k_what) + " (" + url_for_log + ")";
    return credentials;
}

}  // namespace

ProviderResult ContainerProvider::resolve() {
    const auto relative = env_.get_non_empty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const auto full = env_.get_non_empty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!relative && !full) {
        return {std::nullopt,
                "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
                "AWS_CONTAINER_CREDENTIALS_FULL_URI is set"};
    }
    http::Request request;
    request.method = "GET";
    request.url = credentials_url(relative, full);
    const std::string url_for_log = http::url_for_log(request.url);
    request.headers.push_back({"Accept", "application/json"});
    if (auto token = authorization_token(env_)) {
        request.headers.push_back({"Authorization", *token});
    }
    request.timeout = k_container_timeout;

    std::string last_failure;
    for (int attempt = 1; attempt <= k_container_attempts; ++attempt) {
        if (attempt > 1) {
            spdlog::debug("credentials: {} attempt {} failed ({}), retrying", k_what, attempt - 1,
                          last_failure);
            sleeper_.sleep_for(k_container_retry_delay);
        }
        http::Response response;
        try {
            response = http_.send(request);
        } catch (const http::TransportError& e) {
            if (!e.retryable()) {
                throw CredentialsError(std::string(k_what) + ": " + url_for_log + ": " + e.what());
            }
            last_failure = e.what();
            continue;
        }
        if (response.status == 200) {
            return {credentials_of_answer(response.body, url_for_log), {}};
        }
        last_failure = "HTTP " + std::to_string(response.status) + error_detail(response.body);
        if (response.status < 500 && response.status != 429) {
            throw CredentialsError(std::string(k_what) + ": " + url_for_log + " answered " +
                                   last_failure);
        }
    }
    throw CredentialsError(std::string(k_what) + ": " + url_for_log + " failed " +
                           std::to_string(k_container_attempts) +
                           " attempts, the last with: " + last_failure);
}

}  // namespace assetctl::aws
