#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "http/http_client.hpp"
#include "http/retry.hpp"
#include "image/source_image.hpp"
#include "registry/auth.hpp"
#include "registry/reference.hpp"
#include "util/clock.hpp"

namespace assetctl::image {

// An image read from a tarball or layout and made ready to push: each layer is pushed as
// stored (already compressed), or gzip-compressed - its compressed digest known from the layer
// cache (compressed only if a registry turns out not to have it) or not yet (compressed during
// the first push, once for every destination).
class PreparedImage {
  public:
    virtual ~PreparedImage() = default;
    virtual const SourceImage& source() const = 0;
    virtual std::size_t layers_to_compress() const = 0;  // not in the layer cache
    virtual std::size_t layers_cached() const = 0;       // digest known from the layer cache
};

struct NativePushReport {
    registry::Digest digest;  // of the manifest the tag now points at
    std::size_t blobs_uploaded = 0;
    std::size_t blobs_mounted = 0;
    std::size_t blobs_present = 0;
    std::uint64_t bytes_uploaded = 0;
};

// Publishes image tarballs and OCI layouts without a container engine. An interface so the
// publisher's unit tests can fake it.
class TarballPusher {
  public:
    virtual ~TarballPusher() = default;

    // Reads and checks the image (read_source_image) and, unless `check_only`, looks up the
    // uncompressed layers in the layer cache. Reads no layer bytes. Throws ImageError for a
    // bad source, util::Interrupted.
    virtual std::shared_ptr<const PreparedImage> prepare(const std::filesystem::path& source,
                                                         const ImageSelector& selector,
                                                         bool check_only) = 0;

    // Pushes the image as `repository:tag` to `registry_host` (HTTPS), the manifest last. Each
    // of --upload-jobs workers takes a layer, compresses it if that is still needed (verifying
    // its diff_id; the result goes into the layer cache), and uploads it unless the registry
    // has it, so uploads start while other layers are still being compressed.
    // `identity` keys the connection and login cache (one RegistryClient per host and
    // identity). Throws registry::RegistryError / ProtocolError / PushInterrupted,
    // http::TransportError, ImageError (a layer that no longer matches).
    // Opens the connection to `registry_host` and learns its authentication scheme ahead of a
    // likely push (an unauthenticated GET /v2/; no credentials are fetched). Best effort: a
    // failure is logged at debug level, the push reports it properly.
    virtual void warm_up(const std::string& registry_host, const std::string& identity,
                         std::shared_ptr<registry::CredentialsSource> credentials) = 0;

    virtual NativePushReport push(const PreparedImage& image, const std::string& registry_host,
                                  const std::string& identity,
                                  std::shared_ptr<registry::CredentialsSource> credentials,
                                  const std::string& repository, const std::string& tag) = 0;
};

inline constexpr std::size_t k_default_upload_jobs = 4;

struct TarballPusherOptions {
    std::size_t upload_jobs = k_default_upload_jobs;
    // A private folder (0700) for decompressed tarballs and compressed layers; the caller
    // creates it and removes it on every exit path.
    std::filesystem::path spool_dir;
    // The layer cache folder (LayerCache::default_dir); none disables the cache.
    std::optional<std::filesystem::path> cache_dir;
};

std::unique_ptr<TarballPusher> make_tarball_pusher(http::HttpClient& http,
                                                   const http::RetryContext& retry,
                                                   const util::Clock& clock,
                                                   TarballPusherOptions options);

}  // namespace assetctl::image
