#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "aws/credentials.hpp"

namespace assetctl::test {

// A CredentialsProvider with fixed keys, or none at all (then resolve() throws like the
// default chain does when nothing applies).
class StaticCredentials final : public aws::CredentialsProvider {
  public:
    explicit StaticCredentials(bool available = true) : available_(available) {}

    std::string name() const override { return "static"; }
    aws::ProviderResult resolve() override {
        if (!available_) {
            throw aws::CredentialsError("no AWS credentials found (test)");
        }
        aws::AwsCredentials credentials;
        credentials.keys = {"AKIDTEST", "secret", std::nullopt};
        credentials.source = "environment";
        return {credentials, ""};
    }

  private:
    bool available_;
};

}  // namespace assetctl::test
