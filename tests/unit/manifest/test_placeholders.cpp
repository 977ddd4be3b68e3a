#include <catch2/catch.hpp>

#include "manifest/placeholders.hpp"

using namespace assetctl::manifest;

TEST_CASE("resolve_placeholders replaces account, region and partition") {
    const std::string role =
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
        "cdk-hnb659fds-image-publishing-role-${AWS::AccountId}-${AWS::Region}";
    CHECK(resolve_placeholders(role, {"123456789012", "us-gov-west-1", "aws-us-gov"}) ==
          "arn:aws-us-gov:iam::123456789012:role/"
          "cdk-hnb659fds-image-publishing-role-123456789012-us-gov-west-1");
    CHECK(resolve_placeholders("cdk-${AWS::AccountId}-${AWS::Region}",
                               {"1", "cn-north-1", "aws-cn"}) == "cdk-1-cn-north-1");
}

TEST_CASE("unknown values leave their placeholders in place") {
    const std::string text = "${AWS::AccountId}/${AWS::Region}/${AWS::Partition}";
    CHECK(resolve_placeholders(text, {}) == text);
    CHECK(resolve_placeholders(text, {"1", std::nullopt, std::nullopt}) ==
          "1/${AWS::Region}/${AWS::Partition}");
    CHECK(resolve_placeholders(text, {std::nullopt, std::nullopt, "aws-cn"}) ==
          "${AWS::AccountId}/${AWS::Region}/aws-cn");
    CHECK(resolve_placeholders(text, {std::nullopt, "eu-west-1", "aws"}) ==
          "${AWS::AccountId}/eu-west-1/aws");
    CHECK(has_placeholders(text));
    CHECK(has_placeholders(resolve_placeholders(text, {"1", std::nullopt, std::nullopt})));
    CHECK_FALSE(has_placeholders(resolve_placeholders(text, {"1", "us-east-1", "aws"})));
}

TEST_CASE("other ${...} text is not a placeholder") {
    CHECK(resolve_placeholders("${AWS::StackName}-${Token[1]}", {"1", "us-east-1", "aws"}) ==
          "${AWS::StackName}-${Token[1]}");
    CHECK_FALSE(has_placeholders("${AWS::StackName}"));
}

TEST_CASE("a value containing a placeholder-like string is not expanded again") {
    CHECK(resolve_placeholders("${AWS::AccountId}", {"${AWS::AccountId}", "us-east-1", "aws"}) ==
          "${AWS::AccountId}");
}
