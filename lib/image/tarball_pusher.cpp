#include "image/tarball_pusher.hpp"

#include <atomic>
#include <exception>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "aws/crypto.hpp"
#include "image/gzip.hpp"
#include "image/image_error.hpp"
#include "image/layer_cache.hpp"
#include "registry/blob_source.hpp"
#include "registry/client.hpp"
#include "registry/push.hpp"
#include "util/per_key.hpp"
#include "util/thread_pool.hpp"

namespace assetctl::image {
namespace {

namespace fs = std::filesystem;
using registry::Digest;

// The gzip form of one uncompressed layer, shared by every image of the run that has the
// layer: compressed at most once, into the spool folder, when first needed.
struct SpooledLayer {
    std::mutex mutex;
    std::optional<CompressedLayer> result;
};

class Spool {
  public:
    explicit Spool(fs::path dir) : dir_(std::move(dir)) {}

    // Compresses `input` unless a run already did; checks the diff_id the image claims.
    CompressedLayer compressed(const FileRange& input, const Digest& diff_id,
                               const fs::path& source) {
        const auto entry = layers_.get(diff_id.str());
        std::lock_guard lock(entry->mutex);
        if (!entry->result) {
            auto result = compress_layer(input, file_for(diff_id));
            if (result.diff_id != diff_id) {
                std::error_code ec;
                fs::remove(file_for(diff_id), ec);
                throw ImageError(source.string() + ": a layer's content has digest " +
                                 result.diff_id.str() + " but the image config says " +
                                 diff_id.str() +
                                 " (rootfs.diff_ids): the tarball is corrupt or was edited; "
                                 "re-create it (docker save)");
            }
            entry->result = result;
        }
        return *entry->result;
    }

    fs::path file_for(const Digest& diff_id) const { return dir_ / (diff_id.hex() + ".gz"); }

    fs::path archive_dir() {
        const auto dir = dir_ / ("archive-" + std::to_string(next_archive_++));
        fs::create_directories(dir);
        return dir;
    }

  private:
    fs::path dir_;
    util::PerKey<SpooledLayer> layers_;
    std::atomic<int> next_archive_{0};
};

// An uncompressed layer pushed gzip-compressed. Its digest and size are known up front (from
// compressing it, or from the layer cache); the bytes are made on the first open() when they
// were only cached, and must come out as the cache said.
class CompressedLayerBlob final : public registry::BlobSource {
  public:
    CompressedLayerBlob(Spool& spool, LayerCache* cache, SourceLayer layer, fs::path source,
                        Digest digest, std::uint64_t size)
        : spool_(spool),
          cache_(cache),
          layer_(std::move(layer)),
          source_(std::move(source)),
          digest_(std::move(digest)),
          size_(size) {}

    const Digest& digest() const override { return digest_; }
    std::uint64_t size() const override { return size_; }

    std::unique_ptr<http::BodyReader> open() const override {
        const auto made = spool_.compressed(layer_.bytes, layer_.diff_id, source_);
        if (made.digest != digest_ || made.size != size_) {
            if (cache_ != nullptr) {
                cache_->store(layer_.diff_id, {made.digest, made.size});
            }
            throw ImageError("layer " + layer_.diff_id.short_str() + " of " + source_.string() +
                             " compressed to " + made.digest.str() + ", not to the cached " +
                             digest_.str() +
                             "; the cache entry was corrected, run the publish again");
        }
        return registry::FileBlob(spool_.file_for(layer_.diff_id), 0, size_, digest_).open();
    }

  private:
    Spool& spool_;
    LayerCache* cache_;
    SourceLayer layer_;
    fs::path source_;
    Digest digest_;
    std::uint64_t size_;
};

Digest sha256_of_range(const FileRange& range) {
    aws::Sha256 hasher;
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

class Prepared final : public PreparedImage {
  public:
    const SourceImage& source() const override { return source_; }
    const Digest& manifest_digest() const override { return manifest_digest_; }
    std::size_t layers_compressed() const override { return compressed_; }
    std::size_t layers_cached() const override { return cached_; }

    SourceImage source_;
    std::vector<std::shared_ptr<const registry::BlobSource>> blobs;
    registry::ManifestPayload manifest;
    Digest manifest_digest_;
    std::size_t compressed_ = 0;
    std::size_t cached_ = 0;
    bool check_only = false;
};

struct LayerPlan {
    std::shared_ptr<const registry::BlobSource> blob;
    std::string media_type;
    bool rewritten = false;  // compressed by us: the source manifest no longer applies
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
        prepared->check_only = check_only;
        if (check_only) {
            return prepared;
        }
        const auto& source = prepared->source_;
        std::vector<LayerPlan> plans(source.layers.size());
        std::vector<std::size_t> to_compress;
        for (std::size_t i = 0; i < source.layers.size(); ++i) {
            const auto& layer = source.layers[i];
            if (layer.compression != SourceLayer::Compression::none) {
                const Digest digest = layer.digest ? *layer.digest : sha256_of_range(layer.bytes);
                plans[i].blob = std::make_shared<registry::FileBlob>(
                    layer.bytes.file, layer.bytes.offset, layer.bytes.size, digest);
                plans[i].media_type = compressed_media_type(source, layer);
                continue;
            }
            plans[i].rewritten = true;
            plans[i].media_type = std::string(is_docker_format(source.format)
                                                  ? registry::media_type::k_docker_layer_gzip
                                                  : registry::media_type::k_oci_layer_gzip);
            if (auto cached = cache_ ? cache_->lookup(layer.diff_id) : std::nullopt) {
                plans[i].blob = std::make_shared<CompressedLayerBlob>(
                    spool_, cache_ ? &*cache_ : nullptr, layer, path, cached->digest, cached->size);
                ++prepared->cached_;
            } else {
                to_compress.push_back(i);
            }
        }
        compress_all(path, source, to_compress, plans);
        prepared->compressed_ = to_compress.size();

        prepared->blobs.push_back(
            std::make_shared<registry::MemoryBlob>(source.config, source.config_digest));
        for (const auto& plan : plans) {
            prepared->blobs.push_back(plan.blob);
        }
        prepared->manifest = manifest_for(source, plans);
        prepared->manifest_digest_ = Digest::sha256_of(prepared->manifest.bytes);
        return prepared;
    }

    NativePushReport push(const PreparedImage& image, const std::string& registry_host,
                          const std::string& identity,
                          std::shared_ptr<registry::CredentialsSource> credentials,
                          const std::string& repository, const std::string& tag) override {
        const auto& prepared = dynamic_cast<const Prepared&>(image);
        if (prepared.check_only) {
            throw std::logic_error("push of an image prepared with check_only");
        }
        auto& client = client_for(registry_host, identity, std::move(credentials));
        registry::PushOptions push_options;
        push_options.jobs = options_.upload_jobs;
        const auto report = registry::push_image(client, repository, tag, prepared.blobs,
                                                 prepared.manifest, push_options);
        return NativePushReport{report.digest, report.blobs_uploaded, report.blobs_mounted,
                                report.blobs_skipped, report.bytes_sent};
    }

  private:
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

    void compress_all(const fs::path& path, const SourceImage& source,
                      const std::vector<std::size_t>& indexes, std::vector<LayerPlan>& plans) {
        if (indexes.empty()) {
            return;
        }
        std::mutex mutex;
        std::exception_ptr error;
        {
            util::ThreadPool pool(std::min(options_.upload_jobs, indexes.size()));
            for (const std::size_t i : indexes) {
                pool.submit([&, i] {
                    try {
                        {
                            std::lock_guard lock(mutex);
                            if (error) {
                                return;
                            }
                        }
                        const auto& layer = source.layers[i];
                        const auto made = spool_.compressed(layer.bytes, layer.diff_id, path);
                        if (cache_) {
                            cache_->store(layer.diff_id, {made.digest, made.size});
                        }
                        plans[i].blob = std::make_shared<CompressedLayerBlob>(
                            spool_, cache_ ? &*cache_ : nullptr, layer, path, made.digest,
                            made.size);
                    } catch (...) {
                        std::lock_guard lock(mutex);
                        if (!error) {
                            error = std::current_exception();
                        }
                    }
                });
            }
            pool.wait();
        }
        if (error) {
            std::rethrow_exception(error);
        }
    }

    // The source's own manifest when no layer had to change (its digest is kept), else a new
    // one: Docker v2 schema 2 for docker-save sources (what `docker push` makes of them), OCI
    // for OCI sources, OCI too when a layer is zstd (Docker's format cannot say zstd).
    static registry::ManifestPayload manifest_for(const SourceImage& source,
                                                  const std::vector<LayerPlan>& plans) {
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
        auto layers = nlohmann::ordered_json::array();
        for (const auto& plan : plans) {
            std::string type = plan.media_type;
            if (!docker && type == registry::media_type::k_docker_layer_gzip) {
                type = registry::media_type::k_oci_layer_gzip;
            }
            layers.push_back({{"mediaType", type},
                              {"size", plan.blob->size()},
                              {"digest", plan.blob->digest().str()}});
        }
        manifest["layers"] = std::move(layers);
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
};

}  // namespace

std::unique_ptr<TarballPusher> make_tarball_pusher(http::HttpClient& http,
                                                   const http::RetryContext& retry,
                                                   const util::Clock& clock,
                                                   TarballPusherOptions options) {
    return std::make_unique<Pusher>(http, retry, clock, std::move(options));
}

}  // namespace assetctl::image
