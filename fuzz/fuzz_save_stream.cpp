// An engine's `save` output as the native push reads it in one pass (read_save_stream:
// `docker save` legacy or 25+, `podman save`), and a layer-cache entry as the next run finds
// it on disk. The input is three parts cut at k_part_separator: the image config (its sha256
// is the image id the stream is searched for; its rootfs.diff_ids are the wanted layers), the
// save stream itself (fed through a pipe, as from the engine), and the cache entry of the first
// wanted layer. Only ImageError may escape.
#include <cstddef>
#include <cstdint>
#include <set>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "fuzz_support.hpp"
#include "image/image_error.hpp"
#include "image/layer_cache.hpp"
#include "image/layer_store.hpp"
#include "image/save_stream.hpp"

using namespace assetctl;

namespace {

std::vector<registry::Digest> diff_ids_of(std::string_view config) {
    std::vector<registry::Digest> diff_ids;
    const auto json = nlohmann::json::parse(config, nullptr, false);
    if (!json.is_object() || !json.contains("rootfs") || !json["rootfs"].is_object()) {
        return diff_ids;
    }
    const auto& ids = json["rootfs"].value("diff_ids", nlohmann::json::array());
    for (const auto& id : ids) {
        if (id.is_string()) {
            if (auto digest = registry::Digest::parse(id.get<std::string>())) {
                diff_ids.push_back(*digest);
            }
        }
    }
    return diff_ids;
}

// The stream through a pipe, written by a thread of its own, as an engine's stdout would be.
image::SavedImage read_through_pipe(std::string_view stream, const image::EngineImageInfo& info,
                                    image::LayerStore& store) {
    int fds[2];
    if (::pipe(fds) != 0) {
        std::abort();
    }
    std::thread writer([&] {
        std::size_t written = 0;
        while (written < stream.size()) {
            const auto n = ::write(fds[1], stream.data() + written, stream.size() - written);
            if (n <= 0) {
                break;  // the reader stopped early (it closed its end)
            }
            written += static_cast<std::size_t>(n);
        }
        ::close(fds[1]);
    });
    const std::set<registry::Digest> wanted(info.diff_ids.begin(), info.diff_ids.end());
    try {
        auto saved = image::read_save_stream(fds[0], info, wanted, store, 1, "cdkasset-fuzz");
        ::close(fds[0]);
        writer.join();
        return saved;
    } catch (...) {
        ::close(fds[0]);
        writer.join();
        throw;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 3);
    image::EngineImageInfo info;
    info.id = registry::Digest::from_string("sha256:" + crypto::sha256_hex(parts[0]));
    info.diff_ids = diff_ids_of(parts[0]);
    const auto cache_dir = fuzz::fresh_scratch_folder("cache");
    image::LayerCache cache(cache_dir);
    if (!info.diff_ids.empty()) {
        const auto entry = cache.entry_path(info.diff_ids.front());
        fuzz::write_scratch_file(entry.lexically_relative(fuzz::scratch_dir()), parts[2]);
    }
    try {
        image::LayerStore store(cache, fuzz::fresh_scratch_folder("store"), 1);
        if (!info.diff_ids.empty()) {
            (void)store.known(info.diff_ids.front());
        }
        (void)read_through_pipe(parts[1], info, store);
    } catch (const image::ImageError&) {
    }
    return 0;
}
