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
