#include "image/tarball_pusher.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "crypto/crypto.hpp"
#include "image/gzip.hpp"
#include "image/image_error.hpp"
#include "image/layer_cache.hpp"
#include "registry/blob_source.hpp"
#include "registry/client.hpp"
#include "registry/media_type.hpp"
#include "registry/push.hpp"
#include "util/per_key.hpp"

namespace assetctl::image {
namespace {

namespace fs = std::filesystem;
using registry::Digest;

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

// An uncompressed layer's gzip form as the manifest names it: its digest and size (from the
// layer cache, or from streaming it). Reading it compresses the layer again; pushes stream it
// with RegistryClient::upload_streamed instead, which takes whatever digest comes out.
class CompressedLayerBlob final : public registry::BlobSource {
  public:
    CompressedLayerBlob(SourceLayer layer, Digest digest, std::uint64_t size)
        : layer_(std::move(layer)), digest_(std::move(digest)), size_(size) {}

    const Digest& digest() const override { return digest_; }
    std::uint64_t size() const override { return size_; }

    std::unique_ptr<http::BodyReader> open() const override {
        return std::make_unique<GzipLayerReader>(layer_.bytes, layer_.diff_id);
    }

  private:
    SourceLayer layer_;
    Digest digest_;
    std::uint64_t size_;
};

// A layer compressed while it is streamed to the registry (RegistryClient::upload_streamed).
// `on_end` learns the compressed digest as soon as the last byte was read - before the upload
// completes - so that an upload cut short after its body (Ctrl-C, a failed final PUT) leaves the
// digest in the layer cache, and the next run HEADs the blob instead of sending it again.
class StreamingLayerReader final : public registry::DigestingReader {
  public:
    StreamingLayerReader(const SourceLayer& layer,
                         std::function<void(const CompressedLayer&)> on_end)
        : reader_(layer.bytes, layer.diff_id), on_end_(std::move(on_end)) {}
    std::size_t read(char* buffer, std::size_t size) override {
        const std::size_t n = reader_.read(buffer, size);
        if (n == 0 && on_end_) {
            on_end_(reader_.result());
            on_end_ = nullptr;
        }
        return n;
    }
    Digest digest() const override { return reader_.result().digest; }
    std::uint64_t size() const override { return reader_.result().size; }

  private:
    GzipLayerReader reader_;
    std::function<void(const CompressedLayer&)> on_end_;
};

Digest sha256_of_range(const FileRange& range) {
    crypto::Sha256 hasher;
    auto reader = registry::FileBlob(range.file, range.offset, range.size, Digest()).open();
    std::string buffer(1 << 20, '\0');
    while (const std::size_t n = reader->read(buffer.data(), buffer.size())) {
        hasher.update(std::string_view(buffer.data(), n));
    }
    return Digest::from_string("sha256:" + hasher.hex_digest());
}

bool is_docker_format(SourceFormat format) {
    return format == SourceFormat::docker_archive || format == SourceFormat::docker_archive_oci;
}

// How one layer goes up.
struct LayerPlan {
    std::string media_type;
    bool rewritten = false;  // compressed by us: the source's own manifest no longer applies
    // Known before the push: a stored compressed layer, or one whose compressed digest the
    // layer cache knows. Null: compress during the push.
    std::shared_ptr<const registry::BlobSource> blob;
};

class Prepared final : public PreparedImage {
  public:
    const SourceImage& source() const override { return source_; }
    std::size_t layers_to_compress() const override { return to_compress_; }
    std::size_t layers_cached() const override { return cached_; }

    SourceImage source_;
    fs::path path;
    std::vector<LayerPlan> plans;
    std::size_t to_compress_ = 0;
    std::size_t cached_ = 0;
    bool check_only = false;
};

struct ClientEntry {
    std::mutex mutex;
    std::unique_ptr<registry::RegistryClient> client;
};

class Pusher final : public TarballPusher {
  public:
    Pusher(http::HttpClient& http, const http::RetryContext& retry, const util::Clock& clock,
           TarballPusherOptions options)
        : http_(http),
          retry_(retry),
          clock_(clock),
          options_(std::move(options)),
          spool_(options_.spool_dir) {
        if (options_.cache_dir) {
            cache_.emplace(*options_.cache_dir);
        }
    }

    std::shared_ptr<const PreparedImage> prepare(const fs::path& path,
                                                 const ImageSelector& selector,
                                                 bool check_only) override {
        auto prepared = std::make_shared<Prepared>();
        prepared->source_ = read_source_image(path, selector, spool_.archive_dir());
        prepared->path = path;
        prepared->check_only = check_only;
        if (check_only) {
            return prepared;
        }
        const auto& source = prepared->source_;
        prepared->plans.resize(source.layers.size());
        for (std::size_t i = 0; i < source.layers.size(); ++i) {
            plan_layer(source, source.layers[i], prepared->plans[i], *prepared);
        }
        return prepared;
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

    NativePushReport push(const PreparedImage& image, const std::string& registry_host,
                          const std::string& identity,
                          std::shared_ptr<registry::CredentialsSource> credentials,
                          const std::string& repository, const std::string& tag) override {
        const auto& prepared = dynamic_cast<const Prepared&>(image);
        if (prepared.check_only) {
            throw std::logic_error("push of an image prepared with check_only");
        }
        const auto& source = prepared.source_;
        // The layers, largest first, then the config: a layer found corrupt while it is
        // compressed stops the push before the config goes up, unless another worker was
        // already on it.
        const std::vector<std::size_t> order = largest_first(source);
        std::vector<registry::BlobMaker> makers;
        auto& client = client_for(registry_host, identity, std::move(credentials));
        for (const std::size_t i : order) {
            makers.emplace_back([this, &prepared, i, &client, &repository] {
                return layer_blob(prepared, i, client, repository);
            });
        }
        makers.emplace_back([&source]() -> registry::MadeBlob {
            return std::make_shared<registry::MemoryBlob>(source.config, source.config_digest);
        });
        registry::PushOptions push_options;
        push_options.jobs = options_.upload_jobs;
        const auto report = registry::push_made_image(
            client, repository, tag, makers,
            [&prepared,
             &order](const std::vector<std::shared_ptr<const registry::BlobSource>>& made) {
                std::vector<std::shared_ptr<const registry::BlobSource>> layers(order.size());
                for (std::size_t k = 0; k < order.size(); ++k) {
                    layers[order[k]] = made[k];
                }
                return manifest_for(prepared.source_, prepared.plans, layers);
            },
            push_options);
        return NativePushReport{report.digest, report.blobs_uploaded, report.blobs_mounted,
                                report.blobs_skipped, report.bytes_sent};
    }

  private:
    // How layer `layer` goes up: as stored when it is compressed already, else compressed by
    // us, its digest known beforehand when the layer cache has it.
    void plan_layer(const SourceImage& source, const SourceLayer& layer, LayerPlan& plan,
                    Prepared& prepared) {
        if (layer.compression != SourceLayer::Compression::none) {
            const Digest digest = layer.digest ? *layer.digest : sha256_of_range(layer.bytes);
            plan.blob = std::make_shared<registry::FileBlob>(layer.bytes.file, layer.bytes.offset,
                                                             layer.bytes.size, digest);
            plan.media_type = compressed_media_type(source, layer);
            return;
        }
        plan.rewritten = true;
        plan.media_type =
            std::string(is_docker_format(source.format) ? registry::media_type::k_docker_layer_gzip
                                                        : registry::media_type::k_oci_layer_gzip);
        if (auto cached = cache_ ? cache_->lookup(layer.diff_id) : std::nullopt) {
            plan.blob = std::make_shared<CompressedLayerBlob>(layer, cached->digest, cached->size);
            ++prepared.cached_;
        } else {
            ++prepared.to_compress_;
        }
    }

    // Layer indexes, largest first: the longest compressions start earliest and the small ones
    // fill the gaps.
    static std::vector<std::size_t> largest_first(const SourceImage& source) {
        std::vector<std::size_t> order(source.layers.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            order[i] = i;
        }
        std::stable_sort(order.begin(), order.end(), [&source](std::size_t a, std::size_t b) {
            return source.layers[a].bytes.size > source.layers[b].bytes.size;
        });
        return order;
    }

    static std::string compressed_media_type(const SourceImage& source, const SourceLayer& layer) {
        if (!layer.media_type.empty()) {
            return layer.media_type;
        }
        if (layer.compression == SourceLayer::Compression::zstd) {
            return std::string(registry::media_type::k_oci_layer_zstd);
        }
        return std::string(is_docker_format(source.format)
                               ? registry::media_type::k_docker_layer_gzip
                               : registry::media_type::k_oci_layer_gzip);
    }

    // Layer `i`, settled. An uncompressed layer whose compressed digest is known (layer cache,
    // or an earlier destination of this run) costs a HEAD when the repository has it; otherwise
    // it is compressed while it is streamed to the registry and its digest goes into the layer
    // cache. Pushes of one layer to several destinations take turns, so a later one can use
    // what an earlier one learned.
    registry::MadeBlob layer_blob(const Prepared& prepared, std::size_t i,
                                  registry::RegistryClient& client, const std::string& repository) {
        const auto& plan = prepared.plans[i];
        if (!plan.rewritten) {
            return plan.blob;  // stored compressed: pushed as it is
        }
        const auto& layer = prepared.source_.layers[i];
        const auto entry = streaming_.get(layer.diff_id.str());
        std::lock_guard lock(entry->mutex);
        // What the layer compresses to, when this run or the layer cache knows: one HEAD then
        // tells whether anything must be sent.
        std::optional<CachedLayer> known = entry->known;
        if (!known && plan.blob) {
            known = CachedLayer{plan.blob->digest(), plan.blob->size()};
        }
        if (known && client.blob_exists(repository, known->digest)) {
            return registry::MadeBlob::found(
                std::make_shared<CompressedLayerBlob>(layer, known->digest, known->size));
        }
        // Sent compressed as it is read, whatever digest comes out: a cache entry written by
        // another ISA-L build (or edited) is corrected instead of failing the push.
        const auto remember = [this, &layer](const CompressedLayer& made) {
            if (cache_) {
                cache_->store(layer.diff_id, {made.digest, made.size});
            }
        };
        const auto streamed = client.upload_streamed(
            repository,
            [&layer, &remember] { return std::make_unique<StreamingLayerReader>(layer, remember); },
            layer.bytes.size);
        if (known && known->digest != streamed.digest) {
            spdlog::warn(
                "layer {} of {} compressed to {}, not to {} as the layer cache said; the "
                "cache entry was corrected",
                layer.diff_id.short_str(), prepared.path.string(), streamed.digest.short_str(),
                known->digest.short_str());
        }
        entry->known = CachedLayer{streamed.digest, streamed.size};
        return registry::MadeBlob(
            std::make_shared<CompressedLayerBlob>(layer, streamed.digest, streamed.size),
            streamed.result);
    }

    // The source's own manifest when no layer had to change (its digest is kept), else a new
    // one: Docker v2 schema 2 for docker-save sources (what `docker push` makes of them), OCI
    // for OCI sources, OCI too when a layer is zstd (Docker's format cannot say zstd).
    static registry::ManifestPayload manifest_for(
        const SourceImage& source, const std::vector<LayerPlan>& plans,
        const std::vector<std::shared_ptr<const registry::BlobSource>>& layers) {
        bool rewritten = false;
        bool zstd = false;
        for (std::size_t i = 0; i < plans.size(); ++i) {
            rewritten = rewritten || plans[i].rewritten;
            zstd = zstd || source.layers[i].compression == SourceLayer::Compression::zstd;
        }
        if (!rewritten && source.manifest && !source.manifest_media_type.empty()) {
            return {source.manifest_media_type, *source.manifest};
        }
        const bool docker = is_docker_format(source.format) && !zstd;
        nlohmann::ordered_json manifest;
        manifest["schemaVersion"] = 2;
        manifest["mediaType"] =
            docker ? registry::media_type::k_docker_manifest : registry::media_type::k_oci_manifest;
        std::string config_type = source.config_media_type;
        if (config_type.empty() || docker) {
            config_type =
                docker ? registry::media_type::k_docker_config : registry::media_type::k_oci_config;
        }
        manifest["config"] = {{"mediaType", config_type},
                              {"size", source.config.size()},
                              {"digest", source.config_digest.str()}};
        auto descriptors = nlohmann::ordered_json::array();
        for (std::size_t i = 0; i < plans.size(); ++i) {
            std::string type = plans[i].media_type;
            if (!docker && type == registry::media_type::k_docker_layer_gzip) {
                type = registry::media_type::k_oci_layer_gzip;
            }
            descriptors.push_back({{"mediaType", type},
                                   {"size", layers[i]->size()},
                                   {"digest", layers[i]->digest().str()}});
        }
        manifest["layers"] = std::move(descriptors);
        return {manifest["mediaType"].get<std::string>(), manifest.dump()};
    }

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
    const TarballPusherOptions options_;
    Spool spool_;
    std::optional<LayerCache> cache_;
    util::PerKey<ClientEntry> clients_;
    // Per diff_id: what a layer streamed during this run compressed to.
    struct StreamedLayer {
        std::mutex mutex;
        std::optional<CachedLayer> known;
    };
    util::PerKey<StreamedLayer> streaming_;
};

}  // namespace

std::unique_ptr<TarballPusher> make_tarball_pusher(http::HttpClient& http,
                                                   const http::RetryContext& retry,
                                                   const util::Clock& clock,
                                                   TarballPusherOptions options) {
    return std::make_unique<Pusher>(http, retry, clock, std::move(options));
}

}  // namespace assetctl::image
