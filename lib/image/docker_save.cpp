#include "image/docker_save.hpp"

#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "image/image_error.hpp"
#include "image/image_selection.hpp"
#include "image/oci_json.hpp"
#include "image/oci_layout.hpp"
#include "registry/media_type.hpp"

namespace assetctl::image {

using registry::Digest;
using util::JsonNode;
namespace media_type = registry::media_type;

namespace {

constexpr std::string_view k_docker_hint =
    "re-create it with `docker save -o image.tar IMAGE` (docker load would fail on it too)";

struct DockerSaveEntry {
    std::string config;
    std::vector<std::string> repo_tags;
    std::vector<std::string> layers;
};

// The strings of an array; `node.fail("holds a non-string")` for anything else.
std::vector<std::string> strings_of(const JsonNode& node) {
    std::vector<std::string> out;
    for (const auto& element : node.elements("an array of strings")) {
        auto text = element.string_value();
        if (!text) {
            node.fail("holds a non-string");
        }
        out.push_back(std::move(*text));
    }
    return out;
}

DockerSaveEntry parse_docker_entry(const JsonNode& item) {
    if (!item.raw().is_object()) {
        item.fail("is not an object");
    }
    DockerSaveEntry entry;
    const auto config = item.find("Config");
    const auto config_text = config ? config->string_value() : std::nullopt;
    if (!config_text) {
        item.fail_member("Config", "is missing or not a string");
    }
    entry.config = *config_text;
    if (const auto tags = item.find("RepoTags"); tags && !tags->raw().is_null()) {
        if (!tags->raw().is_array()) {
            tags->fail("is not an array");
        }
        entry.repo_tags = strings_of(*tags);
    }
    const auto layers = item.find("Layers");
    if (!layers || !layers->raw().is_array()) {
        item.fail_member("Layers", "is missing or not an array");
    }
    entry.layers = strings_of(*layers);
    return entry;
}

std::vector<DockerSaveEntry> parse_docker_manifest(const SourceContext& context,
                                                   const std::string& bytes) {
    const JsonFile manifest(context, bytes, "manifest.json", "manifest.json");
    const JsonNode root = manifest.root();
    if (!root.raw().is_array() || root.raw().empty()) {
        root.fail("is not a non-empty JSON array of images");
    }
    std::vector<DockerSaveEntry> out;
    for (const auto& item : root.elements("an array of images")) {
        out.push_back(parse_docker_entry(item));
    }
    return out;
}

// A path named by manifest.json: inside the tarball and present.
FileRange docker_file(const SourceContext& context, const SourceFiles& files,
                      const std::string& name, const std::string& where) {
    const auto normalised = normalize_archive_name(name);
    if (!normalised || normalised->empty()) {
        context.fail(where + " is " + quote(name) + ", not a relative path inside the tarball");
    }
    const auto range = files.find(*normalised);
    if (!range) {
        context.fail(where + " names " + quote(name) + ", which is not in the tarball");
    }
    return *range;
}

bool same_bytes(const FileRange& a, const FileRange& b) {
    return a.file == b.file && a.offset == b.offset && a.size == b.size;
}

// The image manifests the OCI layout inside lists, nested indexes' included (attestations
// left out).
std::vector<Descriptor> listed_manifests(const SourceContext& context, const SourceFiles& files) {
    const JsonFile index(context, files.read(context, "index.json", "index.json"), "index.json",
                         "index.json");
    std::vector<Descriptor> manifests;
    for (auto& descriptor : parse_manifests_array(index)) {
        if (media_type::is_image_manifest(descriptor.media_type)) {
            manifests.push_back(std::move(descriptor));
        } else if (media_type::is_index(descriptor.media_type) &&
                   files.find(blob_name(descriptor.digest))) {
            const JsonFile nested(context, read_blob(context, files, descriptor, "image index"),
                                  "image index", descriptor.where);
            for (auto& child : parse_manifests_array(nested)) {
                if (media_type::is_image_manifest(child.media_type) && !is_attestation(child)) {
                    manifests.push_back(std::move(child));
                }
            }
        }
    }
    return manifests;
}

// Attaches the manifest `descriptor` to `image` when it has the image's config and exactly its
// layers' bytes; false otherwise.
bool attach_if_same(const SourceContext& context, const SourceFiles& files,
                    const Descriptor& descriptor, SourceImage& image) {
    std::string bytes = read_blob(context, files, descriptor, "image manifest");
    const ParsedManifest manifest = parse_image_manifest(context, bytes, descriptor);
    if (manifest.config.digest != image.config_digest ||
        manifest.config.size != image.config.size() ||
        manifest.layers.size() != image.layers.size()) {
        return false;
    }
    std::vector<FileRange> ranges;
    for (const auto& layer : manifest.layers) {
        ranges.push_back(blob_range(context, files, layer, "layer"));
    }
    for (std::size_t i = 0; i < ranges.size(); ++i) {
        if (!same_bytes(ranges[i], image.layers[i].bytes)) {
            spdlog::debug("{}: OCI manifest {} has the image's config but other layers",
                          files.label(), descriptor.digest.str());
            return false;
        }
    }
    for (std::size_t i = 0; i < manifest.layers.size(); ++i) {
        image.layers[i].digest = manifest.layers[i].digest;
        image.layers[i].media_type = manifest.layers[i].media_type;
    }
    image.manifest = std::move(bytes);
    image.manifest_media_type = descriptor.media_type;
    image.config_media_type = manifest.config.media_type;
    return true;
}

// docker 25+ also writes an OCI layout into the tarball. When one of its image manifests has
// the chosen image's config and exactly its layers, that manifest (and the layers' descriptors)
// is attached to `image`. The layout is optional for docker load, so anything wrong with it
// only means no manifest is attached.
void attach_oci_manifest(const SourceFiles& files, SourceImage& image) {
    const SourceContext context{files.label(), k_docker_hint};
    try {
        for (const auto& descriptor : listed_manifests(context, files)) {
            if (!files.find(blob_name(descriptor.digest))) {
                continue;  // another platform's manifest, listed but not saved
            }
            if (attach_if_same(context, files, descriptor, image)) {
                return;
            }
        }
        spdlog::debug("{}: no OCI manifest inside matches config {}", files.label(),
                      image.config_digest.str());
    } catch (const ImageError& e) {
        spdlog::debug("{}: the OCI layout inside is not used: {}", files.label(), e.what());
    }
}

// The config and layers manifest.json's `entry` (at `where`) names.
void read_entry_content(const SourceContext& context, const SourceFiles& files,
                        const DockerSaveEntry& entry, const std::string& where,
                        SourceImage& image) {
    const FileRange config = docker_file(context, files, entry.config, where + ".Config");
    if (config.size > k_max_metadata_size) {
        context.fail("image config " + quote(entry.config) + " is " + std::to_string(config.size) +
                     " bytes, far more than a config can be");
    }
    image.config = read_range(config, config.size);
    image.config_digest = Digest::sha256_of(image.config);
    const auto diff_ids = parse_diff_ids(context, image.config, entry.config, entry.layers.size());
    for (std::size_t i = 0; i < entry.layers.size(); ++i) {
        SourceLayer layer;
        layer.bytes = docker_file(context, files, entry.layers[i],
                                  where + ".Layers[" + std::to_string(i) + "]");
        layer.diff_id = diff_ids[i];
        layer.compression = detect_compression(layer.bytes);
        image.layers.push_back(std::move(layer));
    }
}

}  // namespace

SourceImage read_docker_save(const SourceFiles& files, const ImageSelector& selector,
                             bool with_oci) {
    const SourceContext context{files.label(), k_docker_hint};
    const auto entries =
        parse_docker_manifest(context, files.read(context, "manifest.json", "manifest.json"));
    std::vector<Candidate> candidates;
    for (const auto& entry : entries) {
        candidates.push_back({entry.repo_tags, "untagged image " + entry.config});
    }
    const std::size_t chosen = select_image(context, candidates, selector);
    const DockerSaveEntry& entry = entries[chosen];

    SourceImage image;
    image.format = with_oci ? SourceFormat::docker_archive_oci : SourceFormat::docker_archive;
    image.tags = entry.repo_tags;
    read_entry_content(context, files, entry, "manifest.json[" + std::to_string(chosen) + "]",
                       image);
    if (with_oci) {
        attach_oci_manifest(files, image);
    }
    return image;
}

}  // namespace assetctl::image
