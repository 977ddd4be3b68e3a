// build_arguments on the sample cloud assembly synthesized outside the repository
// (ASSETCTL_SHARED_TESTDATA, by default ../shared/testdata, set at configure time). It is its own
// executable, not a case of docker_tests, so that when the sample is absent CTest reports it as
// Skipped (exit 77) instead of a passing test that checked nothing: Catch2 2.13 has no SKIP.
#define CATCH_CONFIG_RUNNER
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "catch_session.hpp"
#include "docker/engine_client.hpp"
#include "manifest/asset_manifest.hpp"
#include "support/asset_named.hpp"

using namespace assetctl;
using Argv = std::vector<std::string>;

using assetctl::test::asset_named;

namespace {

const std::filesystem::path k_sample_manifest =
    std::filesystem::path(ASSETCTL_SHARED_TESTDATA) /
    "cdk-out-sample/cdk.out/AssetProbeStack.assets.json";

}  // namespace

// The expected argv is written by hand from cdk-assets' Docker.build.
TEST_CASE("the shared sample's assets build with the argv cdk-assets would run") {
    const auto manifest = manifest::load_asset_manifest(k_sample_manifest);

    const auto& full = asset_named(manifest, "Full image");
    const std::string full_tag =
        "cdkasset-2f8b749dd2eb8acd8854a17772b11e4abc30d16db4860e216dda1e921bfebb89";
    CHECK(docker::local_image_tag(full.id) == full_tag);
    CHECK(docker::build_arguments(full.source, full_tag) ==
          Argv{"build",
               "--build-arg",
               "GREETING=from-cdk",
               "--build-arg",
               "OTHER=x y",
               "--build-context",
               "extra=extra",
               "--secret",
               "id=mysecret,src=secret.txt",
               "--ssh",
               "default",
               "--tag",
               full_tag,
               "--target",
               "final",
               "--file",
               "Dockerfile",
               "--network",
               "host",
               "--platform",
               "linux/amd64",
               "--output=type=docker",
               "--cache-from",
               "type=registry,ref=123456789012.dkr.ecr.us-east-1.amazonaws.com/cache:main",
               "--cache-to",
               "type=registry,ref=123456789012.dkr.ecr.us-east-1.amazonaws.com/cache:main,mode=max",
               "--no-cache",
               "."});

    const auto& plain = asset_named(manifest, "PlainImage");
    const std::string plain_tag =
        "cdkasset-5ee18ca1fe2817d8304d090c62507bda59a7f90b95250f18e8cd3fed69292077";
    CHECK(docker::local_image_tag(plain.id) == plain_tag);
    CHECK(docker::build_arguments(plain.source, plain_tag) ==
          Argv{"build", "--tag", plain_tag, "--file", "Dockerfile.alt", "."});
}

int main(int argc, char* argv[]) {
    if (!std::filesystem::exists(k_sample_manifest)) {
        std::cout << "SKIP: the shared sample is absent: " << k_sample_manifest.string()
                  << " (configure with -DASSETCTL_SHARED_TESTDATA=<dir>)\n";
        return test::k_skipped_exit_code;
    }
    return test::run_catch_session(argc, argv);
}
