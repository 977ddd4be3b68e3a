#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "http/http_client.hpp"

namespace assetctl::aws {

// An error answer from an AWS service, with AWS's own error code and message
// (`RepositoryNotFoundException`, `AccessDenied`, `ThrottlingException`, ...).
class AwsError : public std::runtime_error {
  public:
    // `attempts` > 1: the answer ended that many attempts (a retryable error whose retries
    // ran out); the message says so and how to allow more.
    AwsError(std::string service, std::string operation, long status, std::string code,
             std::string message, std::string request_id, int attempts = 1);

    const std::string& service() const noexcept { return service_; }
    const std::string& operation() const noexcept { return operation_; }
    long status() const noexcept { return status_; }
    const std::string& code() const noexcept { return code_; }
    const std::string& message() const noexcept { return message_; }
    const std::string& request_id() const noexcept { return request_id_; }

    bool is_throttling() const;
    // Throttling, a 5xx answer or a transient code: the SDK standard retry mode retries these.
    bool is_retryable() const;
    // The credentials were refused (bad key, bad signature, expired token, clock skew).
    bool is_auth_failure() const;

  private:
    std::string service_;
    std::string operation_;
    long status_;
    std::string code_;
    std::string message_;
    std::string request_id_;
};

// The error code and message of an AWS error answer, in either protocol:
//   JSON (ECR):  {"__type": "[ns#]Code", "message": "..."} or x-amzn-ErrorType header
//   XML (STS):   <ErrorResponse><Error><Code/><Message/></Error><RequestId/></ErrorResponse>
//   XML (S3):    <Error><Code/><Message/><RequestId/></Error>; an answer without a body (a
//                503 from a load balancer) gets the code "HTTP<status>"
struct ErrorDetails {
    std::string code;
    std::string message;
    std::string request_id;
};
ErrorDetails parse_error_details(const http::Response& response);

bool is_throttling_code(std::string_view code);
bool is_transient_code(std::string_view code);

}  // namespace assetctl::aws
