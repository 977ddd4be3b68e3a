#pragma once

#include <string>
#include <vector>

#include "manifest/assembly.hpp"
#include "manifest/selection.hpp"

namespace assetctl::cli {

// The cloud assembly and selection a command line names (`--path`, positional selectors,
// `--stack`), for ls, doctor, build and publish. A positional argument that names an existing
// file or folder, where an assembly was wanted, was most likely meant as `--path`
// (`assetctl ls cdk.out.prod`): the input errors then hint `did you mean --path X?`.

// Loads the assembly at `path`; when `path` does not exist and a selector names an existing
// file or folder, the error's hint names that one.
manifest::Assembly load_assembly_for(const std::string& path,
                                     const std::vector<std::string>& selectors);

// manifest::select_assets, with the file-system test behind the hint of a selector that
// matches no asset.
manifest::Selection select_assets_for(const manifest::Assembly& assembly,
                                      const std::vector<std::string>& selectors,
                                      const std::vector<std::string>& stacks);

}  // namespace assetctl::cli
