#include "aws/service_call.hpp"

#include <spdlog/spdlog.h>

#include "aws/aws_error.hpp"
#include "http/url.hpp"

namespace assetctl::aws {

http::Response call_service(AwsRuntime& runtime, const ServiceRequest& request,
                            const AwsCredentials* credentials) {
    const auto url = http::parse_url(request.endpoint);
    if (!url) {
        throw std::invalid_argument("invalid " + request.service + " endpoint URL '" +
                                    request.endpoint + "'");
    }
    const std::string what = request.service + " " + request.operation;

    const auto attempt = [&]() -> http::Response {
        http::Request http_request;
        http_request.method = "POST";
        http_request.url = url->origin() + url->path;
        http_request.body = request.body;
        if (credentials == nullptr) {
            http_request.headers = request.headers;
            http_request.headers.push_back({"Host", url->authority()});
        } else {
            Request to_sign;
            to_sign.method = "POST";
            to_sign.path = url->path;
            to_sign.body = request.body;
            to_sign.headers.push_back({"Host", url->authority()});
            for (const auto& header : request.headers) {
                to_sign.headers.push_back({header.name, header.value});
            }
            sign(to_sign, credentials->keys, request.region, request.service, runtime.clock.now(),
                 {}, &runtime.signing_keys);
            for (auto& header : to_sign.headers) {
                http_request.headers.push_back({std::move(header.name), std::move(header.value)});
            }
        }
        return runtime.http.send(http_request);
    };

    const auto classify = [](const http::Response& response) -> http::Verdict {
        if (response.status >= 200 && response.status < 300) {
            return {};
        }
        const auto details = parse_error_details(response);
        const AwsError error("", "", response.status, details.code, details.message, "");
        if (error.is_retryable()) {
            return {true, details.code + " (HTTP " + std::to_string(response.status) + ")"};
        }
        return {};
    };

    const http::RetryContext context{runtime.retry, runtime.sleeper, runtime.jitter};
    http::Response response = http::send_with_retries(context, what, attempt, classify);
    if (response.status >= 200 && response.status < 300) {
        spdlog::trace("{} -> {}", what, response.status);
        return response;
    }
    const auto details = parse_error_details(response);
    throw AwsError(request.service, request.operation, response.status, details.code,
                   details.message, details.request_id);
}

}  // namespace assetctl::aws
