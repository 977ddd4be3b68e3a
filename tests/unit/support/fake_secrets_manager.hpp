#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aws/aws_error.hpp"
#include "aws/secrets_manager.hpp"
#include "support/surprises.hpp"

namespace assetctl::test {

// An in-memory Secrets Manager: `secrets` maps a secret id to its SecretString (nullopt: a
// binary secret); `denied` ids answer AccessDeniedException; an id in `access_denied_first`
// answers the code `AccessDenied` (as STS words it) that many times first. Each call is recorded as
// "<region> <secret id> <caller access key id>". An id nobody scripted is a surprise.
class FakeSecretsManager final : public aws::SecretsManagerApi {
  public:
    std::map<std::string, std::optional<std::string>> secrets;
    std::vector<std::string> denied;
    std::map<std::string, int> access_denied_first;

    aws::SecretValue get_secret_value(const aws::AwsCredentials& caller, const std::string& region,
                                      const std::string& secret_id) override {
        {
            std::lock_guard lock(mutex_);
            calls_.push_back(region + " " + secret_id + " " + caller.keys.access_key_id);
        }
        for (const auto& id : denied) {
            if (id == secret_id) {
                throw aws::AwsError("secretsmanager", "GetSecretValue", 400,
                                    "AccessDeniedException", "not authorized", "");
            }
        }
        if (auto left = access_denied_first.find(secret_id);
            left != access_denied_first.end() && left->second > 0) {
            --left->second;
            throw aws::AwsError("secretsmanager", "GetSecretValue", 403, "AccessDenied",
                                "not authorized yet", "");
        }
        const auto found = secrets.find(secret_id);
        if (found == secrets.end()) {
            surprises_.raise("FakeSecretsManager: unexpected secret " + secret_id);
        }
        return {"arn:" + secret_id, secret_id, "v1", found->second};
    }

    std::vector<std::string> calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }

  private:
    Surprises surprises_;
    mutable std::mutex mutex_;
    std::vector<std::string> calls_;
};

}  // namespace assetctl::test
