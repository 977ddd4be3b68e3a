#include <catch2/catch.hpp>

#include "aws/endpoints.hpp"

using namespace assetctl;
using aws::EndpointSettings;

TEST_CASE("ECR and STS endpoints for every partition") {
    const EndpointSettings plain;
    CHECK(aws::ecr_endpoint("us-east-1", plain) == "https://api.ecr.us-east-1.amazonaws.com");
    CHECK(aws::ecr_endpoint("cn-north-1", plain) == "https://api.ecr.cn-north-1.amazonaws.com.cn");
    CHECK(aws::ecr_endpoint("us-gov-west-1", plain) ==
          "https://api.ecr.us-gov-west-1.amazonaws.com");
    CHECK(aws::ecr_endpoint("us-iso-east-1", plain) == "https://api.ecr.us-iso-east-1.c2s.ic.gov");
    CHECK(aws::ecr_endpoint("us-isob-east-1", plain) ==
          "https://api.ecr.us-isob-east-1.sc2s.sgov.gov");
    CHECK(aws::sts_endpoint("eu-west-1", plain) == "https://sts.eu-west-1.amazonaws.com");
    CHECK(aws::sts_endpoint("cn-northwest-1", plain) ==
          "https://sts.cn-northwest-1.amazonaws.com.cn");
}

TEST_CASE("FIPS and dual-stack variants") {
    EndpointSettings fips;
    fips.use_fips = true;
    CHECK(aws::ecr_endpoint("us-east-1", fips) == "https://ecr-fips.us-east-1.amazonaws.com");
    CHECK(aws::sts_endpoint("us-east-2", fips) == "https://sts-fips.us-east-2.amazonaws.com");
    // GovCloud's regular STS endpoint is already FIPS.
    CHECK(aws::sts_endpoint("us-gov-west-1", fips) == "https://sts.us-gov-west-1.amazonaws.com");

    EndpointSettings dual;
    dual.use_dualstack = true;
    CHECK(aws::ecr_endpoint("eu-west-1", dual) == "https://ecr.eu-west-1.api.aws");
    CHECK(aws::sts_endpoint("eu-west-1", dual) == "https://sts.eu-west-1.api.aws");
    CHECK(aws::sts_endpoint("cn-north-1", dual) ==
          "https://sts.cn-north-1.api.amazonwebservices.com.cn");

    dual.use_fips = true;
    CHECK(aws::ecr_endpoint("us-east-1", dual) == "https://ecr-fips.us-east-1.api.aws");
}

TEST_CASE("endpoint URL overrides: the service variable wins over the global one") {
    util::MapEnvironment env;
    env.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/");
    env.set("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9001");
    env.set("AWS_USE_FIPS_ENDPOINT", "TRUE");
    const auto settings = aws::endpoint_settings_from(env);
    CHECK(settings.use_fips);
    CHECK_FALSE(settings.use_dualstack);
    CHECK(aws::ecr_endpoint("us-east-1", settings) == "http://127.0.0.1:9000");
    CHECK(aws::sts_endpoint("us-east-1", settings) == "http://127.0.0.1:9001");

    env.set("AWS_ENDPOINT_URL_ECR", "https://ecr.example.test");
    CHECK(aws::ecr_endpoint("us-east-1", aws::endpoint_settings_from(env)) ==
          "https://ecr.example.test");
}

TEST_CASE("S3 addresses: virtual-hosted in every partition, FIPS and dual-stack") {
    const EndpointSettings plain;
    const auto url = [](const aws::S3Address& address) { return address.endpoint + address.path; };
    CHECK(url(aws::s3_address("eu-west-1", "assets", "a/b.zip", plain)) ==
          "https://assets.s3.eu-west-1.amazonaws.com/a/b.zip");
    CHECK(aws::s3_address("eu-west-1", "assets", "a/b.zip", plain).virtual_hosted);
    CHECK(url(aws::s3_address("cn-north-1", "assets", "k", plain)) ==
          "https://assets.s3.cn-north-1.amazonaws.com.cn/k");
    CHECK(url(aws::s3_address("us-gov-west-1", "assets", "k", plain)) ==
          "https://assets.s3.us-gov-west-1.amazonaws.com/k");
    CHECK(url(aws::s3_address("us-iso-east-1", "assets", "k", plain)) ==
          "https://assets.s3.us-iso-east-1.c2s.ic.gov/k");
    // A bucket operation: the bucket's root.
    CHECK(url(aws::s3_address("us-east-1", "assets", "", plain)) ==
          "https://assets.s3.us-east-1.amazonaws.com/");

    EndpointSettings fips;
    fips.use_fips = true;
    CHECK(url(aws::s3_address("us-gov-west-1", "assets", "k", fips)) ==
          "https://assets.s3-fips.us-gov-west-1.amazonaws.com/k");
    EndpointSettings dual;
    dual.use_dualstack = true;
    CHECK(url(aws::s3_address("eu-west-1", "assets", "k", dual)) ==
          "https://assets.s3.dualstack.eu-west-1.amazonaws.com/k");
    CHECK(url(aws::s3_address("cn-north-1", "assets", "k", dual)) ==
          "https://assets.s3.dualstack.cn-north-1.amazonaws.com.cn/k");
    dual.use_fips = true;
    CHECK(url(aws::s3_address("us-east-1", "assets", "k", dual)) ==
          "https://assets.s3-fips.dualstack.us-east-1.amazonaws.com/k");
}

TEST_CASE("S3 addresses: path style when forced, for custom endpoints and odd bucket names") {
    EndpointSettings forced;
    forced.s3_force_path_style = true;
    const auto url = [](const aws::S3Address& address) { return address.endpoint + address.path; };
    CHECK(url(aws::s3_address("eu-west-1", "assets", "a b/c", forced)) ==
          "https://s3.eu-west-1.amazonaws.com/assets/a b/c");  // decoded: encoded once on send
    CHECK_FALSE(aws::s3_address("eu-west-1", "assets", "k", forced).virtual_hosted);
    CHECK(url(aws::s3_address("eu-west-1", "assets", "", forced)) ==
          "https://s3.eu-west-1.amazonaws.com/assets");
    CHECK(url(aws::s3_address("us-gov-east-1", "assets", "k", forced)) ==
          "https://s3.us-gov-east-1.amazonaws.com/assets/k");

    const EndpointSettings plain;
    for (const char* name :
         {"my.bucket", "Assets", "my_bucket", "ab", "192.168.1.1", "-ab", "ab-"}) {
        INFO(name);
        CHECK_FALSE(aws::is_virtual_hostable_bucket(name));
        CHECK(url(aws::s3_address("us-east-1", name, "k", plain)) ==
              "https://s3.us-east-1.amazonaws.com/" + std::string(name) + "/k");
    }
    CHECK(aws::is_virtual_hostable_bucket("cdk-hnb659fds-assets-123456789012-eu-west-1"));
    CHECK_FALSE(aws::is_virtual_hostable_bucket(std::string(64, 'a')));

    EndpointSettings custom;
    custom.url = "http://127.0.0.1:9000/";
    CHECK(url(aws::s3_address("eu-west-1", "assets", "k", custom)) ==
          "http://127.0.0.1:9000/assets/k");
    custom.s3_url = "https://s3.internal.example:8443/prefix/";
    CHECK(url(aws::s3_address("eu-west-1", "assets", "k", custom)) ==
          "https://s3.internal.example:8443/prefix/assets/k");
    custom.s3_url = "not a url";
    CHECK_THROWS_AS(aws::s3_address("eu-west-1", "assets", "k", custom), std::invalid_argument);
}

TEST_CASE("S3 settings from the environment") {
    util::MapEnvironment env;
    CHECK_FALSE(aws::endpoint_settings_from(env).s3_force_path_style);
    env.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9000");
    env.set("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9002");
    env.set("CDK_S3_FORCE_PATH_STYLE", "1");
    auto settings = aws::endpoint_settings_from(env);
    CHECK(settings.s3_url == "http://127.0.0.1:9002");
    CHECK(settings.s3_force_path_style);
    CHECK(aws::s3_address("eu-west-1", "b", "k", settings).endpoint == "http://127.0.0.1:9002");

    util::MapEnvironment other;
    other.set("AWS_S3_FORCE_PATH_STYLE", "true");
    CHECK(aws::endpoint_settings_from(other).s3_force_path_style);
    other.set("AWS_S3_FORCE_PATH_STYLE", "false");
    CHECK_FALSE(aws::endpoint_settings_from(other).s3_force_path_style);
}
