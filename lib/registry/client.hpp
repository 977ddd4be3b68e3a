#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/http_client.hpp"
#include "http/retry.hpp"
#include "http/url.hpp"
#include "registry/auth.hpp"
#include "registry/blob_source.hpp"
#include "registry/docker_certs.hpp"
#include "registry/reference.hpp"
#include "registry/registry_error.hpp"
#include "util/clock.hpp"

namespace assetctl::registry {

// How a blob goes up once its session is open (POST /v2/<repo>/blobs/uploads/ -> 202 +
// Location). Both send the blob in ONE request: chunked PATCHes are avoided on purpose, because
// ECR wants every chunk but the last to be >= 5 MiB, answers 201 where the spec says 202, and
// has been reported to drop the bodies of PATCHes after the first (aws/containers-roadmap#2831).
enum class UploadMethod {
    // PUT <location>?digest=<d> with the whole blob as body: the spec's "POST then PUT"
    // monolithic upload. Two requests; regclient's first choice, and what kitops switched to
    // for large layers on ECR.
    monolithic_put,
    // PATCH <location> with the whole blob (no Content-Range), then PUT <location>?digest=
    // with no body: crane's flow. The PATCH answer may be 202 (spec) or 201 (ECR); both count.
    single_patch,
};

// A blob upload may take `floor + size / min rate` before the request times out: the HTTP
// client's default total timeout (60 s) would cut off a large layer on a slow link.
inline constexpr std::chrono::milliseconds k_default_upload_timeout_floor{60'000};
inline constexpr std::uint64_t k_default_upload_min_bytes_per_second = 1024 * 1024;

struct ClientOptions {
    UploadMethod upload_method = UploadMethod::monolithic_put;
    std::chrono::milliseconds upload_timeout_floor = k_default_upload_timeout_floor;
    std::uint64_t upload_min_bytes_per_second = k_default_upload_min_bytes_per_second;
    // Docker's per-registry CA folder: `<dir>/<host[:port]>/*.crt` (docker_certs.hpp), read once
    // when the client is made, are trusted for requests to this registry in addition to the
    // HTTP client's trust, as docker trusts them. Empty: none.
    std::filesystem::path docker_certs_dir{k_docker_certs_dir};
};

// What a HEAD of a manifest tells.
struct ManifestInfo {
    Digest digest;
    std::string media_type;
    std::uint64_t size = 0;
};

struct Manifest {
    Digest digest;
    std::string media_type;
    std::string bytes;
};

struct UploadResult {
    std::uint64_t bytes_sent = 0;  // blob bytes put on the wire, retried attempts included
    int sessions = 0;              // upload sessions opened (1 unless an attempt failed)
};

// The OCI distribution API of one registry host. Every call goes through the Authenticator
// (auth.hpp) and the one retry loop (http::send_with_retries) with classify_answer() deciding,
// so 408/429/5xx and throttling codes are retried with back-off (Retry-After honoured) and
// nothing else is. Error answers become RegistryError; a success answer that breaks the
// protocol, ProtocolError; no answer, http::TransportError. Repositories, tags and digests are
// validated before they go into a URL (InvalidReference). Safe to use from several threads.
class RegistryClient {
  public:
    // `registry` is `host[:port]` (HTTPS) or a URL `https://host[:port]` (`http://` only for
    // local test registries; the Authenticator then still refuses to send credentials to a
    // plain-HTTP token realm of an HTTPS registry).
    RegistryClient(http::HttpClient& http, const http::RetryContext& retry,
                   const util::Clock& clock, std::string_view registry,
                   std::shared_ptr<CredentialsSource> credentials, ClientOptions options = {});

    // host[:port]
    std::string host() const { return registry_.authority(); }

    // Learns the authentication scheme (unauthenticated GET /v2/) and checks the credentials
    // with an authenticated GET /v2/. Optional: every other call pings on first use.
    AuthScheme ping();

    // Learns the authentication scheme (the unauthenticated GET /v2/ every client does once)
    // without asking for credentials, leaving a warm connection behind. For callers that know a
    // push is likely before they are sure (and before credentials are needed).
    AuthScheme learn_scheme() { return auth_.scheme(); }

    // HEAD /v2/<repo>/blobs/<digest>: the blob's size when the repository has it (0 when the
    // registry did not say), nullopt on 404.
    std::optional<std::uint64_t> blob_exists(std::string_view repository, const Digest& digest);

    // POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<from>: true when the registry linked
    // the blob from the other repository (201). A 202 means it opened an upload session
    // instead (mounting unsupported, as on ECR unless BLOB_MOUNTING is enabled, or blob not
    // found): that session is cancelled (DELETE, best effort) and the answer is false.
    bool mount_blob(std::string_view repository, const Digest& digest,
                    std::string_view from_repository);

    // Uploads the blob with the configured UploadMethod. One attempt is one whole session
    // (POST ... PUT): a failure mid-way (5xx, 429, a broken connection, BLOB_UPLOAD_UNKNOWN)
    // starts the next attempt with a NEW session; a failed session's Location is never
    // reused. The Location of each answer is resolved against the request (relative or
    // absolute, keeping its own query such as `?_state=`).
    UploadResult upload_blob(std::string_view repository, const BlobSource& blob);

    // PUT /v2/<repo>/manifests/<reference> with Content-Type = `media_type`. `reference` is a
    // tag or the manifest's own digest. Returns the registry's Docker-Content-Digest (checked
    // against the bytes when it is sha256), else the sha256 of the bytes.
    Digest put_manifest(std::string_view repository, std::string_view reference,
                        std::string_view media_type, std::string_view bytes);

    // HEAD /v2/<repo>/manifests/<reference> accepting all four manifest types; nullopt on 404.
    std::optional<ManifestInfo> manifest_exists(std::string_view repository,
                                                std::string_view reference);

    // GET /v2/<repo>/manifests/<reference>. Throws RegistryError (is_not_found()) when absent,
    // ProtocolError when a by-digest answer does not hash to that digest.
    Manifest get_manifest(std::string_view repository, std::string_view reference);

  private:
    // One upload, attempt by attempt (a new session each): POST, then the body by PATCH + PUT
    // (UploadMethod::single_patch) or by one PUT, completed with the digest `digest_of_body` gives
    // (with the bytes sent) once the body went out - or before, for a PUT, which needs it in its
    // URL.
    UploadResult upload(std::string_view repository, const std::string& label,
                        const http::StreamedBody& body, UploadMethod method,
                        const std::function<std::pair<Digest, std::uint64_t>()>& digest_of_body);

    http::Response send(const std::string& what, http::Request& request,
                        const std::vector<std::string>& scopes,
                        RetryScope scope = RetryScope::request);
    std::string repository_url(std::string_view repository) const;

    const http::RetryContext retry_;
    const http::Url registry_;
    const ClientOptions options_;
    // `http` with docker's CAs for this registry added to its requests; every request goes
    // through it (the Authenticator's too).
    OriginTrustClient http_;
    Authenticator auth_;
};

}  // namespace assetctl::registry
