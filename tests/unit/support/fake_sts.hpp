#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "aws/sts.hpp"

namespace assetctl::test {

// An StsApi that records every call and hands out made-up credentials: access key
// "ASIA-STS-<n>", secret "sts-secret-<n>", token "sts-token-<n>" for the n-th call (from 1),
// expiring at `expiration`. fail_with() makes the following calls throw std::runtime_error.
class FakeStsApi final : public aws::StsApi {
  public:
    struct Call {
        std::string operation;  // "AssumeRole" or "AssumeRoleWithWebIdentity"
        std::string caller_access_key_id;
        std::string role_arn;
        std::string session_name;
        std::optional<std::string> external_id;
        std::optional<int> duration_seconds;
        std::string web_identity_token;
    };

    explicit FakeStsApi(std::chrono::system_clock::time_point expiration =
                            std::chrono::sys_days{std::chrono::year{2030} / 1 / 1})
        : expiration_(expiration) {}

    void fail_with(std::string message) {
        std::lock_guard lock(mutex_);
        failure_ = std::move(message);
    }
    void set_expiration(std::chrono::system_clock::time_point expiration) {
        std::lock_guard lock(mutex_);
        expiration_ = expiration;
    }

    aws::AwsCredentials assume_role(const aws::AwsCredentials& caller,
                                    const aws::AssumeRoleRequest& request) override {
        Call call;
        call.operation = "AssumeRole";
        call.caller_access_key_id = caller.keys.access_key_id;
        call.role_arn = request.role_arn;
        call.session_name = request.session_name;
        call.external_id = request.external_id;
        call.duration_seconds = request.duration_seconds;
        return record(std::move(call));
    }

    aws::AwsCredentials assume_role_with_web_identity(
        const aws::WebIdentityRequest& request) override {
        Call call;
        call.operation = "AssumeRoleWithWebIdentity";
        call.role_arn = request.role_arn;
        call.session_name = request.session_name;
        call.duration_seconds = request.duration_seconds;
        call.web_identity_token = request.token;
        return record(std::move(call));
    }

    aws::CallerIdentity get_caller_identity(const aws::AwsCredentials&,
                                            const std::optional<std::string>&) override {
        return {"123456789012", "arn:aws:iam::123456789012:user/fake", "AIDAFAKE"};
    }

    std::vector<Call> calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }

  private:
    aws::AwsCredentials record(Call call) {
        std::lock_guard lock(mutex_);
        calls_.push_back(std::move(call));
        if (failure_) {
            throw std::runtime_error(*failure_);
        }
        const std::string n = std::to_string(calls_.size());
        aws::AwsCredentials credentials;
        credentials.keys = {"ASIA-STS-" + n, "sts-secret-" + n, "sts-token-" + n};
        credentials.expiration = expiration_;
        credentials.source = "sts";
        return credentials;
    }

    mutable std::mutex mutex_;
    std::chrono::system_clock::time_point expiration_;
    std::optional<std::string> failure_;
    std::vector<Call> calls_;
};

}  // namespace assetctl::test
