#include "image/oci_json.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "image/image_error.hpp"
#include "registry/media_type.hpp"

namespace assetctl::image {

using registry::Digest;
using util::JsonNode;

namespace {

constexpr const char* k_ref_name_annotation = "org.opencontainers.image.ref.name";
constexpr const char* k_containerd_name_annotation = "io.containerd.image.name";
// BuildKit's provenance/SBOM manifests inside an image index.
constexpr const char* k_reference_type_annotation = "vnd.docker.reference.type";
constexpr std::string_view k_attestation_manifest = "attestation-manifest";

std::string where_in(const std::string& name, const std::string& separator,
                     const std::string& path) {
    std::string out = name;
    if (!path.empty()) {
        if (path.front() != '[') {
            out += separator;
        }
        out += path;
    }
    return out;
}

nlohmann::ordered_json parse_json(const SourceContext& context, const std::string& bytes,
                                  std::string_view what) {
    try {
        return nlohmann::ordered_json::parse(bytes);
    } catch (const nlohmann::json::exception& e) {
        context.fail(std::string(what) + " is not valid JSON (" + e.what() + ")");
    }
}

// The member `key` when it is a string.
std::optional<std::string> string_member(const JsonNode& node, std::string_view key) {
    const auto member = node.find(key);
    return member ? member->string_value() : std::nullopt;
}

std::map<std::string, std::string> string_annotations(const JsonNode& descriptor) {
    std::map<std::string, std::string> out;
    if (const auto annotations = descriptor.find("annotations");
        annotations && annotations->raw().is_object()) {
        for (const auto& [key, value] : annotations->members()) {
            if (auto text = value.string_value()) {
                out[key] = std::move(*text);
            }
        }
    }
    return out;
}

// "linux/arm64/v8" from a descriptor's platform object; "" without one.
std::string platform_text(const JsonNode& descriptor) {
    std::string out;
    if (const auto platform = descriptor.find("platform");
        platform && platform->raw().is_object()) {
        for (const char* key : {"os", "architecture", "variant"}) {
            if (const auto part = string_member(*platform, key)) {
                if (!out.empty()) {
                    out += '/';
                }
                out += *part;
            }
        }
    }
    return out;
}

}  // namespace

JsonFile::JsonFile(const SourceContext& context, const std::string& bytes, std::string_view what,
                   std::string name, std::string separator)
    : value_(parse_json(context, bytes, what)),
      name_(std::move(name)),
      separator_(std::move(separator)) {
    json_context_.raise = [label = context.label, hint = std::string(context.hint), name = name_,
                           separator = separator_](const util::JsonFailure& failure) {
        throw ImageError(label + ": " + where_in(name, separator, failure.path) + " " +
                         failure.detail + "; " + hint);
    };
}

std::string JsonFile::where(const JsonNode& node) const {
    return where_in(name_, separator_, node.path());
}

Descriptor parse_descriptor(const JsonFile& file, const JsonNode& node) {
    if (!node.raw().is_object()) {
        node.fail("is not a descriptor object");
    }
    Descriptor out;
    const auto media = string_member(node, "mediaType");
    if (!media) {
        node.fail("has no mediaType");
    }
    out.media_type = *media;
    const auto digest_text = string_member(node, "digest");
    const auto digest = digest_text ? Digest::parse(*digest_text) : std::nullopt;
    if (!digest) {
        node.fail("has no valid digest (sha256:<64 lower-case hex digits>)");
    }
    out.digest = *digest;
    const auto size_node = node.find("size");
    const auto size = size_node ? size_node->unsigned_value() : std::nullopt;
    if (!size) {
        node.fail("has no valid size (a non-negative integer)");
    }
    out.size = *size;
    out.annotations = string_annotations(node);
    out.platform = platform_text(node);
    out.where = file.where(node);
    return out;
}

std::vector<Descriptor> parse_manifests_array(const JsonFile& index) {
    const JsonNode root = index.root();
    if (!root.raw().is_object()) {
        root.fail("is not a JSON object");
    }
    const auto manifests = root.find("manifests");
    if (!manifests || !manifests->raw().is_array()) {
        root.fail("has no manifests array");
    }
    std::vector<Descriptor> out;
    for (const auto& element : manifests->elements("an array of descriptors")) {
        out.push_back(parse_descriptor(index, element));
    }
    return out;
}

ParsedManifest parse_image_manifest(const SourceContext& context, const std::string& bytes,
                                    const Descriptor& descriptor) {
    const std::string what = "image manifest " + descriptor.digest.str();
    const JsonFile file(context, bytes, what, what);
    const JsonNode root = file.root();
    if (!root.raw().is_object()) {
        root.fail("is not a JSON object");
    }
    if (const auto media = string_member(root, "mediaType");
        media && *media != descriptor.media_type) {
        root.fail("says its mediaType is " + *media + " but " + descriptor.where + " says " +
                  descriptor.media_type);
    }
    ParsedManifest out;
    const auto config = root.find("config");
    if (!config) {
        root.fail("has no config descriptor");
    }
    out.config = parse_descriptor(file, *config);
    const auto layers = root.find("layers");
    if (!layers || !layers->raw().is_array()) {
        root.fail("has no layers array");
    }
    for (const auto& layer : layers->elements("an array of descriptors")) {
        out.layers.push_back(parse_descriptor(file, layer));
    }
    return out;
}

std::vector<Digest> parse_diff_ids(const SourceContext& context, const std::string& config,
                                   const std::string& config_name, std::size_t layer_count) {
    const std::string what = "image config " + quote(config_name);
    const JsonFile file(context, config, what, what, ": ");
    const JsonNode root = file.root();
    if (!root.raw().is_object()) {
        root.fail("is not a JSON object");
    }
    const auto rootfs = root.find("rootfs");
    if (!rootfs || !rootfs->raw().is_object()) {
        root.fail("has no rootfs object");
    }
    const auto diff_ids = rootfs->find("diff_ids");
    if (!diff_ids || !diff_ids->raw().is_array()) {
        root.fail("has no rootfs.diff_ids array");
    }
    std::vector<Digest> out;
    for (const auto& item : diff_ids->elements("an array of digests")) {
        const auto text = item.string_value();
        const auto digest = text ? Digest::parse(*text) : std::nullopt;
        if (!digest) {
            item.fail("is " + item.raw().dump() + ", not a digest (sha256:<64 hex digits>)");
        }
        out.push_back(*digest);
    }
    if (out.size() != layer_count) {
        root.fail("has " + std::to_string(out.size()) + " rootfs.diff_ids but the manifest lists " +
                  std::to_string(layer_count) + " layers; they must match one to one");
    }
    return out;
}

void check_oci_layout(const SourceContext& context, const std::string& bytes) {
    const JsonFile file(context, bytes, "oci-layout", "oci-layout");
    const JsonNode root = file.root();
    if (!string_member(root, "imageLayoutVersion")) {
        root.fail("has no imageLayoutVersion");
    }
}

bool is_attestation(const Descriptor& descriptor) {
    const auto it = descriptor.annotations.find(k_reference_type_annotation);
    return it != descriptor.annotations.end() && it->second == k_attestation_manifest;
}

std::vector<std::string> annotation_names(const Descriptor& descriptor) {
    std::vector<std::string> names;
    for (const char* key : {k_ref_name_annotation, k_containerd_name_annotation}) {
        if (const auto it = descriptor.annotations.find(key);
            it != descriptor.annotations.end() && !it->second.empty() &&
            std::find(names.begin(), names.end(), it->second) == names.end()) {
            names.push_back(it->second);
        }
    }
    return names;
}

}  // namespace assetctl::image
