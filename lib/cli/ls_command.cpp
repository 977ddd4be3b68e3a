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
void print_asset(const Asset& asset, std::string_view type,
                 const std::optional<manifest::MissingSource>& missing, std::ostream& out) {
    out << "  " << type << " " << asset.id;
    if (asset.display_name) {
        out << "  \"" << *asset.display_name << "\"";
    }
    out << "\n    source: " << source_summary(asset.source);
    if (missing) {
        out << "  (missing: " << missing->path.string() << ")";
    }
    out << "\n";
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

nlohmann::ordered_json missing_json(const std::optional<manifest::MissingSource>& missing) {
    if (!missing) {
        return nullptr;
    }
    return {{"path", missing->path.string()},
            {"jsonPath", missing->json_path},
            {"reason", missing->detail}};
}

template <typename Asset>
nlohmann::ordered_json asset_json(const manifest::Selected<Asset>& selected, std::string_view type,
                                  const std::optional<manifest::MissingSource>& missing) {
    nlohmann::ordered_json out;
    out["type"] = type;
    out["id"] = selected.asset.id;
    out["displayName"] = selected.asset.display_name
                             ? nlohmann::ordered_json(*selected.asset.display_name)
                             : nlohmann::ordered_json(nullptr);
    out["stack"] = selected.origin.stack;
    out["artifactId"] = selected.origin.artifact_id;
    out["manifest"] = selected.origin.file.string();
    out["summary"] = source_summary(selected.asset.source);
    out["source"] = manifest::to_json(selected.asset.source);
    auto destinations = nlohmann::ordered_json::array();
    for (const auto& destination : selected.asset.destinations) {
        destinations.push_back(manifest::to_json(destination));
    }
    out["destinations"] = std::move(destinations);
    out["sourceMissing"] = missing_json(missing);
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

std::size_t Listing::missing_count() const {
    const auto present = [](const auto& missing) { return missing.has_value(); };
    return static_cast<std::size_t>(
        std::count_if(missing_images.begin(), missing_images.end(), present) +
        std::count_if(missing_files.begin(), missing_files.end(), present));
}

Listing make_listing(manifest::Selection selection) {
    Listing listing;
    for (const auto& selected : selection.docker_images) {
        listing.missing_images.push_back(
            manifest::find_missing_docker_source(selected.origin, selected.asset, selection.root));
    }
    for (const auto& selected : selection.files) {
        listing.missing_files.push_back(
            manifest::find_missing_file_source(selected.origin, selected.asset, selection.root));
    }
    listing.selection = std::move(selection);
    return listing;
}

void print_listing(const Listing& listing, std::ostream& out) {
    const auto& selection = listing.selection;
    // Group by manifest, in assembly order, images before files within a manifest.
    std::map<std::size_t, std::vector<std::size_t>> images;
    std::map<std::size_t, std::vector<std::size_t>> files;
    std::map<std::size_t, const manifest::ManifestOrigin*> origins;
    for (std::size_t i = 0; i < selection.docker_images.size(); ++i) {
        const auto& selected = selection.docker_images[i];
        images[selected.manifest_index].push_back(i);
        origins.emplace(selected.manifest_index, &selected.origin);
    }
    for (std::size_t i = 0; i < selection.files.size(); ++i) {
        const auto& selected = selection.files[i];
        files[selected.manifest_index].push_back(i);
        origins.emplace(selected.manifest_index, &selected.origin);
    }
    for (const auto& [index, origin] : origins) {
        out << origin->stack << "  (" << origin->file.string() << ")\n";
        for (const auto i : images[index]) {
            print_asset(selection.docker_images[i].asset, "docker-image", listing.missing_images[i],
                        out);
        }
        for (const auto i : files[index]) {
            print_asset(selection.files[i].asset, "file", listing.missing_files[i], out);
        }
    }
    out << counted(selection.docker_images.size(), "docker image asset", "docker image assets")
        << ", " << counted(selection.files.size(), "file asset", "file assets") << " in "
        << counted(origins.size(), "manifest", "manifests");
    if (const auto missing = listing.missing_count(); missing > 0) {
        out << ", " << counted(missing, "source", "sources") << " missing";
    }
    out << "\n";
}

nlohmann::ordered_json listing_json(const Listing& listing) {
    const auto& selection = listing.selection;
    auto assets = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < selection.docker_images.size(); ++i) {
        assets.push_back(
            asset_json(selection.docker_images[i], "docker-image", listing.missing_images[i]));
    }
    for (std::size_t i = 0; i < selection.files.size(); ++i) {
        assets.push_back(asset_json(selection.files[i], "file", listing.missing_files[i]));
    }
    return nlohmann::ordered_json{{"assets", std::move(assets)}};
}

}  // namespace assetctl::cli
