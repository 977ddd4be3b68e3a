#include <catch2/catch.hpp>

#include "manifest/placeholders.hpp"

using namespace assetctl::manifest;

TEST_CASE("partition_for_region covers every partition") {
    CHECK(partition_for_region("us-east-1") == "aws");
    CHECK(partition_for_region("eu-west-1") == "aws");
    CHECK(partition_for_region("cn-north-1") == "aws-cn");
    CHECK(partition_for_region("cn-northwest-1") == "aws-cn");
    CHECK(partition_for_region("us-gov-west-1") == "aws-us-gov");
    CHECK(partition_for_region("us-iso-east-1") == "aws-iso");
    CHECK(partition_for_region("us-isob-east-1") == "aws-iso-b");
    CHECK(partition_for_region("eu-isoe-west-1") == "aws-iso-e");
    CHECK(partition_for_region("us-isof-south-1") == "aws-iso-f");
    CHECK(partition_for_region("eusc-de-east-1") == "aws-eusc");
}

TEST_CASE("resolve_placeholders replaces account, region and partition") {
    const std::string role =
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
        "cdk-hnb659fds-image-publishing-role-${AWS::AccountId}-${AWS::Region}";
    CHECK(resolve_placeholders(role, {"123456789012", "us-gov-west-1"}) ==
          "arn:aws-us-gov:iam::123456789012:role/"
          "cdk-hnb659fds-image-publishing-role-123456789012-us-gov-west-1");
    CHECK(resolve_placeholders("cdk-${AWS::AccountId}-${AWS::Region}", {"1", "cn-north-1"}) ==
          "cdk-1-cn-north-1");
}

TEST_CASE("unknown values leave their placeholders in place") {
    const std::string text = "${AWS::AccountId}/${AWS::Region}/${AWS::Partition}";
    CHECK(resolve_placeholders(text, {}) == text);
    CHECK(resolve_placeholders(text, {"1", std::nullopt}) == "1/${AWS::Region}/${AWS::Partition}");
    CHECK(resolve_placeholders(text, {std::nullopt, "eu-west-1"}) ==
          "${AWS::AccountId}/eu-west-1/aws");
    CHECK(has_placeholders(text));
    CHECK(has_placeholders(resolve_placeholders(text, {"1", std::nullopt})));
    CHECK_FALSE(has_placeholders(resolve_placeholders(text, {"1", "us-east-1"})));
}

TEST_CASE("other ${...} text is not a placeholder") {
    CHECK(resolve_placeholders("${AWS::StackName}-${Token[1]}", {"1", "us-east-1"}) ==
          "${AWS::StackName}-${Token[1]}");
    CHECK_FALSE(has_placeholders("${AWS::StackName}"));
}

TEST_CASE("a value containing a placeholder-like string is not expanded again") {
    CHECK(resolve_placeholders("${AWS::AccountId}", {"${AWS::AccountId}", "us-east-1"}) ==
          "${AWS::AccountId}");
}
