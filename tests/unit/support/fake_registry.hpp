#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/http_client.hpp"
#include "http/url.hpp"
#include "registry/media_type.hpp"
#include "registry/reference.hpp"
#include "support/surprises.hpp"

namespace assetctl::test {

// A rule-based, in-memory registry behind the HttpClient interface, for code that sends
// requests from several threads (push_image), where a scripted order cannot be known. It
// implements what the client uses - ping, blob HEAD, upload sessions (POST, PATCH, PUT with
// ?digest=, DELETE), cross-repository mounts, manifest PUT/HEAD/GET - checks digests like a
// real registry, refuses a manifest whose blobs are missing, and records every request as
// "METHOD /path" in arrival order. fail() injects error answers. A request to another host is
// a surprise (support/surprises.hpp): it fails the test even if the caller catches it.
class FakeRegistry final : public http::HttpClient {
  public:
    static constexpr const char* k_origin = "https://registry.test";

    // With `authorization`, every request but the unauthenticated ping must carry exactly
    // that Authorization header (the ping gets 401 + a Basic challenge).
    explicit FakeRegistry(std::optional<std::string> authorization = std::nullopt)
        : authorization_(std::move(authorization)) {}

    bool mount_supported = true;

    void seed_blob(const std::string& repository, const std::string& bytes) {
        std::lock_guard lock(mutex_);
        blobs_[repository][registry::Digest::sha256_of(bytes).str()] = bytes;
    }
    bool has_blob(const std::string& repository, const registry::Digest& digest) const {
        std::lock_guard lock(mutex_);
        const auto repo = blobs_.find(repository);
        return repo != blobs_.end() && repo->second.count(digest.str()) > 0;
    }
    bool has_manifest(const std::string& repository, const std::string& reference) const {
        std::lock_guard lock(mutex_);
        const auto repo = manifests_.find(repository);
        return repo != manifests_.end() && repo->second.count(reference) > 0;
    }
    // The bytes stored for `reference` (a tag or digest); empty when there are none.
    std::string manifest_bytes(const std::string& repository, const std::string& reference) const {
        std::lock_guard lock(mutex_);
        const auto repo = manifests_.find(repository);
        if (repo == manifests_.end() || repo->second.count(reference) == 0) {
            return {};
        }
        return repo->second.at(reference).bytes;
    }
    // The next `times` requests with this method whose path contains `path_part` get `status`.
    void fail(std::string method, std::string path_part, long status, int times = 1,
              std::string body = {}, http::Headers headers = {}) {
        std::lock_guard lock(mutex_);
        faults_.push_back({std::move(method), std::move(path_part), status, times, std::move(body),
                           std::move(headers)});
    }
    std::vector<std::string> log() const {
        std::lock_guard lock(mutex_);
        return log_;
    }

    http::Response send(const http::Request& request) override {
        const auto url = http::parse_url(request.url);
        if (!url || url->origin() != k_origin) {
            surprises_.raise("FakeRegistry: request to another host: " + request.url);
        }
        std::lock_guard lock(mutex_);
        log_.push_back(request.method + " " + url->path);
        if (authorization_) {
            const auto sent = http::find_header(request.headers, "Authorization");
            if (!sent || *sent != *authorization_) {
                return answer(401, {{"WWW-Authenticate", R"(Basic realm="fake")"}},
                              error_body("UNAUTHORIZED", "authentication required"));
            }
        }
        for (auto& fault : faults_) {
            if (fault.times > 0 && fault.method == request.method &&
                url->path.find(fault.path) != std::string::npos) {
                --fault.times;
                return answer(fault.status, fault.headers, fault.body);
            }
        }
        if (url->path == "/v2/") {
            return answer(200);
        }
        const auto query = parse_query(url->query);
        if (auto at = url->path.rfind("/blobs/uploads/"); at != std::string::npos) {
            return upload(request, url->path.substr(4, at - 4),
                          url->path.substr(at + std::string("/blobs/uploads/").size()), query);
        }
        if (auto at = url->path.rfind("/blobs/"); at != std::string::npos) {
            const auto repository = url->path.substr(4, at - 4);
            const auto digest = url->path.substr(at + 7);
            const auto& repo = blobs_[repository];
            const auto it = repo.find(digest);
            if (request.method == "HEAD" && it != repo.end()) {
                return answer(200, {{"Content-Length", std::to_string(it->second.size())},
                                    {"Docker-Content-Digest", digest}});
            }
            return answer(404, {}, request.method == "HEAD" ? "" : error_body("BLOB_UNKNOWN", ""));
        }
        if (auto at = url->path.rfind("/manifests/"); at != std::string::npos) {
            return manifest(request, url->path.substr(4, at - 4), url->path.substr(at + 11));
        }
        return answer(404, {}, error_body("NAME_UNKNOWN", "no route"));
    }

  private:
    struct Fault {
        std::string method;
        std::string path;
        long status;
        int times;
        std::string body;
        http::Headers headers;
    };
    struct Session {
        std::string repository;
        std::string data;
    };
    struct StoredManifest {
        std::string media_type;
        std::string bytes;
    };

    static http::Response answer(long status, http::Headers headers = {}, std::string body = {}) {
        return http::Response{status, std::move(headers), std::move(body)};
    }
    static std::string error_body(const std::string& code, const std::string& message) {
        return nlohmann::json{{"errors", {{{"code", code}, {"message", message}}}}}.dump();
    }
    static std::string decode(const std::string& text) {
        std::string out;
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '%' && i + 2 < text.size()) {
                out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
                i += 2;
            } else {
                out += text[i];
            }
        }
        return out;
    }
    static std::map<std::string, std::string> parse_query(const std::string& query) {
        std::map<std::string, std::string> out;
        std::size_t start = 0;
        while (start < query.size()) {
            auto amp = query.find('&', start);
            const auto pair = query.substr(start, amp == std::string::npos ? amp : amp - start);
            const auto eq = pair.find('=');
            out[pair.substr(0, eq)] = eq == std::string::npos ? "" : decode(pair.substr(eq + 1));
            start = amp == std::string::npos ? query.size() : amp + 1;
        }
        return out;
    }

    http::Response new_session(const std::string& repository) {
        const std::string id = "session-" + std::to_string(++session_counter_);
        sessions_[id] = Session{repository, {}};
        return answer(202, {{"Location", "/v2/" + repository + "/blobs/uploads/" + id +
                                             "?_state=state-" + id}});
    }

    http::Response upload(const http::Request& request, const std::string& repository,
                          const std::string& id, const std::map<std::string, std::string>& query) {
        if (request.method == "POST") {
            if (auto mount = query.find("mount"); mount != query.end()) {
                const auto from = blobs_[query.count("from") ? query.at("from") : ""];
                if (mount_supported && from.count(mount->second)) {
                    blobs_[repository][mount->second] = from.at(mount->second);
                    return answer(201,
                                  {{"Location", "/v2/" + repository + "/blobs/" + mount->second},
                                   {"Docker-Content-Digest", mount->second}});
                }
            }
            return new_session(repository);
        }
        const auto session = sessions_.find(id);
        if (session == sessions_.end() || session->second.repository != repository) {
            return answer(404, {}, error_body("BLOB_UPLOAD_UNKNOWN", "unknown session " + id));
        }
        if (request.method == "DELETE") {
            sessions_.erase(session);
            return answer(204);
        }
        session->second.data += http::body_bytes(request);
        if (request.method == "PATCH") {
            return answer(202, {{"Location", "/v2/" + repository + "/blobs/uploads/" + id +
                                                 "?_state=patched-" + id},
                                {"Range", "0-" + std::to_string(session->second.data.size())}});
        }
        if (request.method != "PUT" || !query.count("digest")) {
            return answer(400, {}, error_body("BLOB_UPLOAD_INVALID", "bad upload request"));
        }
        const auto actual = registry::Digest::sha256_of(session->second.data).str();
        if (actual != query.at("digest")) {
            sessions_.erase(session);
            return answer(400, {}, error_body("DIGEST_INVALID", "digest mismatch"));
        }
        blobs_[repository][actual] = session->second.data;
        sessions_.erase(session);
        return answer(201, {{"Location", "/v2/" + repository + "/blobs/" + actual},
                            {"Docker-Content-Digest", actual}});
    }

    http::Response manifest(const http::Request& request, const std::string& repository,
                            const std::string& reference) {
        auto& repo = manifests_[repository];
        if (request.method == "PUT") {
            const auto type = http::find_header(request.headers, "Content-Type").value_or("");
            const auto json = nlohmann::json::parse(request.body, nullptr, false);
            if (!json.is_object()) {
                return answer(400, {}, error_body("MANIFEST_INVALID", "not JSON"));
            }
            std::vector<std::string> needed_blobs;
            std::vector<std::string> needed_manifests;
            if (registry::media_type::is_index(type)) {
                for (const auto& entry : json.value("manifests", nlohmann::json::array())) {
                    needed_manifests.push_back(entry.value("digest", ""));
                }
            } else if (registry::media_type::is_image_manifest(type)) {
                needed_blobs.push_back(json["config"].value("digest", ""));
                for (const auto& layer : json.value("layers", nlohmann::json::array())) {
                    needed_blobs.push_back(layer.value("digest", ""));
                }
            } else {
                return answer(400, {}, error_body("MANIFEST_INVALID", "unsupported " + type));
            }
            for (const auto& digest : needed_blobs) {
                if (!blobs_[repository].count(digest)) {
                    return answer(400, {}, error_body("MANIFEST_BLOB_UNKNOWN", digest));
                }
            }
            for (const auto& digest : needed_manifests) {
                if (!repo.count(digest)) {
                    return answer(400, {}, error_body("MANIFEST_BLOB_UNKNOWN", digest));
                }
            }
            const auto digest = registry::Digest::sha256_of(request.body).str();
            repo[reference] = StoredManifest{type, request.body};
            repo[digest] = StoredManifest{type, request.body};
            return answer(201, {{"Docker-Content-Digest", digest},
                                {"Location", "/v2/" + repository + "/manifests/" + digest}});
        }
        const auto it = repo.find(reference);
        if (it == repo.end()) {
            return answer(404, {},
                          request.method == "HEAD" ? "" : error_body("MANIFEST_UNKNOWN", ""));
        }
        http::Headers headers{
            {"Content-Type", it->second.media_type},
            {"Docker-Content-Digest", registry::Digest::sha256_of(it->second.bytes).str()},
            {"Content-Length", std::to_string(it->second.bytes.size())}};
        return answer(200, headers, request.method == "GET" ? it->second.bytes : "");
    }

    Surprises surprises_;
    mutable std::mutex mutex_;
    std::optional<std::string> authorization_;
    std::map<std::string, std::map<std::string, std::string>> blobs_;
    std::map<std::string, std::map<std::string, StoredManifest>> manifests_;
    std::map<std::string, Session> sessions_;
    std::vector<Fault> faults_;
    std::vector<std::string> log_;
    int session_counter_ = 0;
};

}  // namespace assetctl::test
