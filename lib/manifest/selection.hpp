#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "manifest/assembly.hpp"
#include "manifest/model.hpp"

namespace assetctl::manifest {

// `ASSET[:DEST]` as cdk-assets takes it; each part is a glob (`*`, `?`, `[...]`), and an empty
// part or `*` matches everything. The ASSET part matches an asset's id or its display name.
struct Selector {
    std::string text;         // as the user wrote it, for messages
    std::string asset;        // "*" when any
    std::string destination;  // "*" when any
};

Selector parse_selector(std::string_view text);

struct SelectionCriteria {
    std::vector<std::string> selectors;  // union; none selects everything
    std::vector<std::string> stacks;     // globs over stack display names and artifact ids
};

template <typename Asset>
struct Selected {
    ManifestOrigin origin;
    std::size_t manifest_index = 0;  // position of its manifest in Assembly::manifests
    Asset asset;                     // with only the selected destinations
};

struct Selection {
    std::vector<Selected<DockerImageAsset>> docker_images;
    std::vector<Selected<FileAsset>> files;
    // The cloud assembly's top folder: every source must stay inside it (a nested stage's
    // manifest names `../asset.<hash>`).
    std::filesystem::path root;

    bool empty() const { return docker_images.empty() && files.empty(); }
};

// Applies the criteria in manifest order. Every selector and every stack pattern must match
// something, otherwise a util::Fatal (exit code `input`) names the one that did not: a typo in
// a CI job should fail loudly, not publish less.
Selection select_assets(const Assembly& assembly, const SelectionCriteria& criteria);

}  // namespace assetctl::manifest
