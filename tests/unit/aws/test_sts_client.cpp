#include <catch2/catch.hpp>

#include "aws/sts.hpp"
#include "aws/sts_client.hpp"
#include "aws/xml.hpp"

using namespace assetctl;

TEST_CASE("assumeRoleAdditionalOptions flatten to the query protocol") {
    const auto options = nlohmann::ordered_json::parse(R"({
        "Tags": [{"Key": "team", "Value": "platform"}, {"Key": "env", "Value": "prod"}],
        "TransitiveTagKeys": ["team"],
        "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
        "DurationSeconds": 900,
        "SourceIdentity": "ci"
    })");
    const std::vector<std::pair<std::string, std::string>> expected{
        {"Tags.member.1.Key", "team"},
        {"Tags.member.1.Value", "platform"},
        {"Tags.member.2.Key", "env"},
        {"Tags.member.2.Value", "prod"},
        {"TransitiveTagKeys.member.1", "team"},
        {"PolicyArns.member.1.arn", "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        {"DurationSeconds", "900"},
        {"SourceIdentity", "ci"},
    };
    CHECK(aws::flatten_query_parameters(options) == expected);
}

TEST_CASE("session names are made safe for STS") {
    CHECK(aws::sts_session_name("runner") == "assetctl-runner");
    CHECK(aws::sts_session_name("John Doe/ci") == "assetctl-John-Doe-ci");
    CHECK(aws::sts_session_name(std::string(100, 'x')).size() == 64);
}

TEST_CASE("XML is read by local names, namespaces ignored") {
    const auto doc = aws::XmlDocument::parse(
        R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId></Credentials></AssumeRoleResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>)");
    REQUIRE(doc.has_value());
    CHECK(doc->text({"AssumeRoleResult", "Credentials", "AccessKeyId"}) == "ASIA1");
    CHECK(doc->text({"RequestId"}) == "r-1");
    CHECK_FALSE(doc->text({"AssumeRoleResult", "AccessKeyId"}).has_value());
    CHECK_FALSE(aws::XmlDocument::parse("<a><b></a>").has_value());
}

TEST_CASE("XML entities are not expanded from outside the document") {
    const auto doc = aws::XmlDocument::parse(R"(<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r><v>&x;</v></r>)");
    if (doc) {
        CHECK(doc->text({"v"}).value_or("").find("root:") == std::string::npos);
    }
}
