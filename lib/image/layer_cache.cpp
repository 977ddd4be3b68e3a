#include "image/layer_cache.hpp"

#include <cerrno>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "image/gzip.hpp"
#include "util/fd.hpp"
#include "util/files.hpp"

namespace assetctl::image {

namespace {

// The entry if `text` is one for `diff_id` made with compressor_id(); why not otherwise.
std::optional<CachedLayer> parse_entry(const std::string& text, const registry::Digest& diff_id,
                                       std::string& why) {
    const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object()) {
        why = "not a JSON object";
        return std::nullopt;
    }
    const auto digest = json.find("digest");
    const auto size = json.find("size");
    if (digest == json.end() || !digest->is_string()) {
        why = "no \"digest\" string";
        return std::nullopt;
    }
    if (size == json.end() || !size->is_number_unsigned()) {
        why = "no \"size\" unsigned integer";
        return std::nullopt;
    }
    // An entry copied under another name or made by another compressor must not be believed.
    const auto entry_diff_id = json.find("diff_id");
    if (entry_diff_id != json.end() &&
        (!entry_diff_id->is_string() || entry_diff_id->get<std::string>() != diff_id.str())) {
        why = "\"diff_id\" is not " + diff_id.str();
        return std::nullopt;
    }
    const auto compressor = json.find("compressor");
    if (compressor != json.end() &&
        (!compressor->is_string() || compressor->get<std::string>() != compressor_id())) {
        why = "\"compressor\" is not " + compressor_id();
        return std::nullopt;
    }
    auto parsed = registry::Digest::parse(digest->get<std::string>());
    if (!parsed) {
        why = "\"digest\" is not a valid digest";
        return std::nullopt;
    }
    const auto input_size = json.find("input_size");
    return CachedLayer{std::move(*parsed), size->get<std::uint64_t>(),
                       input_size != json.end() && input_size->is_number_unsigned()
                           ? input_size->get<std::uint64_t>()
                           : 0};
}

}  // namespace

LayerCache::LayerCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

std::optional<std::filesystem::path> LayerCache::default_dir(const util::Environment& env) {
    // The XDG base directory spec says a relative XDG_CACHE_HOME is invalid and to be ignored.
    if (const auto xdg = env.get_non_empty("XDG_CACHE_HOME")) {
        const std::filesystem::path path(*xdg);
        if (path.is_absolute()) {
            return path / "assetctl";
        }
    }
    if (const auto home = env.get_non_empty("HOME")) {
        return std::filesystem::path(*home) / ".cache" / "assetctl";
    }
    return std::nullopt;
}

std::filesystem::path LayerCache::entry_path(const registry::Digest& diff_id) const {
    return dir_ / "layers" / compressor_id() /
           (diff_id.algorithm() + "-" + diff_id.hex() + ".json");
}

std::optional<CachedLayer> LayerCache::lookup(const registry::Digest& diff_id) const {
    const auto path = entry_path(diff_id);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;  // the usual miss: never stored
    }
    std::string text;
    try {
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } catch (const std::exception& e) {
        spdlog::debug("layer cache: cannot read {}: {}; treating it as a miss", path.string(),
                      e.what());
        return std::nullopt;
    }
    if (in.bad()) {
        spdlog::debug("layer cache: cannot read {}; treating it as a miss", path.string());
        return std::nullopt;
    }
    std::string why;
    auto entry = parse_entry(text, diff_id, why);
    if (!entry) {
        spdlog::debug("layer cache: ignoring malformed entry {}: {}", path.string(), why);
    }
    return entry;
}

void LayerCache::store(const registry::Digest& diff_id, const CachedLayer& layer) {
    if (store_disabled_->load()) {
        return;
    }
    const auto path = entry_path(diff_id);
    try {
        util::create_private_directories(path.parent_path());
        const nlohmann::json entry = {{"digest", layer.digest.str()},
                                      {"size", layer.size},
                                      {"input_size", layer.input_size},
                                      {"diff_id", diff_id.str()},
                                      {"compressor", compressor_id()}};
        // Readers see the old entry, no entry, or the whole new one, even with several
        // assetctl runs storing at once.
        util::write_file_atomically(
            path, entry.dump() + "\n",
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        spdlog::debug("layer cache: stored {} -> {}", diff_id.short_str(),
                      layer.digest.short_str());
    } catch (const std::exception& e) {
        if (!store_disabled_->exchange(true)) {
            spdlog::warn("layer cache: {}; not remembering compressed layers in {} this run",
                         e.what(), dir_.string());
        }
    }
}

}  // namespace assetctl::image
