#include "image/oci_layout.hpp"

#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "image/image_error.hpp"
#include "image/image_selection.hpp"
#include "registry/media_type.hpp"

namespace assetctl::image {

using registry::Digest;
namespace media_type = registry::media_type;

namespace {

constexpr std::string_view k_oci_hint =
    "re-create it, for example with `skopeo copy docker-daemon:IMAGE oci-archive:image.tar` "
    "or `docker save -o image.tar IMAGE`";

// The image manifests and nested indexes of an index, attestations left out.
struct IndexContent {
    std::vector<Descriptor> images;
    std::size_t nested_indexes = 0;
};

IndexContent index_content(const SourceContext& context, const SourceFiles& files,
                           const Descriptor& descriptor) {
    const std::string bytes = read_blob(context, files, descriptor, "image index");
    const JsonFile index(context, bytes, "image index " + descriptor.digest.str(),
                         "image index " + descriptor.digest.short_str());
    IndexContent out;
    for (auto& child : parse_manifests_array(index)) {
        if (is_attestation(child)) {
            continue;
        }
        if (media_type::is_index(child.media_type)) {
            ++out.nested_indexes;
        } else if (media_type::is_image_manifest(child.media_type)) {
            out.images.push_back(std::move(child));
        }
    }
    return out;
}

[[noreturn]] void refuse_multi_platform(const SourceContext& context, const Descriptor& descriptor,
                                        const std::string& image_name,
                                        const IndexContent& content) {
    std::string platforms;
    for (const auto& image : content.images) {
        if (!platforms.empty()) {
            platforms += ", ";
        }
        platforms += image.platform.empty() ? image.digest.short_str() : image.platform;
    }
    const std::string listed = platforms.empty() ? std::string() : ": " + platforms;
    throw ImageError(
        context.label + ": image " + quote(image_name) + " (" + descriptor.where +
        ") is a multi-platform index (" +
        std::to_string(content.images.size() + content.nested_indexes) + " entries" + listed +
        "): multi-platform images are not supported, an asset is one platform; choose one "
        "platform, for example with `docker save --platform linux/amd64 -o image.tar IMAGE` or "
        "`skopeo copy --override-arch amd64 ...`");
}

// The image manifest `descriptor` stands for: itself, or the one image manifest of an index
// that holds exactly one (besides BuildKit attestation manifests). Any other index is a
// multi-platform image, refused.
Descriptor single_platform_manifest(const SourceContext& context, const SourceFiles& files,
                                    const Descriptor& descriptor, const std::string& image_name) {
    if (media_type::is_image_manifest(descriptor.media_type)) {
        return descriptor;
    }
    const IndexContent content = index_content(context, files, descriptor);
    if (content.images.size() == 1 && content.nested_indexes == 0) {
        Descriptor chosen = content.images.front();
        chosen.where = descriptor.where + " -> " + chosen.where;
        return chosen;
    }
    if (content.images.empty() && content.nested_indexes == 0) {
        context.fail("image " + quote(image_name) + " (" + descriptor.where +
                     ") is an image index without any image manifest");
    }
    refuse_multi_platform(context, descriptor, image_name, content);
}

// index.json's images (manifests and indexes; other artifacts are skipped) as candidates.
struct IndexImages {
    std::vector<Descriptor> descriptors;
    std::vector<Candidate> candidates;
};

IndexImages index_images(const SourceContext& context, const SourceFiles& files) {
    const JsonFile index(context, files.read(context, "index.json", "index.json"), "index.json",
                         "index.json");
    IndexImages out;
    for (const auto& descriptor : parse_manifests_array(index)) {
        if (!media_type::is_image_manifest(descriptor.media_type) &&
            !media_type::is_index(descriptor.media_type)) {
            spdlog::debug("{}: skipping {} ({}): not an image", files.label(), descriptor.where,
                          descriptor.media_type);
            continue;
        }
        out.candidates.push_back(
            {annotation_names(descriptor), "unnamed image " + descriptor.digest.short_str()});
        out.descriptors.push_back(descriptor);
    }
    if (out.descriptors.empty()) {
        context.fail("index.json lists no image manifest");
    }
    return out;
}

// The config and layers of the image whose manifest is `image.manifest`.
void read_manifest_content(const SourceContext& context, const SourceFiles& files,
                           const Descriptor& manifest_descriptor, SourceImage& image) {
    const ParsedManifest manifest =
        parse_image_manifest(context, *image.manifest, manifest_descriptor);
    image.config = read_blob(context, files, manifest.config, "image config");
    image.config_digest = Digest::sha256_of(image.config);
    image.config_media_type = manifest.config.media_type;
    const auto diff_ids = parse_diff_ids(context, image.config, blob_name(manifest.config.digest),
                                         manifest.layers.size());
    for (std::size_t i = 0; i < manifest.layers.size(); ++i) {
        const Descriptor& descriptor = manifest.layers[i];
        SourceLayer layer;
        layer.bytes = blob_range(context, files, descriptor, "layer");
        layer.diff_id = diff_ids[i];
        layer.compression = detect_compression(layer.bytes);
        layer.digest = descriptor.digest;
        layer.media_type = descriptor.media_type;
        image.layers.push_back(std::move(layer));
    }
}

}  // namespace

std::string blob_name(const Digest& digest) {
    return "blobs/" + digest.algorithm() + "/" + digest.hex();
}

FileRange blob_range(const SourceContext& context, const SourceFiles& files,
                     const Descriptor& descriptor, std::string_view what) {
    const std::string name = blob_name(descriptor.digest);
    const auto range = files.find(name);
    if (!range) {
        context.fail(std::string(what) + " " + descriptor.digest.str() + " (" + descriptor.where +
                     ") is missing: there is no " + quote(name));
    }
    if (range->size != descriptor.size) {
        context.fail(std::string(what) + " " + quote(name) + " is " + std::to_string(range->size) +
                     " bytes but " + descriptor.where + " says " + std::to_string(descriptor.size));
    }
    return *range;
}

std::string read_blob(const SourceContext& context, const SourceFiles& files,
                      const Descriptor& descriptor, std::string_view what) {
    if (descriptor.digest.algorithm() != "sha256") {
        context.fail(std::string(what) + " " + descriptor.digest.str() + " (" + descriptor.where +
                     ") uses a " + descriptor.digest.algorithm() +
                     " digest; only sha256 blobs can be verified");
    }
    const FileRange range = blob_range(context, files, descriptor, what);
    if (range.size > k_max_metadata_size) {
        context.fail(std::string(what) + " " + descriptor.digest.str() + " is " +
                     std::to_string(range.size) + " bytes, far more than such a file can be");
    }
    std::string bytes = read_range(range, range.size);
    const Digest actual = Digest::sha256_of(bytes);
    if (actual != descriptor.digest) {
        context.fail(std::string(what) + " " + quote(blob_name(descriptor.digest)) +
                     " does not match its digest (its content hashes to " + actual.str() +
                     "): the blob is corrupt");
    }
    return bytes;
}

SourceImage read_oci(const SourceFiles& files, SourceFormat format, const ImageSelector& selector) {
    const SourceContext context{files.label(), k_oci_hint};
    check_oci_layout(context, files.read(context, "oci-layout", "oci-layout file"));
    const IndexImages images = index_images(context, files);
    const std::size_t chosen = select_image(context, images.candidates, selector);
    const std::string image_name = list_candidates(images.candidates, {chosen});
    const Descriptor manifest_descriptor =
        single_platform_manifest(context, files, images.descriptors[chosen], image_name);

    SourceImage image;
    image.format = format;
    image.tags = images.candidates[chosen].names;
    image.manifest = read_blob(context, files, manifest_descriptor, "image manifest");
    image.manifest_media_type = manifest_descriptor.media_type;
    read_manifest_content(context, files, manifest_descriptor, image);
    return image;
}

}  // namespace assetctl::image
