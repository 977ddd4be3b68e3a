#include "image/native_pusher.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include <spdlog/spdlog.h>

#include "image/engine_image.hpp"
#include "image/layer_store.hpp"
#include "image/pushable.hpp"
#include "image/tarball_image.hpp"
#include "registry/client.hpp"
#include "registry/push.hpp"
#include "util/per_key.hpp"

namespace assetctl::image {
namespace {

namespace fs = std::filesystem;

// Where gzip tarballs are decompressed to (one folder per archive read).
class Spool {
  public:
    explicit Spool(fs::path dir) : dir_(std::move(dir)) {}

    fs::path archive_dir() {
        const auto dir = dir_ / ("archive-" + std::to_string(next_archive_++));
        fs::create_directories(dir);
        return dir;
    }

  private:
    fs::path dir_;
    std::atomic<int> next_archive_{0};
};

struct ClientEntry {
    std::mutex mutex;
    std::unique_ptr<registry::RegistryClient> client;
};

// Layer indexes, largest first: the longest uploads start earliest and the small ones fill the
// gaps.
std::vector<std::size_t> largest_first(const Pushable& image) {
    std::vector<std::size_t> order(image.layer_count());
    std::vector<std::uint64_t> weight(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
        weight[i] = image.layer_weight(i);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&weight](std::size_t a, std::size_t b) { return weight[a] > weight[b]; });
    return order;
}

// One upload of a blob to a repository at a time within the run: images sharing a base layer
// push to the same repository, and the second one then finds the blob there (one HEAD) instead
// of uploading it again.
struct UploadTurn {
    std::mutex mutex;
};
using UploadTurns = util::PerKey<UploadTurn>;

std::shared_ptr<UploadTurn> upload_turn(UploadTurns& turns, const registry::RegistryClient& client,
                                        const std::string& repository,
                                        const registry::Digest& digest) {
    return turns.get(client.host() + "/" + repository + "@" + digest.str());
}

// `blob` at the repository: found there, or uploaded (the caller holds its upload turn).
registry::MadeBlob upload_unless_present(registry::RegistryClient& client,
                                         const std::string& repository,
                                         std::shared_ptr<const registry::BlobSource> blob) {
    if (client.blob_exists(repository, blob->digest())) {
        return registry::MadeBlob::found(std::move(blob));
    }
    const auto result = client.upload_blob(repository, *blob);
    return registry::MadeBlob(std::move(blob), result);
}

// Layer `i` settled at one repository: one HEAD when its digest is known and the repository
// has it; otherwise its bytes (compressed or exported once for every destination) uploaded.
registry::MadeBlob settle_layer(const Pushable& image, std::size_t i,
                                registry::RegistryClient& client, const std::string& repository,
                                UploadTurns& turns) {
    if (const auto known = image.layer_digest(i)) {
        const auto turn = upload_turn(turns, client, repository, known->digest);
        std::lock_guard lock(turn->mutex);
        if (client.blob_exists(repository, known->digest)) {
            return registry::MadeBlob::found(std::make_shared<DescribedBlob>(*known));
        }
        auto blob = image.layer_bytes(i);
        if (blob->digest() == known->digest) {
            return upload_unless_present(client, repository, std::move(blob));
        }
    }
    auto blob = image.layer_bytes(i);  // compressed to other bytes than the cache said
    const auto turn = upload_turn(turns, client, repository, blob->digest());
    std::lock_guard lock(turn->mutex);
    return upload_unless_present(client, repository, std::move(blob));
}

class Pusher final : public NativePusher {
  public:
    Pusher(http::HttpClient& http, const http::RetryContext& retry, const util::Clock& clock,
           NativePusherOptions options)
        : http_(http),
          retry_(retry),
          clock_(clock),
          options_(std::move(options)),
          spool_(options_.spool_dir),
          store_(options_.cache_dir ? std::optional<LayerCache>(*options_.cache_dir) : std::nullopt,
                 options_.spool_dir, options_.compress_threads) {}

    std::shared_ptr<const PreparedImage> prepare(const fs::path& path,
                                                 const ImageSelector& selector,
                                                 bool check_only) override {
        return prepare_tarball_image(path, selector, spool_.archive_dir(), store_, check_only);
    }

    std::shared_ptr<const PreparedImage> prepare_engine_image(EngineImageInfo info, SaveStream save,
                                                              std::string label) override {
        return image::prepare_engine_image(std::move(info), std::move(save), std::move(label),
                                           store_, options_.compress_threads, export_turn_);
    }

    void warm_up(const std::string& registry_host, const std::string& identity,
                 std::shared_ptr<registry::CredentialsSource> credentials) override {
        try {
            client_for(registry_host, identity, std::move(credentials)).learn_scheme();
        } catch (const std::exception& e) {
            spdlog::debug("registry {}: warm-up failed ({}); the push will try again",
                          registry_host, e.what());
        }
    }

    // The layers (largest first) and the config go up on --upload-jobs workers, then the
    // manifest: a layer found corrupt while it is compressed stops the push before the config
    // goes up, unless another worker was already on it.
    NativePushReport push(const PreparedImage& prepared, const std::string& registry_host,
                          const std::string& identity,
                          std::shared_ptr<registry::CredentialsSource> credentials,
                          const std::string& repository, const std::string& tag,
                          const BytesMoved& moved) override {
        const auto& image = dynamic_cast<const Pushable&>(prepared);
        const std::vector<std::size_t> order = largest_first(image);
        auto& client = client_for(registry_host, identity, std::move(credentials));
        std::vector<registry::BlobMaker> makers;
        for (const std::size_t i : order) {
            makers.emplace_back([this, &image, i, &client, &repository] {
                return settle_layer(image, i, client, repository, upload_turns_);
            });
        }
        makers.emplace_back([&image]() -> registry::MadeBlob { return image.config_blob(); });
        registry::PushOptions push_options;
        push_options.jobs = options_.upload_jobs;
        std::atomic<std::uint64_t> sent{0};
        if (moved) {
            push_options.on_blob = [&sent, &moved](const registry::BlobProgress& blob) {
                if (blob.bytes_sent > 0) {
                    moved(sent += blob.bytes_sent);
                }
            };
        }
        const auto report = registry::push_made_image(
            client, repository, tag, makers,
            [&image, &order](const std::vector<std::shared_ptr<const registry::BlobSource>>& made) {
                std::vector<std::shared_ptr<const registry::BlobSource>> layers(order.size());
                for (std::size_t k = 0; k < order.size(); ++k) {
                    layers[order[k]] = made[k];
                }
                return image.manifest(layers);
            },
            push_options);
        return NativePushReport{report.digest, report.blobs_uploaded, report.blobs_mounted,
                                report.blobs_skipped, report.bytes_sent};
    }

    std::uint64_t prune_cache(std::uint64_t max_bytes) override { return store_.prune(max_bytes); }

  private:
    registry::RegistryClient& client_for(const std::string& host, const std::string& identity,
                                         std::shared_ptr<registry::CredentialsSource> credentials) {
        const auto entry = clients_.get(host + "\n" + identity);
        std::lock_guard lock(entry->mutex);
        if (!entry->client) {
            entry->client = std::make_unique<registry::RegistryClient>(http_, retry_, clock_, host,
                                                                       std::move(credentials));
        }
        return *entry->client;
    }

    http::HttpClient& http_;
    const http::RetryContext retry_;
    const util::Clock& clock_;
    const NativePusherOptions options_;
    Spool spool_;
    LayerStore store_;
    std::mutex export_turn_;  // one engine export at a time (engine_image.hpp)
    UploadTurns upload_turns_;
    util::PerKey<ClientEntry> clients_;
};

}  // namespace

std::unique_ptr<NativePusher> make_native_pusher(http::HttpClient& http,
                                                 const http::RetryContext& retry,
                                                 const util::Clock& clock,
                                                 NativePusherOptions options) {
    return std::make_unique<Pusher>(http, retry, clock, std::move(options));
}

}  // namespace assetctl::image
