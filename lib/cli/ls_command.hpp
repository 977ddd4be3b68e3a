#pragma once

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "manifest/model.hpp"
#include "manifest/selection.hpp"

namespace assetctl::cli {

// One line saying what an asset is made from, e.g.
// `build asset.abc (Dockerfile.alt, target final, platform linux/amd64, 2 build args)`.
std::string source_summary(const manifest::DockerImageSource& source);
std::string source_summary(const manifest::FileSource& source);

// `assetctl ls`: the selected assets grouped by stack, destinations as a tree.
void print_listing(const manifest::Selection& selection, std::ostream& out);

// `assetctl ls --json`: the same as one JSON document.
nlohmann::ordered_json listing_json(const manifest::Selection& selection);

}  // namespace assetctl::cli
