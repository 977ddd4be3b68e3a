#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "image/file_range.hpp"
#include "registry/reference.hpp"

namespace assetctl::image {

enum class SourceFormat {
    docker_archive,      // `docker save` before docker 25: manifest.json, <id>/layer.tar
    docker_archive_oci,  // `docker save` of docker 25+: manifest.json AND an OCI layout inside
    oci_archive,         // a tar of an OCI image layout (oci-layout, index.json, blobs/)
    oci_layout,          // an OCI image layout directory
};

const char* to_string(SourceFormat format);

struct SourceLayer {
    FileRange bytes;           // the layer as stored in the source
    registry::Digest diff_id;  // sha256 of the uncompressed tar (config rootfs.diff_ids[i])
    // How the stored bytes are compressed, from their magic bytes (1f 8b = gzip,
    // 28 b5 2f fd = zstd), whatever the file name or media type claims.
    enum class Compression { none, gzip, zstd } compression = Compression::none;
    // From the source's OCI manifest descriptor when there is one: the stored bytes' digest
    // and media type. Empty for legacy docker-save layers (their digest is the diff_id when
    // uncompressed).
    std::optional<registry::Digest> digest;
    std::string media_type;
};

// One single-platform image found in a tarball or layout, ready to be turned into a push.
struct SourceImage {
    SourceFormat format = SourceFormat::docker_archive;
    std::string config;              // the config blob's bytes, unchanged
    registry::Digest config_digest;  // sha256 of `config` = the image id
    std::string config_media_type;   // as the source manifest says; empty for docker-save
    std::vector<SourceLayer> layers;
    // Names the source gives the image: docker-save RepoTags ("name:tag"), OCI
    // `org.opencontainers.image.ref.name` and `io.containerd.image.name` annotations.
    std::vector<std::string> tags;
    // The source's own OCI/Docker manifest when it has one (OCI layouts, docker 25+ saves):
    // pushed unchanged when every layer is already compressed, so its digest is kept.
    std::optional<std::string> manifest;
    std::string manifest_media_type;
};

// Which image of a source holding several.
struct ImageSelector {
    // Pick the image with this name: an exact RepoTag or ref.name annotation, or just the tag
    // part after the last ':' when that is unambiguous.
    std::optional<std::string> tag;
    // Without a tag and with several images: take the one `docker load` reports last (the last
    // entry of docker-save's manifest.json), as a CDK TarballImageAsset does. When false,
    // several images without a tag are an ImageError listing their names.
    bool last_loaded = false;
};

// Reads the image at `path`: a docker-save tarball (legacy or docker 25+), an OCI archive, or
// an OCI layout directory; tarballs may be gzip-compressed (see TarArchive for where they are
// spooled and what is refused). Checks, with an ImageError naming the file and what is wrong:
// manifest.json / index.json / oci-layout are valid; the config is JSON with rootfs.diff_ids,
// one per layer; every referenced file exists; OCI descriptors' sizes match the blobs; blob
// names of OCI layouts are valid digests. It reads only the small files (manifests, configs):
// layer bytes are not read (diff_ids are not verified here; the compressor verifies them).
// Multi-platform indexes are refused with a clear message (one platform per asset).
SourceImage read_source_image(const std::filesystem::path& path, const ImageSelector& selector,
                              const std::filesystem::path& spool_dir);

}  // namespace assetctl::image
