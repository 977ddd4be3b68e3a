#include "registry/media_type.hpp"

namespace assetctl::registry::media_type {

bool is_image_manifest(std::string_view media_type) {
    return media_type == k_docker_manifest || media_type == k_oci_manifest;
}

bool is_index(std::string_view media_type) {
    return media_type == k_docker_manifest_list || media_type == k_oci_index;
}

bool is_non_distributable_layer(std::string_view media_type) {
    return media_type.find(".foreign.") != std::string_view::npos ||
           media_type.find(".nondistributable.") != std::string_view::npos;
}

std::string manifest_accept_header() {
    return std::string(k_oci_manifest) + ", " + std::string(k_oci_index) + ", " +
           std::string(k_docker_manifest) + ", " + std::string(k_docker_manifest_list);
}

}  // namespace assetctl::registry::media_type
