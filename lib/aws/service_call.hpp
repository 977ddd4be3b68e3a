#pragma once

#include <functional>
#include <string>
#include <vector>

#include "aws/credentials.hpp"
#include "aws/sigv4.hpp"
#include "http/http_client.hpp"
#include "http/retry.hpp"
#include "util/clock.hpp"
#include "util/sleeper.hpp"

namespace assetctl::aws {

// What every AWS call needs; one per process, shared by all clients and threads.
struct AwsRuntime {
    http::HttpClient& http;
    const util::Clock& clock;
    util::Sleeper& sleeper;
    http::RetryPolicy retry;
    std::function<double()> jitter;
    SigningKeyCache signing_keys;

    AwsRuntime(http::HttpClient& http_client, const util::Clock& wall_clock, util::Sleeper& waiter,
               http::RetryPolicy policy, std::function<double()> random)
        : http(http_client),
          clock(wall_clock),
          sleeper(waiter),
          retry(policy),
          jitter(std::move(random)) {}
};

struct ServiceRequest {
    std::string service;    // signing name: "ecr", "sts"
    std::string operation;  // "DescribeImages", for logs and errors
    std::string endpoint;   // base URL from endpoints.hpp
    std::string region;     // signing region
    http::Headers headers;  // Content-Type, X-Amz-Target, ...
    std::string body;
};

// Sends one AWS API call: signs every attempt afresh (when credentials are given; STS
// AssumeRoleWithWebIdentity is unsigned), retries throttling, 5xx, transient codes and
// connection failures per the runtime's policy, and returns the 2xx answer. Throws AwsError for
// an error answer and http::TransportError when no answer came.
http::Response call_service(AwsRuntime& runtime, const ServiceRequest& request,
                            const AwsCredentials* credentials);

}  // namespace assetctl::aws
