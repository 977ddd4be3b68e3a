#pragma once

#include <string>
#include <string_view>

// Every media type string the registry client and the image readers use, and the helpers that
// classify them. Nothing else in lib/ spells out an `application/vnd...` literal.
namespace assetctl::registry::media_type {

// Manifests: single-platform (Docker v2 schema 2, OCI) and multi-platform lists.
inline constexpr std::string_view k_docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view k_docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view k_oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view k_oci_index = "application/vnd.oci.image.index.v1+json";

// Image configs.
inline constexpr std::string_view k_docker_config =
    "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view k_oci_config = "application/vnd.oci.image.config.v1+json";

// Layers.
inline constexpr std::string_view k_docker_layer_gzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view k_docker_layer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view k_oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view k_oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view k_oci_layer = "application/vnd.oci.image.layer.v1.tar";

// The Content-Type of blob uploads.
inline constexpr std::string_view k_octet_stream = "application/octet-stream";

// A single-platform manifest (Docker v2 schema 2 or OCI).
bool is_image_manifest(std::string_view media_type);
// A multi-platform list (Docker manifest list or OCI index).
bool is_index(std::string_view media_type);
// A layer a registry never receives: a Windows foreign layer
// (`application/vnd.docker.image.rootfs.foreign.diff.tar.gzip`) or an OCI non-distributable one
// (`application/vnd.oci.image.layer.nondistributable.v1.tar+gzip`); their bytes come from `urls`.
bool is_non_distributable_layer(std::string_view media_type);
// The Accept header for manifest requests: all four types. A registry that is not told it may
// answer with an index or OCI manifest can refuse (distribution: MANIFEST_UNKNOWN "OCI index
// found, but accept header does not support OCI indexes") or down-convert to schema 1.
std::string manifest_accept_header();

}  // namespace assetctl::registry::media_type
