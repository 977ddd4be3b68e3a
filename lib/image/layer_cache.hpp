#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "registry/reference.hpp"
#include "util/environment.hpp"

namespace assetctl::image {

// What a layer compresses to with compressor_id().
struct CachedLayer {
    registry::Digest digest;
    std::uint64_t size = 0;
    // The uncompressed layer's size; 0 when not known (an entry written before it was kept).
    // Lets the save-stream reader recognise a stored layer among unnamed entries by its size.
    std::uint64_t input_size = 0;
};

// Remembers diffID -> compressed digest and size, so a re-push of an unchanged layer needs
// neither compression nor upload (the push HEADs the cached digest). One small JSON file per
// (compressor, diffID) under <dir>/layers/, written to a temp name and renamed, so concurrent
// assetctl runs never see half an entry. An unreadable or malformed entry is a miss (debug
// log), never an error; a cache folder that cannot be created or written disables storing
// (one warning) without failing the publish.
class LayerCache {
  public:
    explicit LayerCache(std::filesystem::path dir);
    // $XDG_CACHE_HOME/assetctl, else $HOME/.cache/assetctl; nullopt when neither is set.
    static std::optional<std::filesystem::path> default_dir(const util::Environment& env);

    std::optional<CachedLayer> lookup(const registry::Digest& diff_id) const;
    void store(const registry::Digest& diff_id, const CachedLayer& layer);

    const std::filesystem::path& dir() const noexcept { return dir_; }

    // Where the entry for `diff_id` lives: <dir>/layers/<compressor_id()>/<alg>-<hex>.json.
    std::filesystem::path entry_path(const registry::Digest& diff_id) const;

  private:
    std::filesystem::path dir_;
    // Set by the first failed store (after its one warning); shared by copies. lookup and store
    // may be called from several threads at once.
    std::shared_ptr<std::atomic<bool>> store_disabled_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace assetctl::image
