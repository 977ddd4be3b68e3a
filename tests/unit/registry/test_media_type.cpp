// Media types: the four manifest types, the Accept header, layers a registry never receives.
#include <catch2/catch.hpp>

#include "registry/media_type.hpp"

using namespace assetctl::registry::media_type;

TEST_CASE("media type helpers know the four manifest types") {
    CHECK(is_image_manifest(k_docker_manifest));
    CHECK(is_image_manifest(k_oci_manifest));
    CHECK(is_index(k_docker_manifest_list));
    CHECK(is_index(k_oci_index));
    CHECK_FALSE(is_index(k_oci_manifest));
    CHECK_FALSE(is_image_manifest(k_oci_layer_gzip));
    const auto accept = manifest_accept_header();
    for (auto type : {k_docker_manifest, k_docker_manifest_list, k_oci_manifest, k_oci_index}) {
        CHECK(accept.find(type) != std::string::npos);
    }
}

TEST_CASE("foreign and non-distributable layers are recognised by their media type") {
    CHECK(is_non_distributable_layer("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"));
    CHECK(is_non_distributable_layer("application/vnd.oci.image.layer.nondistributable.v1.tar"));
    CHECK_FALSE(is_non_distributable_layer(k_docker_layer_gzip));
    CHECK_FALSE(is_non_distributable_layer(k_oci_layer_gzip));
    CHECK_FALSE(is_non_distributable_layer(k_oci_layer));
}
