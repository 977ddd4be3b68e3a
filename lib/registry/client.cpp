#include "registry/client.hpp"

#include <charconv>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http/redact.hpp"
#include "registry/location.hpp"
#include "registry/media_type.hpp"

namespace assetctl::registry {
namespace {

http::Url parse_registry(std::string_view registry) {
    if (registry.find("://") != std::string_view::npos) {
        auto url = http::parse_url(registry);
        if (!url || (url->path != "/" && !url->path.empty()) || !url->query.empty()) {
            throw InvalidReference("invalid registry URL '" + std::string(registry) +
                                   "': expected http(s)://host[:port]");
        }
        url->path = "/";
        return *url;
    }
    if (!is_valid_registry_host(registry)) {
        throw InvalidReference("invalid registry host '" + std::string(registry) + "'");
    }
    return *http::parse_url("https://" + std::string(registry));
}

void check_repository(std::string_view repository) {
    if (!is_valid_repository(repository)) {
        throw InvalidReference("invalid repository name '" + std::string(repository) +
                               "' (lower-case letters and digits, separated by '.', '_', '__', "
                               "'-' or '/')");
    }
}

// A manifest reference is a tag or a digest.
void check_manifest_reference(std::string_view reference) {
    if (reference.find(':') != std::string_view::npos) {
        Digest::from_string(reference);
    } else if (!is_valid_tag(reference)) {
        throw InvalidReference("invalid tag '" + std::string(reference) + "'");
    }
}

std::optional<std::uint64_t> content_length(const http::Response& response) {
    const auto value = response.header("Content-Length");
    if (!value) {
        return std::nullopt;
    }
    std::uint64_t size = 0;
    const auto* end = value->data() + value->size();
    auto [ptr, ec] = std::from_chars(value->data(), end, size);
    if (ec != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return size;
}

// "application/vnd.oci.image.manifest.v1+json; charset=utf-8" -> the type alone.
std::string bare_media_type(std::string_view content_type) {
    const auto semicolon = content_type.find(';');
    std::string_view type = content_type.substr(0, semicolon);
    while (!type.empty() && type.back() == ' ') {
        type.remove_suffix(1);
    }
    return std::string(type);
}

std::string media_type_in_body(std::string_view bytes) {
    const auto json = nlohmann::json::parse(bytes, nullptr, false);
    if (json.is_object()) {
        if (auto it = json.find("mediaType"); it != json.end() && it->is_string()) {
            return it->get<std::string>();
        }
    }
    return {};
}

// The Docker-Content-Digest of an answer, if it carries a valid one.
std::optional<Digest> content_digest(const http::Response& response) {
    const auto value = response.header("Docker-Content-Digest");
    return value ? Digest::parse(*value) : std::nullopt;
}

}  // namespace

RegistryClient::RegistryClient(http::HttpClient& http, const http::RetryContext& retry,
                               const util::Clock& clock, std::string_view registry,
                               std::shared_ptr<CredentialsSource> credentials,
                               ClientOptions options)
    : retry_(retry),
      registry_(parse_registry(registry)),
      options_(options),
      http_(http, registry_.origin(),
            options_.docker_certs_dir.empty()
                ? nullptr
                : docker_ca_pem(options_.docker_certs_dir, registry_.authority())),
      auth_(http_, retry, clock, registry_, std::move(credentials)) {}

http::Response RegistryClient::send(const std::string& what, http::Request& request,
                                    const std::vector<std::string>& scopes, RetryScope scope) {
    return http::send_with_retries(
        retry_, what, [&] { return auth_.send(request, scopes); },
        [scope](const http::Response& response) { return classify_answer(response, scope); });
}

std::string RegistryClient::repository_url(std::string_view repository) const {
    check_repository(repository);
    return registry_.origin() + "/v2/" + std::string(repository);
}

AuthScheme RegistryClient::ping() {
    const AuthScheme scheme = auth_.scheme();
    http::Request request;
    request.url = registry_.origin() + "/v2/";
    const auto response = send("registry ping " + host(), request, {});
    if (response.status != 200) {
        throw error_from_response("GET /v2/ (" + host() + ")", response);
    }
    return scheme;
}

std::optional<std::uint64_t> RegistryClient::blob_exists(std::string_view repository,
                                                         const Digest& digest) {
    http::Request request;
    request.method = "HEAD";
    request.url = repository_url(repository) + "/blobs/" + digest.str();
    const std::string what = "HEAD blob " + digest.short_str() + " in " + std::string(repository);
    const auto response = send(what, request, {repository_scope(repository, "pull")});
    if (response.status == 200) {
        return content_length(response).value_or(0);
    }
    // A registry that serves blobs from other storage may redirect even a HEAD there; the
    // redirect itself says the blob is present.
    if (response.status == 302 || response.status == 303 || response.status == 307) {
        return 0;
    }
    if (response.status == 404) {
        return std::nullopt;
    }
    throw error_from_response(what, response);
}

bool RegistryClient::mount_blob(std::string_view repository, const Digest& digest,
                                std::string_view from_repository) {
    check_repository(from_repository);
    http::Request request;
    request.method = "POST";
    request.url = add_query_parameter(
        add_query_parameter(repository_url(repository) + "/blobs/uploads/", "mount", digest.str()),
        "from", from_repository);
    const std::string what = "mount blob " + digest.short_str() + " from " +
                             std::string(from_repository) + " into " + std::string(repository);
    const auto response = send(
        what, request,
        {repository_scope(repository, "pull,push"), repository_scope(from_repository, "pull")});
    if (response.status == 201) {
        spdlog::debug("registry {}: mounted {} into {} from {}", host(), digest.short_str(),
                      repository, from_repository);
        return true;
    }
    if (response.status != 202) {
        throw error_from_response(what, response);
    }
    // An upload session we will not use: cancel it so it does not linger until the registry
    // purges it. Best effort - its failure changes nothing for the push.
    if (const auto location = response.header("Location")) {
        try {
            http::Request cancel;
            cancel.method = "DELETE";
            cancel.url = resolve_location(request.url, *location);
            const auto answer = auth_.send(cancel, {repository_scope(repository, "pull,push")});
            spdlog::debug("registry {}: cancelled the upload session the mount opened: HTTP {}",
                          host(), answer.status);
        } catch (const std::exception& e) {
            spdlog::debug("registry {}: cancelling the upload session the mount opened: {}", host(),
                          e.what());
        }
    }
    return false;
}

UploadResult RegistryClient::upload_blob(std::string_view repository, const BlobSource& blob) {
    const Digest& digest = blob.digest();
    const auto result =
        upload(repository, digest.short_str(),
               http::StreamedBody{blob.size(), [&blob] { return blob.open(); }},
               options_.upload_method, [&] { return std::make_pair(digest, blob.size()); });
    spdlog::debug("registry {}: uploaded {} ({} bytes) to {} in {} session(s)", host(),
                  digest.short_str(), blob.size(), repository, result.sessions);
    return result;
}

namespace {

// The attempts of one blob upload (RegistryClient::upload): each is a new session, POST then
// the body by PATCH + PUT or by one PUT. Remembers the step last sent (for the error message),
// the digest the upload was completed with and what went on the wire.
class UploadAttempts {
  public:
    using DigestOfBody = std::function<std::pair<Digest, std::uint64_t>()>;

    UploadAttempts(Authenticator& auth, std::string host, std::string_view repository,
                   const http::StreamedBody& body, std::chrono::milliseconds timeout,
                   UploadMethod method, const DigestOfBody& digest_of_body)
        : auth_(auth),
          host_(std::move(host)),
          repository_(repository),
          scopes_{repository_scope(repository, "pull,push")},
          method_(method),
          digest_of_body_(digest_of_body) {
        // Built once: attempts change its URL and headers; every send reads the blob again
        // from its first byte (it is never held in memory).
        carrier_.stream = body;
        carrier_.timeout = timeout;
    }

    // One attempt: the answer that ends it (a failed step's, or the completing PUT's).
    http::Response operator()(const std::string& start_url) {
        ++result_.sessions;
        step_ = "POST (start upload)";
        http::Request start;
        start.method = "POST";
        start.url = start_url;
        auto response = auth_.send(start, scopes_);
        if (response.status != 202) {
            return response;
        }
        const auto location = response.header("Location");
        if (!location) {
            throw ProtocolError("registry " + host_ + " opened an upload session in " +
                                repository_ + " without a Location header");
        }
        const std::string session = resolve_location(start.url, *location);
        carrier_.headers = {{"Content-Type", std::string(media_type::k_octet_stream)}};
        return method_ == UploadMethod::single_patch ? patch_then_put(session) : put(session);
    }

    const std::string& step() const { return step_; }
    const Digest& digest() const { return digest_; }
    const UploadResult& result() const { return result_; }

  private:
    http::Response patch_then_put(std::string session) {
        step_ = "PATCH (upload)";
        carrier_.method = "PATCH";
        carrier_.url = session;
        const auto response = auth_.send(carrier_, scopes_);
        // The spec says 202; ECR answers 201. Either way the bytes were taken.
        if (response.status != 202 && response.status != 201) {
            result_.bytes_sent += carrier_.stream->unknown_size ? 0 : carrier_.stream->size;
            return response;
        }
        const auto [sent_digest, sent_size] = digest_of_body_();
        digest_ = sent_digest;
        result_.bytes_sent += sent_size;
        if (const auto next = response.header("Location")) {
            session = resolve_location(session, *next);
        }
        step_ = "PUT (complete upload)";
        http::Request complete;
        complete.method = "PUT";
        complete.url = add_query_parameter(session, "digest", digest_.str());
        complete.headers = {{"Content-Type", std::string(media_type::k_octet_stream)}};
        return auth_.send(complete, scopes_);
    }

    http::Response put(const std::string& session) {
        step_ = "PUT (upload)";
        digest_ = digest_of_body_().first;
        carrier_.method = "PUT";
        carrier_.url = add_query_parameter(session, "digest", digest_.str());
        result_.bytes_sent += carrier_.stream->size;
        return auth_.send(carrier_, scopes_);
    }

    Authenticator& auth_;
    const std::string host_;
    const std::string repository_;
    const std::vector<std::string> scopes_;
    const UploadMethod method_;
    const DigestOfBody& digest_of_body_;
    http::Request carrier_;
    std::string step_;
    Digest digest_;
    UploadResult result_;
};

}  // namespace

UploadResult RegistryClient::upload(
    std::string_view repository, const std::string& label, const http::StreamedBody& body,
    UploadMethod method, const std::function<std::pair<Digest, std::uint64_t>()>& digest_of_body) {
    const std::string start_url = repository_url(repository) + "/blobs/uploads/";
    const auto timeout =
        options_.upload_timeout_floor +
        std::chrono::milliseconds(static_cast<long long>(
            body.size * 1000 / std::max<std::uint64_t>(1, options_.upload_min_bytes_per_second)));
    UploadAttempts attempts(auth_, host(), repository, body, timeout, method, digest_of_body);
    const std::string what =
        "upload blob " + label + " to " + host() + "/" + std::string(repository);
    const auto response = http::send_with_retries(
        retry_, what, [&] { return attempts(start_url); },
        [](const http::Response& answer) {
            return classify_answer(answer, RetryScope::upload_session);
        });
    if (response.status != 201) {
        const std::string& step = attempts.step();
        if (response.status >= 200 && response.status < 400) {
            throw ProtocolError(what + ": " + step + " answered HTTP " +
                                std::to_string(response.status) + " instead of " +
                                (step.starts_with("POST") ? "202" : "201"));
        }
        throw error_from_response(what + ": " + step, response);
    }
    if (const auto stored = content_digest(response); stored && *stored != attempts.digest()) {
        throw ProtocolError(what + ": the registry stored it as " + stored->str());
    }
    return attempts.result();
}

Digest RegistryClient::put_manifest(std::string_view repository, std::string_view reference,
                                    std::string_view media_type, std::string_view bytes) {
    check_manifest_reference(reference);
    const Digest computed = Digest::sha256_of(bytes);
    if (const auto by_digest = Digest::parse(reference);
        by_digest && by_digest->algorithm() == "sha256" && *by_digest != computed) {
        throw std::invalid_argument("manifest pushed by digest " + by_digest->str() +
                                    " has digest " + computed.str());
    }
    http::Request request;
    request.method = "PUT";
    request.url = repository_url(repository) + "/manifests/" + std::string(reference);
    request.headers = {{"Content-Type", std::string(media_type)}};
    request.body = std::string(bytes);
    const std::string what =
        "PUT manifest " + std::string(repository) +
        (reference.find(':') == std::string_view::npos ? ":" + std::string(reference)
                                                       : "@" + std::string(reference));
    const auto response = send(what, request, {repository_scope(repository, "pull,push")});
    if (response.status != 201 && response.status != 200) {
        if (response.status >= 200 && response.status < 400) {
            throw ProtocolError(what + " answered HTTP " + std::to_string(response.status) +
                                " instead of 201");
        }
        throw error_from_response(what, response);
    }
    const auto stored = content_digest(response);
    if (!stored) {
        return computed;
    }
    if (stored->algorithm() == "sha256" && *stored != computed) {
        throw ProtocolError(what + ": the registry reports digest " + stored->str() +
                            " for a manifest whose sha256 is " + computed.str());
    }
    return *stored;
}

std::optional<ManifestInfo> RegistryClient::manifest_exists(std::string_view repository,
                                                            std::string_view reference) {
    check_manifest_reference(reference);
    http::Request request;
    request.method = "HEAD";
    request.url = repository_url(repository) + "/manifests/" + std::string(reference);
    request.headers = {{"Accept", media_type::manifest_accept_header()}};
    const std::string what =
        "HEAD manifest " + std::string(repository) + " " + std::string(reference);
    const auto response = send(what, request, {repository_scope(repository, "pull")});
    if (response.status == 404) {
        return std::nullopt;
    }
    if (response.status != 200) {
        throw error_from_response(what, response);
    }
    ManifestInfo info;
    info.media_type = bare_media_type(response.header("Content-Type").value_or(""));
    info.size = content_length(response).value_or(0);
    if (const auto digest = content_digest(response)) {
        info.digest = *digest;
        return info;
    }
    // Docker-Content-Digest is optional on HEAD: hash the manifest itself.
    const auto manifest = get_manifest(repository, reference);
    info.digest = manifest.digest;
    info.media_type = manifest.media_type;
    info.size = manifest.bytes.size();
    return info;
}

Manifest RegistryClient::get_manifest(std::string_view repository, std::string_view reference) {
    check_manifest_reference(reference);
    http::Request request;
    request.method = "GET";
    request.url = repository_url(repository) + "/manifests/" + std::string(reference);
    request.headers = {{"Accept", media_type::manifest_accept_header()}};
    const std::string what =
        "GET manifest " + std::string(repository) + " " + std::string(reference);
    const auto response = send(what, request, {repository_scope(repository, "pull")});
    if (response.status != 200) {
        throw error_from_response(what, response);
    }
    Manifest manifest;
    manifest.bytes = response.body;
    manifest.digest = Digest::sha256_of(manifest.bytes);
    manifest.media_type = bare_media_type(response.header("Content-Type").value_or(""));
    if (!media_type::is_image_manifest(manifest.media_type) &&
        !media_type::is_index(manifest.media_type)) {
        if (auto in_body = media_type_in_body(manifest.bytes); !in_body.empty()) {
            manifest.media_type = in_body;
        }
    }
    if (const auto wanted = Digest::parse(reference);
        wanted && wanted->algorithm() == "sha256" && *wanted != manifest.digest) {
        throw ProtocolError(what + ": the answer's sha256 is " + manifest.digest.str());
    }
    return manifest;
}

}  // namespace assetctl::registry
