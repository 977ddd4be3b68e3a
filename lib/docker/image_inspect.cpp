#include "docker/image_inspect.hpp"

#include <nlohmann/json.hpp>

#include "docker/engine_error.hpp"
#include "registry/reference.hpp"
#include "util/json_node.hpp"

namespace assetctl::docker {
namespace {

using util::JsonNode;

constexpr std::string_view k_sha256_prefix = "sha256:";

// "sha256:<hex>" as a registry digest: podman prints the image id as bare hex.
std::string image_id_of(const JsonNode& image) {
    const JsonNode id = image.required("Id");
    std::string text = id.as_non_empty_string();
    if (text.find(':') == std::string::npos) {
        text.insert(0, k_sha256_prefix);
    }
    if (!registry::Digest::parse(text)) {
        id.fail("not an image id (expected sha256:<64 hex digits>)");
    }
    return text;
}

std::vector<std::string> diff_ids_of(const JsonNode& image) {
    const JsonNode layers = image.required("RootFS").required("Layers");
    std::vector<std::string> out;
    for (const auto& layer : layers.elements("an array of layer diff IDs")) {
        std::string text = layer.as_non_empty_string();
        if (!registry::Digest::parse(text)) {
            layer.fail("not a layer diff ID (expected sha256:<64 hex digits>)");
        }
        out.push_back(std::move(text));
    }
    if (out.empty()) {
        layers.fail("no layers (an engine image has at least one)");
    }
    return out;
}

nlohmann::ordered_json parse_json(std::string_view output, const std::string& what) {
    try {
        return nlohmann::ordered_json::parse(output);
    } catch (const nlohmann::json::exception& e) {
        throw EngineError(what + ": malformed answer: not JSON (" + e.what() + ")", {});
    }
}

}  // namespace

ImageInspect parse_image_inspect(std::string_view output, const std::string& what) {
    const auto json = parse_json(output, what);
    const JsonNode::Context context{
        [&what](const util::JsonFailure& failure) {
            throw EngineError(
                what + ": malformed answer: " +
                    (failure.path.empty() ? std::string("the answer") : failure.path) + ": " +
                    failure.detail,
                {});
        },
        nullptr};
    const JsonNode root(json, "", context);
    const auto images = root.elements("an array of one image");
    if (images.size() != 1) {
        root.fail("expected one image, got " + std::to_string(images.size()));
    }
    const JsonNode& image = images.front();
    ImageInspect inspect;
    inspect.id = image_id_of(image);
    inspect.diff_ids = diff_ids_of(image);
    inspect.os = image.required("Os").as_non_empty_string();
    inspect.architecture = image.required("Architecture").as_non_empty_string();
    inspect.variant = image.optional_string("Variant").value_or("");
    return inspect;
}

}  // namespace assetctl::docker
