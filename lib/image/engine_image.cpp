#include "image/engine_image.hpp"

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "image/image_error.hpp"
#include "registry/media_type.hpp"
#include "util/interrupt.hpp"

namespace assetctl::image {
namespace {

using registry::Digest;

// The config's rootfs.diff_ids must be the layers `image inspect` named: the manifest pairs them.
void check_config(const std::string& config, const EngineImageInfo& info,
                  const std::string& label) {
    const auto json = nlohmann::json::parse(config, nullptr, /*allow_exceptions=*/false);
    std::vector<std::string> diff_ids;
    if (json.is_object() && json.contains("rootfs") && json["rootfs"].is_object() &&
        json["rootfs"].contains("diff_ids") && json["rootfs"]["diff_ids"].is_array()) {
        for (const auto& item : json["rootfs"]["diff_ids"]) {
            diff_ids.push_back(item.is_string() ? item.get<std::string>() : std::string());
        }
    }
    std::vector<std::string> expected;
    for (const auto& diff_id : info.diff_ids) {
        expected.push_back(diff_id.str());
    }
    if (diff_ids != expected) {
        throw ImageError("the config of " + label + " (" + info.id.short_str() +
                         ") does not list the layers `image inspect` gave; rebuild the image");
    }
}

class EngineImage final : public Pushable {
  public:
    EngineImage(EngineImageInfo info, NativePusher::SaveStream save, std::string label,
                LayerStore& store, std::size_t threads, std::mutex& export_turn)
        : info_(std::move(info)),
          save_(std::move(save)),
          label_(std::move(label)),
          store_(store),
          threads_(threads),
          export_turn_(export_turn) {
        for (const auto& diff_id : info_.diff_ids) {
            cached_ += store_.known(diff_id) ? 1U : 0U;
        }
    }
    ~EngineImage() override {
        if (export_thread_.joinable()) {
            export_thread_.join();
        }
    }
    EngineImage(const EngineImage&) = delete;
    EngineImage& operator=(const EngineImage&) = delete;

    std::string describe() const override {
        return "engine image " + info_.id.short_str() + " (" +
               std::to_string(info_.diff_ids.size()) + " layers, " + std::to_string(cached_) +
               " known from the layer cache)";
    }

    ImageReport report() const override {
        return {info_.id.str(),
                counters_.exported.load(),
                counters_.compressed_bytes.load(),
                info_.diff_ids.size(),
                counters_.layers_compressed.load(),
                cached_};
    }

    std::size_t layer_count() const override { return info_.diff_ids.size(); }
    std::uint64_t layer_weight(std::size_t i) const override {
        const auto known = store_.known(info_.diff_ids[i]);
        return known ? known->size : 0;
    }

    std::optional<CachedLayer> layer_digest(std::size_t i) const override {
        return store_.known(info_.diff_ids[i]);
    }

    // A layer the store lacks waits for the export, which starts on first need and hands out
    // each layer as soon as it is compressed: its uploads overlap the rest of the export.
    std::shared_ptr<const registry::BlobSource> layer_bytes(std::size_t i) const override {
        const auto& diff_id = info_.diff_ids[i];
        auto blob = store_.stored(diff_id);
        if (!blob) {
            std::unique_lock lock(mutex_);
            start_export_locked();
            changed_.wait(lock, [&] { return export_done_ || (blob = store_.stored(diff_id)); });
            if (!blob) {
                blob = store_.stored(diff_id);
            }
            if (!blob && export_error_) {
                std::rethrow_exception(export_error_);
            }
        }
        if (!blob) {
            throw ImageError("the compressed layer " + diff_id.short_str() + " of " + label_ +
                             " vanished from the layer cache during the push; publish again");
        }
        return verified_blob(*blob);
    }

    std::shared_ptr<const registry::BlobSource> config_blob() const override {
        std::unique_lock lock(mutex_);
        if (!config_) {
            config_ = store_.read_blob(info_.id);
        }
        if (!config_) {
            start_export_locked();
            changed_.wait(lock, [&] { return export_done_; });
            if (export_error_) {
                std::rethrow_exception(export_error_);
            }
        }
        return std::make_shared<registry::MemoryBlob>(*config_, info_.id);
    }

    // Docker v2 schema 2 with gzip layers and the engine's own config: what Lambda, ECS, App
    // Runner and Batch take, and what `docker push` makes.
    registry::ManifestPayload manifest(
        const std::vector<std::shared_ptr<const registry::BlobSource>>& layers) const override {
        nlohmann::ordered_json manifest;
        manifest["schemaVersion"] = 2;
        manifest["mediaType"] = registry::media_type::k_docker_manifest;
        std::lock_guard lock(mutex_);
        manifest["config"] = {{"mediaType", registry::media_type::k_docker_config},
                              {"size", config_->size()},
                              {"digest", info_.id.str()}};
        auto descriptors = nlohmann::ordered_json::array();
        for (const auto& layer : layers) {
            descriptors.push_back({{"mediaType", registry::media_type::k_docker_layer_gzip},
                                   {"size", layer->size()},
                                   {"digest", layer->digest().str()}});
        }
        manifest["layers"] = std::move(descriptors);
        return {std::string(registry::media_type::k_docker_manifest), manifest.dump()};
    }

  private:
    SavedImage export_pass(const std::set<Digest>& wanted, bool skip_by_size) const {
        SavedImage saved;
        const auto stored = [this](const Digest&) {
            { std::lock_guard lock(mutex_); }  // a waiter is either waiting or will see it
            changed_.notify_all();
        };
        save_([&](int fd) {
            saved =
                read_save_stream(fd, info_, wanted, store_, threads_, label_, skip_by_size, stored);
        });
        return saved;
    }

    // Once: the export runs on a thread of its own (joined when the image goes).
    void start_export_locked() const {
        if (!export_thread_.joinable()) {
            export_thread_ = std::thread([this] { run_export(); });
        }
    }

    // Reads the save stream once: every layer the store lacks is compressed into it, and the
    // config kept. A failed export is not tried again in this run; its error goes to every
    // push that needs it.
    void run_export() const {
        std::exception_ptr error;
        try {
            std::lock_guard turn(export_turn_);
            export_layers_and_config();
        } catch (...) {
            // Ctrl-C stops the engine's save mid-stream: that is an interruption (the targets
            // are skipped, exit 130), not a broken stream.
            error = util::interrupted() ? std::make_exception_ptr(util::Interrupted(
                                              "interrupted while exporting " + label_))
                                        : std::current_exception();
        }
        {
            std::lock_guard lock(mutex_);
            export_error_ = error;
            export_done_ = true;
        }
        changed_.notify_all();
    }

    void export_layers_and_config() const {
        std::set<Digest> wanted;
        for (const auto& diff_id : info_.diff_ids) {
            if (!store_.stored(diff_id)) {
                wanted.insert(diff_id);
            }
        }
        SavedImage saved = export_pass(wanted, true);
        if (!saved.missed.empty()) {
            // A wanted layer had the size of a stored one and was only hashed: once more for
            // those, compressing every unnamed entry (rare: equal-sized layers).
            spdlog::debug("{}: {} layer(s) need a second pass of the save stream", label_,
                          saved.missed.size());
            SavedImage second = export_pass(saved.missed, false);
            saved.compressed_bytes += second.compressed_bytes;
            saved.layers.merge(second.layers);
        }
        check_config(saved.config, info_, label_);
        store_.keep_blob(info_.id, saved.config);
        counters_.exported = true;
        counters_.compressed_bytes += saved.compressed_bytes;
        for (const auto& [diff_id, blob] : saved.layers) {
            counters_.layers_compressed += blob.compressed_now > 0 ? 1 : 0;
        }
        spdlog::debug("{}: exported, {} layer(s) compressed", label_, saved.layers.size());
        std::lock_guard lock(mutex_);
        config_ = std::move(saved.config);
    }

    const EngineImageInfo info_;
    const NativePusher::SaveStream save_;
    const std::string label_;
    LayerStore& store_;
    const std::size_t threads_;
    std::mutex& export_turn_;
    std::size_t cached_ = 0;
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;  // a layer stored, or the export done
    mutable std::optional<std::string> config_;
    mutable std::thread export_thread_;
    mutable bool export_done_ = false;
    mutable std::exception_ptr export_error_;
    mutable ImageCounters counters_;
};

}  // namespace

std::shared_ptr<const Pushable> prepare_engine_image(EngineImageInfo info,
                                                     NativePusher::SaveStream save,
                                                     std::string label, LayerStore& store,
                                                     std::size_t threads, std::mutex& export_turn) {
    return std::make_shared<EngineImage>(std::move(info), std::move(save), std::move(label), store,
                                         threads, export_turn);
}

}  // namespace assetctl::image
