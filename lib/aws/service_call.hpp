#pragma once

#include <functional>
#include <optional>
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
    std::string service;    // signing name: "ecr", "sts", "s3"
    std::string operation;  // "DescribeImages", for logs and errors
    std::string endpoint;   // base URL from endpoints.hpp
    std::string region;     // signing region
    http::Headers headers;  // Content-Type, X-Amz-Target, ...
    std::string body;

    // REST calls (S3) only; the defaults are what ECR and STS send: a POST to the endpoint's
    // own path with `body`, signed with the default options.
    std::string method = "POST";
    // Decoded (a key as S3 names it): sent and signed URI-encoded once, `/` kept. Empty: the
    // endpoint's path as it is.
    std::string path = {};
    std::vector<QueryParameter> query = {};  // decoded; sent as the signer encodes them
    // A body too large for memory, sent instead of `body`; `payload_hash` (hex SHA-256 of
    // its bytes) is then the signed payload hash.
    std::optional<http::StreamedBody> stream = {};
    std::optional<std::string> payload_hash = {};
    SigningOptions signing = {};
    // S3's CompleteMultipartUpload may answer 200 with an <Error> document: treat that as the
    // error it names (retried as its code says).
    bool error_in_success_body = false;
    // Sent even after SIGINT (http::Request::survives_interrupt): AbortMultipartUpload.
    bool survives_interrupt = false;
};

// Sends one AWS API call: signs every attempt afresh (when credentials are given; STS
// AssumeRoleWithWebIdentity is unsigned), retries throttling, 5xx, transient codes and
// connection failures per the runtime's policy, and returns the 2xx answer. Throws AwsError for
// an error answer and http::TransportError when no answer came.
http::Response call_service(AwsRuntime& runtime, const ServiceRequest& request,
                            const AwsCredentials* credentials);

}  // namespace assetctl::aws
