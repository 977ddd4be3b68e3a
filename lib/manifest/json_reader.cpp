#include "manifest/json_reader.hpp"

#include "manifest/errors.hpp"

namespace assetctl::manifest {

nlohmann::ordered_json parse_json_document(std::string_view text,
                                           const std::filesystem::path& file) {
    try {
        return nlohmann::ordered_json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::exception& e) {
        // A syntax error or a number too large (out_of_range.406, found by fuzz_asset_manifest).
        // what() starts with "[json.exception.parse_error.101] "; keep the readable rest.
        std::string reason = e.what();
        if (auto pos = reason.find("] "); pos != std::string::npos) {
            reason = reason.substr(pos + 2);
        }
        throw ManifestError(file, "", "malformed JSON: " + reason,
                            "re-synthesize the app (cdk synth) or fix the file by hand");
    }
}

JsonNode::Context json_context(const std::filesystem::path& file,
                               std::vector<std::string>* unknown_keys) {
    JsonNode::Context context;
    context.raise = [file](const util::JsonFailure& failure) {
        throw ManifestError(file, failure.path, failure.detail, failure.hint);
    };
    context.unknown_keys = unknown_keys;
    return context;
}

}  // namespace assetctl::manifest
