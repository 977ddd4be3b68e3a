#include "cli/assembly_input.hpp"

#include <algorithm>
#include <filesystem>

#include "manifest/errors.hpp"

namespace assetctl::cli {
namespace {

namespace fs = std::filesystem;

bool names_existing_path(const std::string& text) {
    std::error_code ec;
    return !text.empty() && fs::exists(fs::path(text), ec);
}

}  // namespace

manifest::Assembly load_assembly_for(const std::string& path,
                                     const std::vector<std::string>& selectors) {
    try {
        return manifest::load_assembly(path);
    } catch (const manifest::ManifestError& e) {
        const auto named = std::find_if(selectors.begin(), selectors.end(), names_existing_path);
        if (named == selectors.end() || names_existing_path(path)) {
            throw;
        }
        throw manifest::ManifestError(e.file(), e.json_path(), e.detail(),
                                      manifest::did_you_mean_path(*named));
    }
}

manifest::Selection select_assets_for(const manifest::Assembly& assembly,
                                      const std::vector<std::string>& selectors,
                                      const std::vector<std::string>& stacks) {
    return manifest::select_assets(assembly, {selectors, stacks}, names_existing_path);
}

}  // namespace assetctl::cli
