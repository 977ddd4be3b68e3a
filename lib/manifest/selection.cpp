#include "manifest/selection.hpp"

#include <optional>
#include <set>
#include <utility>

#include "util/error.hpp"
#include "util/glob.hpp"
#include "util/strings.hpp"

namespace assetctl::manifest {
namespace {

constexpr std::string_view k_ls_hint =
    "`assetctl ls` lists the stacks, asset ids, display names and destinations";

bool matches_asset(const Selector& selector, const std::string& id,
                   const std::optional<std::string>& display_name) {
    return util::glob_match(selector.asset, id) ||
           (display_name && util::glob_match(selector.asset, *display_name));
}

class Matcher {
  public:
    Matcher(const SelectionCriteria& criteria, NamesExistingPath names_existing_path)
        : names_existing_path_(std::move(names_existing_path)) {
        for (const auto& text : criteria.selectors) {
            selectors_.push_back(parse_selector(text));
        }
        selector_used_.assign(selectors_.size(), false);
        stacks_ = criteria.stacks;
        stack_used_.assign(stacks_.size(), false);
    }

    bool stack_selected(const ManifestOrigin& origin) {
        if (stacks_.empty()) {
            return true;
        }
        bool selected = false;
        for (std::size_t i = 0; i < stacks_.size(); ++i) {
            const auto& pattern = stacks_[i];
            if (util::glob_match(pattern, origin.stack) ||
                (!origin.artifact_id.empty() && util::glob_match(pattern, origin.artifact_id))) {
                stack_used_[i] = true;
                selected = true;
            }
        }
        return selected;
    }

    // Keeps the destinations some selector asks for; false when none is left.
    template <typename Asset>
    bool filter(Asset& asset) {
        if (selectors_.empty()) {
            return true;
        }
        if (asset.destinations.empty()) {
            return any_selector_takes(asset,
                                      [](const Selector& s) { return s.destination == "*"; });
        }
        std::erase_if(asset.destinations, [&](const auto& destination) {
            return !any_selector_takes(asset, [&](const Selector& s) {
                return util::glob_match(s.destination, destination.id);
            });
        });
        return !asset.destinations.empty();
    }

    void check_all_used(const Assembly& assembly) const {
        for (std::size_t i = 0; i < stacks_.size(); ++i) {
            if (!stack_used_[i]) {
                std::set<std::string> names;
                for (const auto& manifest : assembly.manifests) {
                    names.insert(manifest.origin.stack);
                }
                throw util::Fatal(
                    util::ExitCode::input,
                    "--stack '" + stacks_[i] + "' matches no stack in " + assembly.root.string() +
                        " (stacks with assets: " +
                        util::join(std::vector<std::string>(names.begin(), names.end()), ", ") +
                        ")",
                    std::string(k_ls_hint));
            }
        }
        if (const auto unused = first_unused_selector()) {
            const auto& selector = selectors_[*unused];
            throw util::Fatal(
                util::ExitCode::input,
                "selector '" + selector.text + "' matches no asset" +
                    (stacks_.empty() ? "" : " in the selected stacks") + " of " +
                    assembly.root.string(),
                names_path(selector) ? did_you_mean_path(selector.text) : std::string(k_ls_hint));
        }
    }

  private:
    bool names_path(const Selector& selector) const {
        return names_existing_path_ && names_existing_path_(selector.text);
    }

    // The first selector that matched nothing, preferring one that names a file or folder.
    std::optional<std::size_t> first_unused_selector() const {
        std::optional<std::size_t> first;
        for (std::size_t i = 0; i < selectors_.size(); ++i) {
            if (selector_used_[i]) {
                continue;
            }
            if (names_path(selectors_[i])) {
                return i;
            }
            if (!first) {
                first = i;
            }
        }
        return first;
    }

    template <typename Asset, typename DestinationTest>
    bool any_selector_takes(const Asset& asset, DestinationTest destination_matches) {
        bool taken = false;
        for (std::size_t i = 0; i < selectors_.size(); ++i) {
            if (matches_asset(selectors_[i], asset.id, asset.display_name) &&
                destination_matches(selectors_[i])) {
                selector_used_[i] = true;
                taken = true;
            }
        }
        return taken;
    }

    NamesExistingPath names_existing_path_;
    std::vector<Selector> selectors_;
    std::vector<bool> selector_used_;
    std::vector<std::string> stacks_;
    std::vector<bool> stack_used_;
};

}  // namespace

std::string did_you_mean_path(const std::string& text) {
    return "did you mean --path " + util::shell_quote(text) +
           "? (positional arguments are ASSET[:DEST] selectors)";
}

Selector parse_selector(std::string_view text) {
    Selector selector;
    selector.text = std::string(text);
    const auto colon = text.find(':');
    const std::string_view asset = text.substr(0, colon);
    const std::string_view destination =
        colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
    selector.asset = asset.empty() ? "*" : std::string(asset);
    selector.destination = destination.empty() ? "*" : std::string(destination);
    return selector;
}

Selection select_assets(const Assembly& assembly, const SelectionCriteria& criteria,
                        const NamesExistingPath& names_existing_path) {
    Matcher matcher(criteria, names_existing_path);
    Selection selection;
    selection.root = assembly.root;
    for (std::size_t index = 0; index < assembly.manifests.size(); ++index) {
        const auto& manifest = assembly.manifests[index];
        if (!matcher.stack_selected(manifest.origin)) {
            continue;
        }
        for (auto asset : manifest.docker_images) {
            if (matcher.filter(asset)) {
                selection.docker_images.push_back({manifest.origin, index, std::move(asset)});
            }
        }
        for (auto asset : manifest.files) {
            if (matcher.filter(asset)) {
                selection.files.push_back({manifest.origin, index, std::move(asset)});
            }
        }
    }
    matcher.check_all_used(assembly);
    return selection;
}

}  // namespace assetctl::manifest
