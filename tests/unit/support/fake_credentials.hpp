#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "aws/credentials.hpp"

namespace assetctl::test {

// A CredentialsProvider whose answer the test sets (set_mode() changes it between calls):
// credentials, "does not apply" with a reason, or a CredentialsError. Counts its calls in
// `calls`, shared so a test can still read it after handing the provider to a chain or cache.
class FakeCredentialsProvider final : public aws::CredentialsProvider {
  public:
    enum class Mode { credentials, not_applicable, error };

    // A source called `name`: the n-th call (from 1) gets access key id "AKID-<name>-<n>",
    // secret "secret", source `name` and `expiration`; it does not apply because "<name> is not
    // configured", and fails with "<name> is broken".
    explicit FakeCredentialsProvider(
        std::string name, Mode mode = Mode::credentials,
        std::optional<std::chrono::system_clock::time_point> expiration = std::nullopt)
        : name_(std::move(name)),
          source_(name_),
          reason_(name_ + " is not configured"),
          error_(name_ + " is broken"),
          mode_(mode),
          expiration_(expiration) {}

    // Fixed keys AKIDTEST/secret from the environment, as provider "static"; or, not
    // `available`, the CredentialsError of a default chain that finds nothing.
    explicit FakeCredentialsProvider(bool available = true)
        : FakeCredentialsProvider("static", available ? Mode::credentials : Mode::error) {
        with_keys("AKIDTEST", "secret");
        source_ = "environment";
        error_ = "no AWS credentials found (test)";
    }

    // Every call gets these keys instead of numbered ones.
    FakeCredentialsProvider& with_keys(std::string access_key_id, std::string secret) {
        access_key_id_ = std::move(access_key_id);
        secret_ = std::move(secret);
        return *this;
    }
    // Why this source does not apply, in Mode::not_applicable.
    FakeCredentialsProvider& with_reason(std::string reason) {
        reason_ = std::move(reason);
        return *this;
    }
    void set_mode(Mode mode) { mode_ = mode; }

    std::string name() const override { return name_; }
    aws::ProviderResult resolve() override {
        const int n = ++*calls;
        switch (mode_) {
            case Mode::credentials:
                return {credentials(n), {}};
            case Mode::not_applicable:
                return {std::nullopt, reason_};
            case Mode::error:
                break;
        }
        throw aws::CredentialsError(error_);
    }

    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);

  private:
    aws::AwsCredentials credentials(int n) const {
        aws::AwsCredentials credentials;
        credentials.keys = {access_key_id_.value_or("AKID-" + name_ + "-" + std::to_string(n)),
                            secret_, std::nullopt};
        credentials.expiration = expiration_;
        credentials.source = source_;
        return credentials;
    }

    std::string name_;
    std::string source_;
    std::string reason_;
    std::string error_;
    Mode mode_;
    std::optional<std::chrono::system_clock::time_point> expiration_;
    std::optional<std::string> access_key_id_;
    std::string secret_ = "secret";
};

}  // namespace assetctl::test
