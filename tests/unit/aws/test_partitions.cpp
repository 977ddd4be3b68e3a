#include <catch2/catch.hpp>

#include "aws/partitions.hpp"

using assetctl::aws::partition_for_region;

TEST_CASE("partition_for_region covers every partition", "[aws][partitions]") {
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
