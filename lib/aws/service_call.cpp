#include "aws/service_call.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "aws/aws_error.hpp"
#include "aws/xml.hpp"
#include "http/url.hpp"

namespace assetctl::aws {
namespace {

bool is_success(const http::Response& response) {
    return response.status >= 200 && response.status < 300;
}

// A 2xx answer whose body is an <Error> document (S3's CompleteMultipartUpload).
bool is_error_document(const http::Response& response) {
    const auto first = response.body.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || response.body[first] != '<') {
        return false;
    }
    const auto doc = XmlDocument::parse(response.body);
    return doc && doc->text({"Error", "Code"}).has_value();
}

bool is_failure(const ServiceRequest& request, const http::Response& response) {
    return !is_success(response) || (request.error_in_success_body && is_error_document(response));
}

// `?key=value&...` as the signer encodes it; a key with an empty value goes bare (`?uploads`),
// as the SDKs send it (signed as "uploads=" either way).
std::string query_suffix(const std::vector<QueryParameter>& query) {
    std::string out;
    for (const auto& parameter : query) {
        out += out.empty() ? "?" : "&";
        out += uri_encode(parameter.key);
        if (!parameter.value.empty()) {
            out.append("=").append(uri_encode(parameter.value));
        }
    }
    return out;
}

struct Target {
    std::string url;        // as sent
    std::string path;       // as signed
    std::string authority;  // Host
};

Target target_of(const ServiceRequest& request) {
    const auto url = http::parse_url(request.endpoint);
    if (!url) {
        throw std::invalid_argument("invalid " + request.service + " endpoint URL '" +
                                    request.endpoint + "'");
    }
    if (request.path.empty()) {
        return {url->origin() + url->path + query_suffix(request.query), url->path,
                url->authority()};
    }
    return {url->origin() + uri_encode(request.path, true) + query_suffix(request.query),
            request.path, url->authority()};
}

http::Request unsigned_request(const ServiceRequest& request, const Target& target) {
    http::Request http_request;
    http_request.method = request.method;
    http_request.url = target.url;
    http_request.body = request.body;
    http_request.stream = request.stream;
    http_request.survives_interrupt = request.survives_interrupt;
    return http_request;
}

http::Request signed_request(AwsRuntime& runtime, const ServiceRequest& request,
                             const Target& target, const AwsCredentials& credentials) {
    Request to_sign;
    to_sign.method = request.method;
    to_sign.path = target.path;
    to_sign.query = request.query;
    to_sign.body = request.body;
    to_sign.payload_hash = request.payload_hash;
    to_sign.headers.push_back({"Host", target.authority});
    for (const auto& header : request.headers) {
        to_sign.headers.push_back({header.name, header.value});
    }
    sign(to_sign, credentials.keys, request.region, request.service, runtime.clock.now(),
         request.signing, &runtime.signing_keys);
    auto http_request = unsigned_request(request, target);
    for (auto& header : to_sign.headers) {
        http_request.headers.push_back({std::move(header.name), std::move(header.value)});
    }
    return http_request;
}

}  // namespace

http::Response call_service(AwsRuntime& runtime, const ServiceRequest& request,
                            const AwsCredentials* credentials) {
    const auto target = target_of(request);
    const std::string what = request.service + " " + request.operation;

    const auto attempt = [&]() -> http::Response {
        if (credentials != nullptr) {
            return runtime.http.send(signed_request(runtime, request, target, *credentials));
        }
        auto http_request = unsigned_request(request, target);
        http_request.headers = request.headers;
        http_request.headers.push_back({"Host", target.authority});
        return runtime.http.send(http_request);
    };

    const auto classify = [&](const http::Response& response) -> http::Verdict {
        if (!is_failure(request, response)) {
            return {};
        }
        const auto details = parse_error_details(response);
        const AwsError error("", "", response.status, details.code, details.message, "");
        if (error.is_retryable()) {
            return {true, details.code + " (HTTP " + std::to_string(response.status) + ")",
                    error.is_throttling()};
        }
        return {};
    };

    const http::RetryContext context{runtime.retry, runtime.sleeper, runtime.jitter};
    http::Response response = http::send_with_retries(context, what, attempt, classify);
    if (!is_failure(request, response)) {
        spdlog::trace("{} -> {}", what, response.status);
        return response;
    }
    const auto details = parse_error_details(response);
    // A retryable answer that is still the last one: the attempts ran out.
    const auto verdict = classify(response);
    const int attempts =
        verdict.retry ? http::attempts_allowed(runtime.retry, verdict.throttled) : 1;
    throw AwsError(request.service, request.operation, response.status, details.code,
                   details.message, details.request_id, attempts);
}

}  // namespace assetctl::aws
