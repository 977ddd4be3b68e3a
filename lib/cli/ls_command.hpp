#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "manifest/model.hpp"
#include "manifest/selection.hpp"
#include "manifest/sources.hpp"

namespace assetctl::cli {

// One line saying what an asset is made from, e.g.
// `build asset.abc (Dockerfile.alt, target final, platform linux/amd64, 2 build args)`.
std::string source_summary(const manifest::DockerImageSource& source);
std::string source_summary(const manifest::FileSource& source);

// What `ls` shows: the selection and, per selected asset, its source when that is missing on
// disk. `ls` lists such assets (marked) instead of failing, so an incomplete copy of a cloud
// assembly can still be inspected; build, publish and doctor refuse them.
struct Listing {
    manifest::Selection selection;
    std::vector<std::optional<manifest::MissingSource>> missing_images;  // per docker image
    std::vector<std::optional<manifest::MissingSource>> missing_files;   // per file asset

    std::size_t missing_count() const;
};

// Checks every selected asset's source on disk (a source outside the cloud assembly still
// throws ManifestError: the manifest is wrong).
Listing make_listing(manifest::Selection selection);

// `assetctl ls`: the selected assets grouped by stack, destinations as a tree; a missing
// source ends its line with `(missing: <path>)`.
void print_listing(const Listing& listing, std::ostream& out);

// `assetctl ls --json`: the same as one JSON document; each asset's `sourceMissing` is null, or
// `{"path", "jsonPath", "reason"}` when its source is missing.
nlohmann::ordered_json listing_json(const Listing& listing);

}  // namespace assetctl::cli
