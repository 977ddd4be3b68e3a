#include "manifest/asset_manifest.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "manifest/errors.hpp"
#include "manifest/names.hpp"
#include "manifest/schema_version.hpp"
#include "util/files.hpp"

namespace assetctl::manifest {
namespace {

constexpr std::string_view k_resynth_hint =
    "re-synthesize the app (cdk synth) with a matching aws-cdk-lib, or fix the manifest";

// `0` or `[1-9][0-9]*` below 2^32 - 1: a key JavaScript treats as an array index.
bool is_array_index(std::string_view key) {
    constexpr std::uint64_t k_max_index = 4'294'967'294;
    if (key.empty() || key.size() > 10 || (key.size() > 1 && key.front() == '0')) {
        return false;
    }
    std::uint64_t value = 0;
    for (const char c : key) {
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return value <= k_max_index;
}

// An object's members in the order cdk-assets (JavaScript) iterates them: array-index keys in
// ascending numeric order first, then the others as written. Build args and secrets reach
// `docker build` in this order.
KeyValues in_javascript_order(KeyValues values) {
    const auto indexes_end =
        std::stable_partition(values.begin(), values.end(),
                              [](const auto& entry) { return is_array_index(entry.first); });
    std::stable_sort(values.begin(), indexes_end, [](const auto& a, const auto& b) {
        return a.first.size() != b.first.size() ? a.first.size() < b.first.size()
                                                : a.first < b.first;
    });
    return values;
}

KeyValues string_members(const JsonNode& node) {
    return in_javascript_order(node.as_string_map());
}

CacheOption parse_cache_option(const JsonNode& node) {
    node.expect_object({"type", "params"});
    CacheOption option;
    option.type = node.required("type").as_non_empty_string();
    if (auto params = node.optional("params")) {
        option.params = string_members(*params);
    }
    return option;
}

void parse_aws_destination(const JsonNode& node, AwsDestination& out) {
    out.region = node.optional_string("region");
    out.assume_role_arn = node.optional_string("assumeRoleArn");
    out.assume_role_external_id = node.optional_string("assumeRoleExternalId");
    if (auto options = node.optional("assumeRoleAdditionalOptions")) {
        if (!options->raw().is_object()) {
            options->fail("expected an object of STS AssumeRole parameters, found " +
                          describe_json_value(options->raw()));
        }
        // These have fields of their own; CDK refuses them here and so do we.
        for (const char* reserved : {"RoleArn", "ExternalId"}) {
            if (options->has(reserved)) {
                options->required(reserved).fail(
                    std::string("must not be set here; use the destination's ") +
                    (std::string_view(reserved) == "RoleArn" ? "assumeRoleArn"
                                                             : "assumeRoleExternalId") +
                    " instead");
            }
        }
        out.assume_role_additional_options = options->raw();
    }
}

// `directory` xor `executable`, the one rule both kinds of source share.
template <typename Source>
void check_exactly_one(const JsonNode& node, const Source& source, std::string_view first,
                       const std::optional<std::string>& first_value) {
    if (first_value.has_value() == source.executable.has_value()) {
        node.fail(std::string("expected exactly one of '") + std::string(first) +
                      "' or 'executable', found " + (first_value ? "both" : "neither"),
                  std::string(k_resynth_hint));
    }
    if (source.executable && source.executable->empty()) {
        node.required("executable").fail("expected a non-empty array (the command to run)");
    }
}

DockerImageSource parse_docker_source(const JsonNode& node) {
    node.expect_object({"directory", "executable", "dockerFile", "dockerBuildTarget",
                        "dockerBuildArgs", "dockerBuildContexts", "dockerBuildSecrets",
                        "dockerBuildSsh", "networkMode", "platform", "dockerOutputs", "cacheFrom",
                        "cacheTo", "cacheDisabled"});
    DockerImageSource source;
    if (auto directory = node.optional("directory")) {
        source.directory = directory->as_non_empty_string();
    }
    if (auto executable = node.optional("executable")) {
        source.executable = executable->as_string_array();
    }
    check_exactly_one(node, source, "directory", source.directory);

    // An empty dockerFile is no dockerFile to cdk-assets (no --file): the context's Dockerfile.
    if (auto file = node.optional_string("dockerFile"); file && !file->empty()) {
        source.docker_file = *file;
    }
    source.docker_build_target = node.optional_string("dockerBuildTarget");
    if (auto args = node.optional("dockerBuildArgs")) {
        source.docker_build_args = string_members(*args);
    }
    if (auto contexts = node.optional("dockerBuildContexts")) {
        source.docker_build_contexts = string_members(*contexts);
    }
    if (auto secrets = node.optional("dockerBuildSecrets")) {
        source.docker_build_secrets = string_members(*secrets);
    }
    source.docker_build_ssh = node.optional_string("dockerBuildSsh");
    source.network_mode = node.optional_string("networkMode");
    source.platform = node.optional_string("platform");
    if (auto outputs = node.optional("dockerOutputs")) {
        source.docker_outputs = outputs->as_string_array();
    }
    if (auto cache_from = node.optional("cacheFrom")) {
        for (const auto& element : cache_from->elements("an array of {type, params} objects")) {
            source.cache_from.push_back(parse_cache_option(element));
        }
    }
    if (auto cache_to = node.optional("cacheTo")) {
        source.cache_to = parse_cache_option(*cache_to);
    }
    if (auto disabled = node.optional("cacheDisabled")) {
        source.cache_disabled = disabled->as_bool();
    }
    return source;
}

// The name of `key` must follow its grammar (names.hpp); placeholders stand for sample values
// of theirs, and the resolved name is checked again before use.
void check_name(const JsonNode& node, std::string_view key, const std::string& value,
                std::optional<std::string> (*problem_of)(std::string_view)) {
    if (const auto problem = problem_of(with_sample_placeholders(value))) {
        // As JSON: a control character in the name is shown escaped, not written raw.
        node.required(key).fail(nlohmann::json(value).dump() + ": " + *problem,
                                "fix the destination in the CDK app and synthesize again");
    }
}

DockerImageDestination parse_docker_destination(const std::string& id, const JsonNode& node) {
    node.expect_object({"repositoryName", "imageTag", "region", "assumeRoleArn",
                        "assumeRoleExternalId", "assumeRoleAdditionalOptions"});
    DockerImageDestination destination;
    destination.id = id;
    destination.repository_name = node.required("repositoryName").as_non_empty_string();
    destination.image_tag = node.required("imageTag").as_non_empty_string();
    check_name(node, "repositoryName", destination.repository_name, repository_name_problem);
    check_name(node, "imageTag", destination.image_tag, image_tag_problem);
    parse_aws_destination(node, destination);
    return destination;
}

FileSource parse_file_source(const JsonNode& node) {
    node.expect_object({"path", "executable", "packaging"});
    FileSource source;
    std::optional<std::string> path;
    if (auto p = node.optional("path")) {
        path = p->as_non_empty_string();
    }
    source.path = path;
    if (auto executable = node.optional("executable")) {
        source.executable = executable->as_string_array();
    }
    check_exactly_one(node, source, "path", source.path);
    if (auto packaging = node.optional("packaging")) {
        const std::string value = packaging->as_string();
        if (value == "file") {
            source.packaging = FilePackaging::file;
        } else if (value == "zip") {
            source.packaging = FilePackaging::zip;
        } else {
            packaging->fail("expected \"file\" or \"zip\", found \"" + value + "\"");
        }
    }
    return source;
}

FileDestination parse_file_destination(const std::string& id, const JsonNode& node) {
    node.expect_object({"bucketName", "objectKey", "region", "assumeRoleArn",
                        "assumeRoleExternalId", "assumeRoleAdditionalOptions"});
    FileDestination destination;
    destination.id = id;
    destination.bucket_name = node.required("bucketName").as_non_empty_string();
    destination.object_key = node.required("objectKey").as_non_empty_string();
    check_name(node, "bucketName", destination.bucket_name, bucket_name_problem);
    check_name(node, "objectKey", destination.object_key, object_key_problem);
    parse_aws_destination(node, destination);
    return destination;
}

template <typename Asset, typename ParseSource, typename ParseDestination>
std::vector<Asset> parse_assets(const JsonNode& section, ParseSource parse_source,
                                ParseDestination parse_destination) {
    std::vector<Asset> assets;
    for (const auto& [id, node] : section.members()) {
        node.expect_object({"displayName", "source", "destinations"});
        Asset asset;
        asset.id = id;
        asset.display_name = node.optional_string("displayName");
        asset.source = parse_source(node.required("source"));
        for (const auto& [destination_id, destination] : node.required("destinations").members()) {
            asset.destinations.push_back(parse_destination(destination_id, destination));
        }
        assets.push_back(std::move(asset));
    }
    return assets;
}

}  // namespace

void check_schema_version(const JsonNode& version) {
    const std::string text = version.as_string();
    const auto major = schema_major(text);
    if (!major) {
        version.fail("expected a version like \"55.0.0\", found \"" + text + "\"");
    }
    if (*major > k_newest_schema_major) {
        version.fail("schema version " + text + " is newer than this assetctl understands (" +
                         std::to_string(k_newest_schema_major) + ".x)",
                     "upgrade assetctl, or synthesize with an aws-cdk-lib that writes schema " +
                         std::to_string(k_newest_schema_major) + " or older");
    }
}

AssetManifest parse_asset_manifest(std::string_view text, ManifestOrigin origin) {
    AssetManifest manifest;
    manifest.origin = std::move(origin);
    const auto document = parse_json_document(text, manifest.origin.file);
    const JsonNode::Context context = json_context(manifest.origin.file, &manifest.unknown_keys);
    const JsonNode root(document, "", context);
    root.expect_object({"version", "files", "dockerImages"});

    const JsonNode version = root.required("version");
    check_schema_version(version);
    manifest.version = version.as_string();

    if (auto files = root.optional("files")) {
        manifest.files = parse_assets<FileAsset>(*files, parse_file_source, parse_file_destination);
    }
    if (auto images = root.optional("dockerImages")) {
        manifest.docker_images =
            parse_assets<DockerImageAsset>(*images, parse_docker_source, parse_docker_destination);
    }
    return manifest;
}

AssetManifest load_asset_manifest(const std::filesystem::path& file) {
    std::string text;
    try {
        text = util::read_file(file);
    } catch (const util::FileError& e) {
        throw ManifestError(file, "", "cannot read the asset manifest: " + std::string(e.what()));
    }
    ManifestOrigin origin;
    origin.file = file;
    origin.directory = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    return parse_asset_manifest(text, std::move(origin));
}

namespace {

nlohmann::ordered_json key_values_json(const KeyValues& values) {
    auto out = nlohmann::ordered_json::object();
    for (const auto& [key, value] : values) {
        out[key] = value;
    }
    return out;
}

nlohmann::ordered_json cache_json(const CacheOption& option) {
    nlohmann::ordered_json out{{"type", option.type}};
    if (!option.params.empty()) {
        out["params"] = key_values_json(option.params);
    }
    return out;
}

void put_aws_fields(const AwsDestination& destination, nlohmann::ordered_json& out) {
    if (destination.region) {
        out["region"] = *destination.region;
    }
    if (destination.assume_role_arn) {
        out["assumeRoleArn"] = *destination.assume_role_arn;
    }
    if (destination.assume_role_external_id) {
        out["assumeRoleExternalId"] = *destination.assume_role_external_id;
    }
    if (destination.assume_role_additional_options) {
        out["assumeRoleAdditionalOptions"] = *destination.assume_role_additional_options;
    }
}

}  // namespace

nlohmann::ordered_json to_json(const DockerImageSource& source) {
    auto out = nlohmann::ordered_json::object();
    if (source.directory) {
        out["directory"] = *source.directory;
    }
    if (source.executable) {
        out["executable"] = *source.executable;
    }
    if (source.docker_file) {
        out["dockerFile"] = *source.docker_file;
    }
    if (source.docker_build_target) {
        out["dockerBuildTarget"] = *source.docker_build_target;
    }
    if (!source.docker_build_args.empty()) {
        out["dockerBuildArgs"] = key_values_json(source.docker_build_args);
    }
    if (!source.docker_build_contexts.empty()) {
        out["dockerBuildContexts"] = key_values_json(source.docker_build_contexts);
    }
    if (!source.docker_build_secrets.empty()) {
        out["dockerBuildSecrets"] = key_values_json(source.docker_build_secrets);
    }
    if (source.docker_build_ssh) {
        out["dockerBuildSsh"] = *source.docker_build_ssh;
    }
    if (source.network_mode) {
        out["networkMode"] = *source.network_mode;
    }
    if (source.platform) {
        out["platform"] = *source.platform;
    }
    if (!source.docker_outputs.empty()) {
        out["dockerOutputs"] = source.docker_outputs;
    }
    if (!source.cache_from.empty()) {
        auto list = nlohmann::ordered_json::array();
        for (const auto& option : source.cache_from) {
            list.push_back(cache_json(option));
        }
        out["cacheFrom"] = list;
    }
    if (source.cache_to) {
        out["cacheTo"] = cache_json(*source.cache_to);
    }
    if (source.cache_disabled) {
        out["cacheDisabled"] = *source.cache_disabled;
    }
    return out;
}

nlohmann::ordered_json to_json(const FileSource& source) {
    auto out = nlohmann::ordered_json::object();
    if (source.path) {
        out["path"] = *source.path;
    }
    if (source.executable) {
        out["executable"] = *source.executable;
    }
    out["packaging"] = source.packaging == FilePackaging::zip ? "zip" : "file";
    return out;
}

nlohmann::ordered_json to_json(const DockerImageDestination& destination) {
    nlohmann::ordered_json out{{"id", destination.id},
                               {"repositoryName", destination.repository_name},
                               {"imageTag", destination.image_tag}};
    put_aws_fields(destination, out);
    return out;
}

nlohmann::ordered_json to_json(const FileDestination& destination) {
    nlohmann::ordered_json out{{"id", destination.id},
                               {"bucketName", destination.bucket_name},
                               {"objectKey", destination.object_key}};
    put_aws_fields(destination, out);
    return out;
}

}  // namespace assetctl::manifest
