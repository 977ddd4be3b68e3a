// An image tarball as a TarballImageAsset or an `executable` hands it over: a docker-save
// archive (legacy or docker 25+), an OCI archive, either gzip-compressed or not, read by
// read_source_image (libarchive: the tar index, then manifest.json / index.json / oci-layout,
// the OCI manifests and the config). The first byte picks the selector (none, the last loaded
// image, a tag); the rest is the file. Only ImageError may escape.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "image/image_error.hpp"
#include "image/source_image.hpp"

using namespace assetctl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput input(data, size);
    image::ImageSelector selector;
    switch (input.byte() % 4) {
        case 1:
            selector.last_loaded = true;
            break;
        case 2:
            selector.tag = "v2";
            break;
        case 3:
            selector.tag = "publish-app/tarball:v2";
            break;
        default:
            break;
    }
    const auto tarball = fuzz::write_scratch_file("image.tar", input.rest());
    const auto spool = fuzz::fresh_scratch_folder("spool");
    try {
        const auto image = image::read_source_image(tarball, selector, spool);
        (void)image.layers.size();
    } catch (const image::ImageError&) {
    }
    return 0;
}
