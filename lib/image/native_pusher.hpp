#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/http_client.hpp"
#include "http/retry.hpp"
#include "image/save_stream.hpp"
#include "image/source_image.hpp"
#include "registry/auth.hpp"
#include "registry/reference.hpp"
#include "util/clock.hpp"

namespace assetctl::image {

// What publishing an image cost, for the run's summary (counted across its destinations).
struct ImageReport {
    std::string image_id;                // the config digest
    bool exported = false;               // the engine's save stream was read
    std::uint64_t compressed_bytes = 0;  // uncompressed layer bytes compressed this run
    std::size_t layers = 0;
    std::size_t layers_compressed = 0;  // compressed this run
    std::size_t layers_from_cache = 0;  // compressed digest known from the layer cache beforehand
};

// An image made ready to push: read from a tarball or layout, or described by the engine (its
// bytes are exported only if a destination turns out to lack some). Each layer is pushed as
// stored (already compressed) or gzip-compressed once into the LayerStore, whose bytes go to
// every destination that lacks them.
class PreparedImage {
  public:
    virtual ~PreparedImage() = default;
    // "docker-archive image sha256:0123456789ab (3 layers, 1 to compress, 2 known from the
    // layer cache)", for the log.
    virtual std::string describe() const = 0;
    virtual ImageReport report() const = 0;
};

struct NativePushReport {
    registry::Digest digest;  // of the manifest the tag now points at
    std::size_t blobs_uploaded = 0;
    std::size_t blobs_mounted = 0;
    std::size_t blobs_present = 0;
    std::uint64_t bytes_uploaded = 0;
};

// Hears how many bytes an upload has sent so far.
using BytesMoved = std::function<void(std::uint64_t total)>;

// Publishes images with assetctl's own registry client: image tarballs and OCI layouts without
// any engine, and images the engine built, exported from it at most once. An interface so the
// publisher's unit tests can fake it.
class NativePusher {
  public:
    virtual ~NativePusher() = default;

    // Reads and checks the image (read_source_image) and, unless `check_only`, looks up the
    // uncompressed layers in the layer cache. Reads no layer bytes. Throws ImageError for a
    // bad source, util::Interrupted.
    virtual std::shared_ptr<const PreparedImage> prepare(const std::filesystem::path& source,
                                                         const ImageSelector& selector,
                                                         bool check_only) = 0;

    // An image in the engine, described by `info` (`image inspect`); `save` streams the
    // engine's save output of it to the function it is given (docker::EngineClient::save). The
    // export runs at most once, when the first destination needs a layer or the config that
    // the layer cache does not hold - never when every destination has every layer. `label`
    // names the image in messages.
    using SaveStream = std::function<void(const std::function<void(int fd)>& read)>;
    virtual std::shared_ptr<const PreparedImage> prepare_engine_image(EngineImageInfo info,
                                                                      SaveStream save,
                                                                      std::string label) = 0;

    // Opens the connection to `registry_host` and learns its authentication scheme ahead of a
    // likely push (an unauthenticated GET /v2/; no credentials are fetched). Best effort: a
    // failure is logged at debug level, the push reports it properly.
    virtual void warm_up(const std::string& registry_host, const std::string& identity,
                         std::shared_ptr<registry::CredentialsSource> credentials) = 0;

    // Pushes the image as `repository:tag` to `registry_host` (HTTPS), the manifest last. Each
    // of --upload-jobs workers takes a layer: one HEAD when its compressed digest is known and
    // the repository has it; otherwise its compressed bytes from the LayerStore (compressed
    // now, once for every destination, verifying its diff_id; or exported from the engine,
    // once) are uploaded. Pushes of one image to several destinations run in parallel and
    // share those bytes. `identity` keys the connection and login cache (one RegistryClient
    // per host and identity). Throws registry::RegistryError / ProtocolError /
    // PushInterrupted, http::TransportError, ImageError (a layer that no longer matches, a bad
    // save stream), docker's EngineError from `save`.
    // `moved`, when set, hears the blob bytes this push has sent so far after each blob (from
    // the worker thread that sent it).
    virtual NativePushReport push(const PreparedImage& image, const std::string& registry_host,
                                  const std::string& identity,
                                  std::shared_ptr<registry::CredentialsSource> credentials,
                                  const std::string& repository, const std::string& tag,
                                  const BytesMoved& moved) = 0;
    NativePushReport push(const PreparedImage& image, const std::string& registry_host,
                          const std::string& identity,
                          std::shared_ptr<registry::CredentialsSource> credentials,
                          const std::string& repository, const std::string& tag) {
        return push(image, registry_host, identity, std::move(credentials), repository, tag, {});
    }

    // Keeps the layer cache's blobs under `max_bytes` (least recently used go first); the
    // bytes removed. Called once at the end of a run.
    virtual std::uint64_t prune_cache(std::uint64_t /*max_bytes*/) { return 0; }
};

inline constexpr std::size_t k_default_upload_jobs = 4;

struct NativePusherOptions {
    std::size_t upload_jobs = k_default_upload_jobs;
    // A private folder (0700) for decompressed tarballs and compressed layers; the caller
    // creates it and removes it on every exit path.
    std::filesystem::path spool_dir;
    // The layer cache folder (LayerCache::default_dir); none disables the cache (compressed
    // layers are then kept in spool_dir for the run).
    std::optional<std::filesystem::path> cache_dir;
    // Layers compressed at once, and threads compressing one exported stream: the cores.
    std::size_t compress_threads = 2;
};

std::unique_ptr<NativePusher> make_native_pusher(http::HttpClient& http,
                                                 const http::RetryContext& retry,
                                                 const util::Clock& clock,
                                                 NativePusherOptions options);

}  // namespace assetctl::image
