#include "cli/ls_command.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include "manifest/asset_manifest.hpp"
#include "manifest/sources.hpp"
#include "util/strings.hpp"

namespace assetctl::cli {
namespace {

std::string keys_of(const manifest::KeyValues& values) {
    std::vector<std::string> keys;
    for (const auto& [key, value] : values) {
        keys.push_back(key);
    }
    return util::join(keys, ", ");
}

std::string counted(std::size_t n, std::string_view singular, std::string_view plural) {
    return std::to_string(n) + " " + std::string(n == 1 ? singular : plural);
}

std::string cache_summary(const manifest::CacheOption& option) {
    std::string out = option.type;
    for (const auto& [key, value] : option.params) {
        out += "," + key + "=" + value;
    }
    return out;
}

std::string destination_line(const manifest::AwsDestination& destination,
                             const std::string& target) {
    std::string line = destination.id + "  " + target;
    line += "  region=" + destination.region.value_or("(default)");
    if (destination.assume_role_arn) {
        line += "  role=" + *destination.assume_role_arn;
    }
    if (destination.assume_role_external_id) {
        line += "  external-id=" + *destination.assume_role_external_id;
    }
    if (destination.assume_role_additional_options) {
        std::vector<std::string> keys;
        for (const auto& [key, value] : destination.assume_role_additional_options->items()) {
            keys.push_back(key);
        }
        line += "  assume-role-options=" + util::join(keys, ",");
    }
    return line;
}

template <typename Asset>
void print_asset(const Asset& asset, std::string_view type, const std::string& summary,
                 std::ostream& out) {
    out << "  " << type << " " << asset.id;
    if (asset.display_name) {
        out << "  \"" << *asset.display_name << "\"";
    }
    out << "\n    source: " << summary << "\n";
    for (std::size_t i = 0; i < asset.destinations.size(); ++i) {
        const auto& destination = asset.destinations[i];
        const bool last = i + 1 == asset.destinations.size();
        std::string target;
        if constexpr (std::is_same_v<Asset, manifest::DockerImageAsset>) {
            target = destination.repository_name + ":" + destination.image_tag;
        } else {
            target = "s3://" + destination.bucket_name + "/" + destination.object_key;
        }
        out << "    " << (last ? "└─ " : "├─ ") << destination_line(destination, target) << "\n";
    }
}

template <typename Asset>
nlohmann::ordered_json asset_json(const manifest::Selected<Asset>& selected, std::string_view type,
                                  const std::string& summary) {
    nlohmann::ordered_json out;
    out["type"] = type;
    out["id"] = selected.asset.id;
    out["displayName"] = selected.asset.display_name
                             ? nlohmann::ordered_json(*selected.asset.display_name)
                             : nlohmann::ordered_json(nullptr);
    out["stack"] = selected.origin.stack;
    out["artifactId"] = selected.origin.artifact_id;
    out["manifest"] = selected.origin.file.string();
    out["summary"] = summary;
    out["source"] = manifest::to_json(selected.asset.source);
    auto destinations = nlohmann::ordered_json::array();
    for (const auto& destination : selected.asset.destinations) {
        destinations.push_back(manifest::to_json(destination));
    }
    out["destinations"] = std::move(destinations);
    return out;
}

}  // namespace

std::string source_summary(const manifest::DockerImageSource& source) {
    if (source.executable) {
        if (auto tarball = manifest::cdk_tarball_path(*source.executable)) {
            return "load tarball " + *tarball;
        }
        return "run " + util::shell_join(*source.executable);
    }
    std::vector<std::string> details;
    details.push_back(source.docker_file.value_or("Dockerfile"));
    if (source.docker_build_target) {
        details.push_back("target " + *source.docker_build_target);
    }
    if (source.platform) {
        details.push_back("platform " + *source.platform);
    }
    if (source.network_mode) {
        details.push_back("network " + *source.network_mode);
    }
    if (!source.docker_build_args.empty()) {
        details.push_back(counted(source.docker_build_args.size(), "build arg", "build args") +
                          " (" + keys_of(source.docker_build_args) + ")");
    }
    if (!source.docker_build_secrets.empty()) {
        details.push_back(counted(source.docker_build_secrets.size(), "secret", "secrets") + " (" +
                          keys_of(source.docker_build_secrets) + ")");
    }
    if (source.docker_build_ssh) {
        details.push_back("ssh " + *source.docker_build_ssh);
    }
    if (!source.docker_build_contexts.empty()) {
        details.push_back(
            counted(source.docker_build_contexts.size(), "build context", "build contexts") + " (" +
            keys_of(source.docker_build_contexts) + ")");
    }
    for (const auto& output : source.docker_outputs) {
        details.push_back("output " + output);
    }
    for (const auto& cache : source.cache_from) {
        details.push_back("cache from " + cache_summary(cache));
    }
    if (source.cache_to) {
        details.push_back("cache to " + cache_summary(*source.cache_to));
    }
    if (source.cache_disabled.value_or(false)) {
        details.push_back("no cache");
    }
    return "build " + *source.directory + " (" + util::join(details, ", ") + ")";
}

std::string source_summary(const manifest::FileSource& source) {
    if (source.executable) {
        return "run " + util::shell_join(*source.executable);
    }
    return std::string(source.packaging == manifest::FilePackaging::zip ? "zip " : "file ") +
           *source.path;
}

void print_listing(const manifest::Selection& selection, std::ostream& out) {
    // Group by manifest, in assembly order, images before files within a manifest.
    std::map<std::size_t, std::vector<const manifest::Selected<manifest::DockerImageAsset>*>>
        images;
    std::map<std::size_t, std::vector<const manifest::Selected<manifest::FileAsset>*>> files;
    std::map<std::size_t, const manifest::ManifestOrigin*> origins;
    for (const auto& selected : selection.docker_images) {
        images[selected.manifest_index].push_back(&selected);
        origins.emplace(selected.manifest_index, &selected.origin);
    }
    for (const auto& selected : selection.files) {
        files[selected.manifest_index].push_back(&selected);
        origins.emplace(selected.manifest_index, &selected.origin);
    }
    for (const auto& [index, origin] : origins) {
        out << origin->stack << "  (" << origin->file.string() << ")\n";
        for (const auto* selected : images[index]) {
            print_asset(selected->asset, "docker-image", source_summary(selected->asset.source),
                        out);
        }
        for (const auto* selected : files[index]) {
            print_asset(selected->asset, "file", source_summary(selected->asset.source), out);
        }
    }
    out << counted(selection.docker_images.size(), "docker image asset", "docker image assets")
        << ", " << counted(selection.files.size(), "file asset", "file assets") << " in "
        << counted(origins.size(), "manifest", "manifests") << "\n";
}

nlohmann::ordered_json listing_json(const manifest::Selection& selection) {
    auto assets = nlohmann::ordered_json::array();
    for (const auto& selected : selection.docker_images) {
        assets.push_back(
            asset_json(selected, "docker-image", source_summary(selected.asset.source)));
    }
    for (const auto& selected : selection.files) {
        assets.push_back(asset_json(selected, "file", source_summary(selected.asset.source)));
    }
    return nlohmann::ordered_json{{"assets", std::move(assets)}};
}

}  // namespace assetctl::cli
