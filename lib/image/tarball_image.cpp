#include "image/tarball_image.hpp"

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"
#include "image/image_error.hpp"
#include "image/quote.hpp"
#include "registry/media_type.hpp"

namespace assetctl::image {
namespace {

namespace fs = std::filesystem;
using registry::Digest;

Digest sha256_of_range(const FileRange& range) {
    return Digest::from_string("sha256:" +
                               crypto::sha256_hex_of_file(range.file, range.offset, range.size));
}

bool is_docker_format(SourceFormat format) {
    return format == SourceFormat::docker_archive || format == SourceFormat::docker_archive_oci;
}

std::string compressed_media_type(const SourceImage& source, const SourceLayer& layer) {
    if (!layer.media_type.empty()) {
        return layer.media_type;
    }
    if (layer.compression == SourceLayer::Compression::zstd) {
        return std::string(registry::media_type::k_oci_layer_zstd);
    }
    return std::string(is_docker_format(source.format) ? registry::media_type::k_docker_layer_gzip
                                                       : registry::media_type::k_oci_layer_gzip);
}

// How one layer goes up.
struct LayerPlan {
    std::string media_type;
    bool rewritten = false;  // compressed by us: the source's own manifest no longer applies
    // A layer stored compressed: pushed as it is.
    std::shared_ptr<const registry::BlobSource> stored;
};

class TarballImage final : public Pushable {
  public:
    TarballImage(SourceImage source, fs::path path, LayerStore& store, bool check_only)
        : source_(std::move(source)), path_(std::move(path)), store_(store) {
        if (check_only) {
            return;
        }
        plans_.resize(source_.layers.size());
        for (std::size_t i = 0; i < source_.layers.size(); ++i) {
            plan_layer(source_.layers[i], plans_[i]);
        }
    }

    std::string describe() const override {
        std::string text = std::string(to_string(source_.format)) + " image " +
                           source_.config_digest.short_str() + " (" +
                           std::to_string(source_.layers.size()) + " layers";
        if (!plans_.empty() || source_.layers.empty()) {
            text += ", " + std::to_string(to_compress_) + " to compress, " +
                    std::to_string(cached_) + " known from the layer cache";
        }
        return text + ")";
    }

    ImageReport report() const override {
        return {source_.config_digest.str(),        false,
                counters_.compressed_bytes.load(),  source_.layers.size(),
                counters_.layers_compressed.load(), cached_};
    }

    std::size_t layer_count() const override { return plans_.size(); }
    std::uint64_t layer_weight(std::size_t i) const override {
        return source_.layers[i].bytes.size;
    }

    std::optional<CachedLayer> layer_digest(std::size_t i) const override {
        if (!plans_[i].rewritten) {
            return CachedLayer{plans_[i].stored->digest(), plans_[i].stored->size()};
        }
        return store_.known(source_.layers[i].diff_id);
    }

    std::shared_ptr<const registry::BlobSource> layer_bytes(std::size_t i) const override {
        if (!plans_[i].rewritten) {
            return plans_[i].stored;
        }
        const auto& layer = source_.layers[i];
        const auto blob = compress(layer);
        counters_.count_compression(blob.compressed_now);
        return verified_blob(blob);
    }

    std::shared_ptr<const registry::BlobSource> config_blob() const override {
        return std::make_shared<registry::MemoryBlob>(source_.config, source_.config_digest);
    }

    // The source's own manifest when no layer had to change (its digest is kept), else a new
    // one: Docker v2 schema 2 for docker-save sources (what `docker push` makes of them), OCI
    // for OCI sources, OCI too when a layer is zstd (Docker's format cannot say zstd).
    registry::ManifestPayload manifest(
        const std::vector<std::shared_ptr<const registry::BlobSource>>& layers) const override {
        bool rewritten = false;
        bool zstd = false;
        for (std::size_t i = 0; i < plans_.size(); ++i) {
            rewritten = rewritten || plans_[i].rewritten;
            zstd = zstd || source_.layers[i].compression == SourceLayer::Compression::zstd;
        }
        if (!rewritten && source_.manifest && !source_.manifest_media_type.empty()) {
            return {source_.manifest_media_type, *source_.manifest};
        }
        const bool docker = is_docker_format(source_.format) && !zstd;
        nlohmann::ordered_json manifest;
        manifest["schemaVersion"] = 2;
        manifest["mediaType"] =
            docker ? registry::media_type::k_docker_manifest : registry::media_type::k_oci_manifest;
        std::string config_type = source_.config_media_type;
        if (config_type.empty() || docker) {
            config_type =
                docker ? registry::media_type::k_docker_config : registry::media_type::k_oci_config;
        }
        manifest["config"] = {{"mediaType", config_type},
                              {"size", source_.config.size()},
                              {"digest", source_.config_digest.str()}};
        auto descriptors = nlohmann::ordered_json::array();
        for (std::size_t i = 0; i < plans_.size(); ++i) {
            std::string type = plans_[i].media_type;
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

  private:
    StoredBlob compress(const SourceLayer& layer) const {
        try {
            return store_.compressed(layer.diff_id, [&layer] {
                return registry::FileBlob(layer.bytes.file, layer.bytes.offset, layer.bytes.size,
                                          layer.diff_id)
                    .open();
            });
        } catch (const ImageError& e) {
            throw ImageError("image " + quote(path_.string()) + ", layer " +
                             layer.diff_id.short_str() + ": " + e.what());
        }
    }

    // As stored when it is compressed already, else compressed by us (its digest known
    // beforehand when the layer cache has it).
    void plan_layer(const SourceLayer& layer, LayerPlan& plan) {
        if (layer.compression != SourceLayer::Compression::none) {
            const Digest digest = layer.digest ? *layer.digest : sha256_of_range(layer.bytes);
            plan.stored = std::make_shared<registry::FileBlob>(layer.bytes.file, layer.bytes.offset,
                                                               layer.bytes.size, digest);
            plan.media_type = compressed_media_type(source_, layer);
            return;
        }
        plan.rewritten = true;
        plan.media_type =
            std::string(is_docker_format(source_.format) ? registry::media_type::k_docker_layer_gzip
                                                         : registry::media_type::k_oci_layer_gzip);
        if (store_.known(layer.diff_id)) {
            ++cached_;
        } else {
            ++to_compress_;
        }
    }

    SourceImage source_;
    fs::path path_;
    LayerStore& store_;
    std::vector<LayerPlan> plans_;
    std::size_t to_compress_ = 0;
    std::size_t cached_ = 0;
    mutable ImageCounters counters_;
};

}  // namespace

std::shared_ptr<const Pushable> prepare_tarball_image(const fs::path& path,
                                                      const ImageSelector& selector,
                                                      const fs::path& spool_dir, LayerStore& store,
                                                      bool check_only) {
    return std::make_shared<TarballImage>(read_source_image(path, selector, spool_dir), path, store,
                                          check_only);
}

}  // namespace assetctl::image
