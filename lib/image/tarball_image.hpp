#pragma once

// Internal to the image module: an image read from a tarball or an OCI layout, ready to push.

#include <filesystem>
#include <memory>

#include "image/layer_store.hpp"
#include "image/pushable.hpp"
#include "image/source_image.hpp"

namespace assetctl::image {

// Reads and checks the image at `path` (read_source_image, spooling a gzip tarball into
// `spool_dir`) and, unless `check_only`, looks its uncompressed layers up in `store`.
std::shared_ptr<const Pushable> prepare_tarball_image(const std::filesystem::path& path,
                                                      const ImageSelector& selector,
                                                      const std::filesystem::path& spool_dir,
                                                      LayerStore& store, bool check_only);

}  // namespace assetctl::image
