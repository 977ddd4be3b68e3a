#pragma once

// Internal to the image module: the JSON files of images (OCI index, image manifests and
// descriptors, image configs, oci-layout) parsed with util::JsonNode into typed values. Every
// failure is an ImageError "<label>: <file> <JSON path> <what is wrong>; <hint>".

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "image/source_files.hpp"
#include "registry/reference.hpp"
#include "util/json_node.hpp"

namespace assetctl::image {

// One parsed JSON file, named in messages as `name` ("index.json", "image manifest sha256:…").
// Its nodes raise ImageErrors through `context`: name, then the node's JSON path (after
// `separator`, or directly when the path starts with an index), then the detail. Not movable:
// nodes point at it.
class JsonFile {
  public:
    // `what` names the file when its bytes are not valid JSON.
    JsonFile(const SourceContext& context, const std::string& bytes, std::string_view what,
             std::string name, std::string separator = " ");
    JsonFile(const JsonFile&) = delete;
    JsonFile& operator=(const JsonFile&) = delete;

    util::JsonNode root() const { return util::JsonNode(value_, "", json_context_); }
    // "index.json manifests[0]": the file's name and the node's path, for messages.
    std::string where(const util::JsonNode& node) const;

  private:
    nlohmann::ordered_json value_;
    std::string name_;
    std::string separator_;
    util::JsonNode::Context json_context_;
};

struct Descriptor {
    std::string media_type;
    registry::Digest digest;
    std::uint64_t size = 0;
    std::map<std::string, std::string> annotations;
    std::string platform;  // "linux/arm64/v8", for messages
    std::string where;     // "index.json manifests[0]", for messages
};

Descriptor parse_descriptor(const JsonFile& file, const util::JsonNode& node);

// The `manifests` descriptors of an image index (index.json or a nested index).
std::vector<Descriptor> parse_manifests_array(const JsonFile& index);

struct ParsedManifest {
    Descriptor config;
    std::vector<Descriptor> layers;
};

// An image manifest's config and layers; its own mediaType, when it states one, must be the
// descriptor's.
ParsedManifest parse_image_manifest(const SourceContext& context, const std::string& bytes,
                                    const Descriptor& descriptor);

// rootfs.diff_ids of an image config, which must be `layer_count` digests.
std::vector<registry::Digest> parse_diff_ids(const SourceContext& context,
                                             const std::string& config,
                                             const std::string& config_name,
                                             std::size_t layer_count);

// oci-layout must be an object with an imageLayoutVersion string.
void check_oci_layout(const SourceContext& context, const std::string& bytes);

// BuildKit's provenance/SBOM manifests inside an image index.
bool is_attestation(const Descriptor& descriptor);
// The image names its annotations give (ref.name, then containerd's), without repeats.
std::vector<std::string> annotation_names(const Descriptor& descriptor);

}  // namespace assetctl::image
