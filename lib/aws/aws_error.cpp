#include "aws/aws_error.hpp"

#include <array>
#include <utility>

#include <nlohmann/json.hpp>

#include "aws/xml.hpp"

namespace assetctl::aws {
namespace {

// From the SDKs' standard retry mode.
constexpr std::array<std::string_view, 14> k_throttling_codes{
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
};

constexpr std::array<std::string_view, 4> k_transient_codes{
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    "IDPCommunicationError"};

constexpr std::array<std::string_view, 10> k_auth_codes{
    "UnrecognizedClientException", "InvalidClientTokenId",
    "InvalidSignatureException",   "SignatureDoesNotMatch",
    "ExpiredTokenException",       "ExpiredToken",
    "MissingAuthenticationToken",  "MissingAuthenticationTokenException",
    "InvalidAccessKeyId",          "AuthFailure"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view code) {
    for (auto entry : list) {
        if (entry == code) {
            return true;
        }
    }
    return false;
}

// "com.amazon.coral.service#ThrottlingException" -> "ThrottlingException";
// "ThrottlingException:http://internal.amazon.com/..." -> "ThrottlingException"
std::string clean_code(std::string code) {
    if (auto hash = code.rfind('#'); hash != std::string::npos) {
        code = code.substr(hash + 1);
    }
    if (auto colon = code.find(':'); colon != std::string::npos) {
        code = code.substr(0, colon);
    }
    return code;
}

std::string render(const std::string& service, const std::string& operation, long status,
                   const std::string& code, const std::string& message, int attempts) {
    std::string out = service + " " + operation + " failed: " + code;
    if (!message.empty()) {
        out += ": " + message;
    }
    out += " (HTTP " + std::to_string(status) + ")";
    if (attempts > 1) {
        out += " after " + std::to_string(attempts) +
               " attempts (AWS_MAX_ATTEMPTS or the profile's max_attempts allows more)";
    }
    return out;
}

}  // namespace

AwsError::AwsError(std::string service, std::string operation, long status, std::string code,
                   std::string message, std::string request_id, int attempts)
    : std::runtime_error(render(service, operation, status, code, message, attempts)),
      service_(std::move(service)),
      operation_(std::move(operation)),
      status_(status),
      code_(std::move(code)),
      message_(std::move(message)),
      request_id_(std::move(request_id)) {}

bool AwsError::is_throttling() const {
    return status_ == 429 || is_throttling_code(code_);
}

bool AwsError::is_retryable() const {
    return is_throttling() || is_transient_code(code_) || status_ == 500 || status_ == 502 ||
           status_ == 503 || status_ == 504;
}

bool AwsError::is_auth_failure() const {
    return contains(k_auth_codes, code_);
}

bool is_throttling_code(std::string_view code) {
    return contains(k_throttling_codes, code);
}

bool is_transient_code(std::string_view code) {
    return contains(k_transient_codes, code);
}

ErrorDetails parse_error_details(const http::Response& response) {
    ErrorDetails details;
    // S3 names the request in x-amz-request-id (and in <Error><RequestId>).
    details.request_id = response.header("x-amzn-RequestId")
                             .value_or(response.header("x-amz-request-id").value_or(""));
    if (auto type = response.header("x-amzn-ErrorType")) {
        details.code = clean_code(*type);
    }
    const auto& body = response.body;
    const auto first = body.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && body[first] == '{') {
        const auto json = nlohmann::json::parse(body, nullptr, false);
        if (json.is_object()) {
            for (const char* key : {"__type", "code", "Code"}) {
                if (auto it = json.find(key); it != json.end() && it->is_string()) {
                    details.code = clean_code(it->get<std::string>());
                    break;
                }
            }
            for (const char* key : {"message", "Message", "errorMessage"}) {
                if (auto it = json.find(key); it != json.end() && it->is_string()) {
                    details.message = it->get<std::string>();
                    break;
                }
            }
        }
    } else if (first != std::string::npos && body[first] == '<') {
        if (auto doc = XmlDocument::parse(body)) {
            details.code = doc->text({"Error", "Code"}).value_or(details.code);
            details.message = doc->text({"Error", "Message"}).value_or("");
            details.request_id = doc->text({"RequestId"}).value_or(details.request_id);
        }
    }
    if (details.code.empty()) {
        details.code = "HTTP" + std::to_string(response.status);
    }
    return details;
}

}  // namespace assetctl::aws
