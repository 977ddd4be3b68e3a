#pragma once

// Internal to the image module: `docker save` tarballs, legacy (manifest.json, <id>/layer.tar)
// and docker 25+ (the same plus an OCI layout, whose manifest is attached when it matches).

#include "image/source_files.hpp"
#include "image/source_image.hpp"

namespace assetctl::image {

// The one image of a docker-save tarball that `selector` picks. With `with_oci`, the OCI
// layout inside is looked at for the image's own manifest (see attach_oci_manifest).
SourceImage read_docker_save(const SourceFiles& files, const ImageSelector& selector,
                             bool with_oci);

}  // namespace assetctl::image
