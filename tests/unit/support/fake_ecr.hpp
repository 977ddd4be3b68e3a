#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aws/aws_error.hpp"
#include "aws/ecr.hpp"
#include "support/surprises.hpp"

namespace assetctl::test {

// An in-memory ECR: repositories per region, tags per repository; every call recorded. The
// calls nothing should make are surprises: they fail the test even if the caller catches them.
class FakeEcr final : public aws::EcrApi {
  public:
    std::set<std::pair<std::string, std::string>> existing;  // (region, repository)
    std::set<std::string> tags;                              // "region/repository:tag"
    std::set<std::string> immutable;                         // "region/repository"
    // Tags BatchGetImage does not see yet but DescribeImages does (published meanwhile).
    std::set<std::string> published_concurrently;
    bool refuse_login = false;

    aws::RegistryAuthorization get_authorization_token(const aws::AwsCredentials&,
                                                       const std::string& region) override {
        record("GetAuthorizationToken " + region);
        if (refuse_login) {
            throw aws::AwsError("ecr", "GetAuthorizationToken", 400, "AccessDeniedException",
                                "not allowed", "");
        }
        return {"AWS", password, "https://" + host(region), {}};
    }
    // The password get_authorization_token hands out; a test changes it to model a new token.
    std::string password = "pw";
    void forget_authorization_token(const aws::AwsCredentials&, const std::string& region,
                                    const std::string& refused) override {
        record("ForgetAuthorizationToken " + region + " " + refused);
    }
    std::optional<aws::Repository> describe_repository(const aws::AwsCredentials&,
                                                       const std::string& region,
                                                       const std::string& name) override {
        record("DescribeRepositories " + region + "/" + name);
        std::lock_guard lock(mutex_);
        if (!existing.contains({region, name})) {
            return std::nullopt;
        }
        return aws::Repository{name, host(region) + "/" + name, "123456789012", "",
                               immutable.contains(region + "/" + name) ? "IMMUTABLE" : "MUTABLE"};
    }
    std::optional<aws::ImageDetail> describe_image(const aws::AwsCredentials&,
                                                   const std::string& region,
                                                   const std::string& repository,
                                                   const std::string& tag) override {
        record("DescribeImages " + region + "/" + repository + ":" + tag);
        std::lock_guard lock(mutex_);
        const auto key = region + "/" + repository + ":" + tag;
        if (!tags.contains(key) && !published_concurrently.contains(key)) {
            return std::nullopt;
        }
        return aws::ImageDetail{"sha256:feed", {tag}, ""};
    }
    aws::ImageLookup batch_get_image(const aws::AwsCredentials&, const std::string& region,
                                     const std::string& repository,
                                     const std::vector<std::string>& wanted) override {
        std::string call = "BatchGetImage " + region + "/" + repository;
        for (const auto& tag : wanted) {
            call += " " + tag;
        }
        record(std::move(call));
        std::lock_guard lock(mutex_);
        aws::ImageLookup lookup;
        for (const auto& tag : wanted) {
            if (tags.contains(region + "/" + repository + ":" + tag)) {
                lookup.found.emplace_back(tag, "sha256:feed");
            } else {
                lookup.missing.push_back(tag);
            }
        }
        return lookup;
    }
    // Nothing publishes through these; a call is a surprise (support/surprises.hpp).
    std::vector<aws::LayerAvailability> batch_check_layer_availability(
        const aws::AwsCredentials&, const std::string& region, const std::string& repository,
        const std::vector<std::string>&) override {
        surprises_.raise("FakeEcr: unexpected BatchCheckLayerAvailability " + region + "/" +
                         repository);
    }
    aws::Repository create_repository(const aws::AwsCredentials&, const std::string& region,
                                      const std::string& name) override {
        surprises_.raise("FakeEcr: unexpected CreateRepository " + region + "/" + name);
    }

    std::vector<std::string> calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    // Lookups of repositories only (the doctor tests count them).
    std::vector<std::string> repository_lookups() const {
        std::vector<std::string> out;
        for (const auto& call : calls()) {
            if (call.rfind("DescribeRepositories ", 0) == 0) {
                out.push_back(call.substr(std::string("DescribeRepositories ").size()));
            }
        }
        return out;
    }

    static std::string host(const std::string& region) {
        return "123456789012.dkr.ecr." + region + ".amazonaws.com";
    }

  private:
    void record(std::string call) {
        std::lock_guard lock(mutex_);
        calls_.push_back(std::move(call));
    }

    Surprises surprises_;
    mutable std::mutex mutex_;
    std::vector<std::string> calls_;
};

}  // namespace assetctl::test
