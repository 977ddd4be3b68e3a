// An asset manifest (`*.assets.json`) as a cloud assembly hands it over: parsed, written back
// as JSON (`ls --json`), and selected with the selector after k_part_separator, if any (a whole
// fixture file is a seed as it is). The names are resolved and checked as publish does. The only
// failures allowed are the typed ones a user sees as a clear message: ManifestError (and
// util::Fatal, which a selection matching nothing raises). Anything else escaping is a defect.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "manifest/asset_manifest.hpp"
#include "manifest/errors.hpp"
#include "manifest/names.hpp"
#include "manifest/placeholders.hpp"
#include "manifest/selection.hpp"

using namespace assetctl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 2);
    const auto text = parts[0];
    const auto selector = parts[1];
    manifest::Assembly assembly;
    try {
        assembly.manifests.push_back(manifest::parse_asset_manifest(
            text,
            {.file = "fuzz.assets.json", .directory = "/fuzz", .artifact_id = "", .stack = ""}));
    } catch (const manifest::ManifestError&) {
        return 0;
    }
    const manifest::PlaceholderValues values{"123456789012", "eu-west-1", "aws"};
    for (const auto& asset : assembly.manifests.front().docker_images) {
        (void)manifest::to_json(asset.source);
        for (const auto& destination : asset.destinations) {
            (void)manifest::to_json(destination);
            // What publish does with the names once resolved: resolve, then check again.
            (void)manifest::repository_name_problem(
                manifest::resolve_placeholders(destination.repository_name, values));
            (void)manifest::image_tag_problem(
                manifest::resolve_placeholders(destination.image_tag, values));
        }
    }
    for (const auto& asset : assembly.manifests.front().files) {
        (void)manifest::to_json(asset.source);
        for (const auto& destination : asset.destinations) {
            (void)manifest::to_json(destination);
            (void)manifest::bucket_name_problem(
                manifest::resolve_placeholders(destination.bucket_name, values));
            (void)manifest::object_key_problem(
                manifest::resolve_placeholders(destination.object_key, values));
        }
    }
    try {
        std::vector<std::string> selectors;
        if (!selector.empty()) {
            selectors.emplace_back(selector);
        }
        (void)manifest::select_assets(assembly, {selectors, {}});
    } catch (const util::Fatal&) {
    }
    return 0;
}
