#pragma once

// Internal to the image module: OCI image layouts (a folder, or an OCI archive's content) and
// their content-addressed blobs, which docker 25+ saves contain too.

#include <string>
#include <string_view>

#include "image/oci_json.hpp"
#include "image/source_files.hpp"
#include "image/source_image.hpp"

namespace assetctl::image {

// "blobs/<algorithm>/<hex>": Digest::parse allows only [a-z0-9]+ algorithms and hex, so the
// name cannot leave blobs/.
std::string blob_name(const registry::Digest& digest);

// The blob a descriptor points to, checked: present and of the descriptor's size.
FileRange blob_range(const SourceContext& context, const SourceFiles& files,
                     const Descriptor& descriptor, std::string_view what);

// A small blob's bytes (a manifest, index or config), checked against its sha256 digest.
std::string read_blob(const SourceContext& context, const SourceFiles& files,
                      const Descriptor& descriptor, std::string_view what);

// The one image of an OCI layout (or OCI archive) that `selector` picks.
SourceImage read_oci(const SourceFiles& files, SourceFormat format, const ImageSelector& selector);

}  // namespace assetctl::image
