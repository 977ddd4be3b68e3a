#pragma once

#include <filesystem>
#include <functional>
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

// The hint for a positional argument that names a file or folder: `did you mean --path X?`
// with X as the user wrote it (shell-quoted when it needs quotes).
std::string did_you_mean_path(const std::string& text);

struct SelectionCriteria {
    std::vector<std::string> selectors;  // union; none selects everything
    std::vector<std::string> stacks;     // globs over stack display names and artifact ids
};

// Whether a selector's text names an existing file or folder (the caller looks at the disk;
// selection stays pure). One that does and matches no asset was most likely meant as the
// assembly, so the error's hint says `did you mean --path X?`. Empty: never.
using NamesExistingPath = std::function<bool(const std::string&)>;

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
// a CI job should fail loudly, not publish less. Of several selectors matching nothing, one
// naming an existing path is named first.
Selection select_assets(const Assembly& assembly, const SelectionCriteria& criteria,
                        const NamesExistingPath& names_existing_path = {});

}  // namespace assetctl::manifest
