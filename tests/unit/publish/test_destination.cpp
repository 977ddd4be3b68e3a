// Resolving one destination: placeholders, the region, and the names checked once resolved.
#include <catch2/catch.hpp>

#include "publish/destination.hpp"

using namespace assetctl;

namespace {

std::string account() {
    return "123456789012";
}

}  // namespace

TEST_CASE("placeholders resolve into names that follow their grammar") {
    manifest::DockerImageDestination image;
    image.repository_name = "cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}";
    image.image_tag = "abc";
    image.region = "eu-west-1";
    const auto resolved = publish::resolve_destination(image, std::nullopt, account);
    CHECK(resolved.repository == "cdk-hnb659fds-container-assets-123456789012-eu-west-1");
    CHECK(resolved.region == "eu-west-1");

    manifest::FileDestination file;
    file.bucket_name = "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}";
    file.object_key = "k.zip";
    CHECK(publish::resolve_file_destination(file, "us-east-1", account).bucket ==
          "cdk-hnb659fds-assets-123456789012-us-east-1");
}

TEST_CASE("a resolved name that breaks its grammar fails that destination, naming the field") {
    manifest::DockerImageDestination image;
    image.repository_name = "repo";
    image.image_tag = "${AWS::Region} tag";
    CHECK_THROWS_WITH(
        publish::resolve_destination(image, "us-east-1", account),
        Catch::StartsWith("imageTag resolves to \"us-east-1 tag\": an image tag is") &&
            Catch::Contains("fix the destination in the CDK app"));

    manifest::FileDestination file;
    file.bucket_name = "Bucket";
    file.object_key = "k";
    CHECK_THROWS_WITH(publish::resolve_file_destination(file, "us-east-1", account),
                      Catch::StartsWith("bucketName resolves to \"Bucket\""));
}
