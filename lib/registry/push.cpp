#include "registry/push.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "registry/media_type.hpp"
#include "util/interrupt.hpp"
#include "util/thread_pool.hpp"

namespace assetctl::registry {
namespace {

nlohmann::json parse_manifest_json(const ManifestPayload& manifest, const char* what) {
    auto json = nlohmann::json::parse(manifest.bytes, nullptr, false);
    if (!json.is_object()) {
        throw std::invalid_argument(std::string(what) + " (" + manifest.media_type +
                                    ") is not a JSON object");
    }
    return json;
}

Digest descriptor_digest(const nlohmann::json& descriptor, const std::string& where) {
    if (!descriptor.is_object() || !descriptor.contains("digest") ||
        !descriptor["digest"].is_string()) {
        throw std::invalid_argument(where + " has no digest");
    }
    const auto text = descriptor["digest"].get<std::string>();
    const auto digest = Digest::parse(text);
    if (!digest) {
        throw std::invalid_argument(where + " has an invalid digest '" + text + "'");
    }
    return *digest;
}

// Layers a registry never receives: Windows foreign layers and OCI non-distributable ones
// (their bytes come from `urls`).
bool is_foreign_layer(const nlohmann::json& layer) {
    if (!layer.is_object() || !layer.contains("mediaType") || !layer["mediaType"].is_string()) {
        return false;
    }
    return media_type::is_non_distributable_layer(layer["mediaType"].get<std::string>());
}

void check_repository_and_tag(std::string_view repository, std::string_view tag) {
    if (!is_valid_repository(repository)) {
        throw InvalidReference("invalid repository name '" + std::string(repository) + "'");
    }
    if (!is_valid_tag(tag)) {
        throw InvalidReference("invalid tag '" + std::string(tag) + "'");
    }
}

// Checks that every blob `manifest` references is in `available`.
void check_blobs_given(const ManifestPayload& manifest,
                       const std::map<Digest, std::shared_ptr<const BlobSource>>& available) {
    std::string missing;
    for (const auto& digest : referenced_blobs(manifest)) {
        if (available.find(digest) == available.end()) {
            missing += (missing.empty() ? "" : ", ") + digest.str();
        }
    }
    if (!missing.empty()) {
        throw std::invalid_argument("the manifest references blobs that were not given: " +
                                    missing);
    }
}

void add_blobs(const std::vector<std::shared_ptr<const BlobSource>>& blobs,
               std::map<Digest, std::shared_ptr<const BlobSource>>& unique,
               std::vector<std::shared_ptr<const BlobSource>>& ordered) {
    for (const auto& blob : blobs) {
        if (!blob) {
            throw std::invalid_argument("a blob source is null");
        }
        if (unique.emplace(blob->digest(), blob).second) {
            ordered.push_back(blob);
        }
    }
}

class BlobPhase {
  public:
    BlobPhase(RegistryClient& client, std::string_view repository, const PushOptions& options,
              PushReport& report)
        : client_(client), repository_(repository), options_(options), report_(report) {}

    void run(const std::vector<std::shared_ptr<const BlobSource>>& blobs) {
        std::vector<BlobMaker> makers;
        for (const auto& blob : blobs) {
            makers.emplace_back([blob] { return blob; });
        }
        run(makers);
    }

    // Makes and settles every blob; returns them in the makers' order.
    std::vector<std::shared_ptr<const BlobSource>> run(const std::vector<BlobMaker>& makers) {
        std::vector<std::shared_ptr<const BlobSource>> made(makers.size());
        const std::size_t jobs = std::min(options_.jobs, makers.size());
        if (jobs <= 1) {
            for (std::size_t i = 0; i < makers.size(); ++i) {
                settle(makers[i], made[i]);
            }
        } else {
            util::ThreadPool pool(jobs);
            for (std::size_t i = 0; i < makers.size(); ++i) {
                pool.submit([this, &makers, &made, i] { settle(makers[i], made[i]); });
            }
            pool.wait();
        }
        if (error_) {
            std::rethrow_exception(error_);
        }
        if (util::interrupted()) {
            throw PushInterrupted("interrupted before the manifest of " + repository_ +
                                  " was written; the tag was not changed");
        }
        return made;
    }

  private:
    // Runs on a worker thread: must not throw.
    void settle(const BlobMaker& maker, std::shared_ptr<const BlobSource>& made) {
        if (failed_.load() || util::interrupted()) {
            return;  // no new work after a failure or an interruption
        }
        try {
            auto result = maker();
            made = result.blob;
            if (!made) {
                throw std::invalid_argument("a blob source is null");
            }
            const BlobSource& blob = *made;
            BlobProgress progress{blob.digest(), BlobAction::skipped, 0};
            if (result.uploaded) {
                progress.action = BlobAction::uploaded;
                progress.bytes_sent = result.uploaded->bytes_sent;
            } else if (result.present || client_.blob_exists(repository_, blob.digest())) {
                progress.action = BlobAction::skipped;
            } else {
                for (const auto& from : options_.mount_from) {
                    if (from != repository_ &&
                        client_.mount_blob(repository_, blob.digest(), from)) {
                        progress.action = BlobAction::mounted;
                        break;
                    }
                }
                if (progress.action != BlobAction::mounted) {
                    progress.bytes_sent = client_.upload_blob(repository_, blob).bytes_sent;
                    progress.action = BlobAction::uploaded;
                }
            }
            {
                std::lock_guard lock(mutex_);
                switch (progress.action) {
                    case BlobAction::skipped:
                        ++report_.blobs_skipped;
                        break;
                    case BlobAction::mounted:
                        ++report_.blobs_mounted;
                        break;
                    case BlobAction::uploaded:
                        ++report_.blobs_uploaded;
                        break;
                }
                report_.bytes_sent += progress.bytes_sent;
            }
            if (options_.on_blob) {
                options_.on_blob(progress);
            }
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (!error_) {
                error_ = std::current_exception();
            }
            failed_.store(true);
        }
    }

    RegistryClient& client_;
    const std::string repository_;
    const PushOptions& options_;
    PushReport& report_;
    std::mutex mutex_;
    std::exception_ptr error_;
    std::atomic<bool> failed_{false};
};

void log_pushed(const RegistryClient& client, std::string_view repository, std::string_view tag,
                const PushReport& report) {
    spdlog::debug("registry {}: pushed {}:{} ({}): {} uploaded, {} mounted, {} present",
                  client.host(), repository, tag, report.digest.short_str(), report.blobs_uploaded,
                  report.blobs_mounted, report.blobs_skipped);
}

}  // namespace

std::vector<Digest> referenced_blobs(const ManifestPayload& manifest) {
    if (media_type::is_index(manifest.media_type)) {
        throw std::invalid_argument("a " + manifest.media_type +
                                    " is an index: push it with push_index");
    }
    const auto json = parse_manifest_json(manifest, "the image manifest");
    std::vector<Digest> out;
    if (!json.contains("config")) {
        throw std::invalid_argument("the image manifest has no config");
    }
    out.push_back(descriptor_digest(json["config"], "the manifest's config"));
    if (json.contains("layers")) {
        if (!json["layers"].is_array()) {
            throw std::invalid_argument("the image manifest's layers are not an array");
        }
        std::size_t index = 0;
        for (const auto& layer : json["layers"]) {
            if (!is_foreign_layer(layer)) {
                out.push_back(descriptor_digest(
                    layer, "layer " + std::to_string(index) + " of the manifest"));
            }
            ++index;
        }
    }
    return out;
}

std::vector<Digest> referenced_manifests(const ManifestPayload& index) {
    const auto json = parse_manifest_json(index, "the index");
    if (!json.contains("manifests") || !json["manifests"].is_array()) {
        throw std::invalid_argument("the index has no manifests array");
    }
    std::vector<Digest> out;
    std::size_t position = 0;
    for (const auto& entry : json["manifests"]) {
        out.push_back(
            descriptor_digest(entry, "entry " + std::to_string(position++) + " of the index"));
    }
    return out;
}

PushReport push_image(RegistryClient& client, std::string_view repository, std::string_view tag,
                      const std::vector<std::shared_ptr<const BlobSource>>& blobs,
                      const ManifestPayload& manifest, const PushOptions& options) {
    check_repository_and_tag(repository, tag);
    std::map<Digest, std::shared_ptr<const BlobSource>> unique;
    std::vector<std::shared_ptr<const BlobSource>> ordered;
    add_blobs(blobs, unique, ordered);
    check_blobs_given(manifest, unique);

    PushReport report;
    BlobPhase(client, repository, options, report).run(ordered);
    report.digest = client.put_manifest(repository, tag, manifest.media_type, manifest.bytes);
    log_pushed(client, repository, tag, report);
    return report;
}

PushReport push_made_image(RegistryClient& client, std::string_view repository,
                           std::string_view tag, const std::vector<BlobMaker>& makers,
                           const ManifestMaker& make_manifest, const PushOptions& options) {
    check_repository_and_tag(repository, tag);
    PushReport report;
    const auto made = BlobPhase(client, repository, options, report).run(makers);
    const auto manifest = make_manifest(made);
    std::map<Digest, std::shared_ptr<const BlobSource>> unique;
    std::vector<std::shared_ptr<const BlobSource>> ordered;
    add_blobs(made, unique, ordered);
    check_blobs_given(manifest, unique);
    report.digest = client.put_manifest(repository, tag, manifest.media_type, manifest.bytes);
    log_pushed(client, repository, tag, report);
    return report;
}

PushReport push_index(RegistryClient& client, std::string_view repository, std::string_view tag,
                      const std::vector<ImagePayload>& images, const ManifestPayload& index,
                      const PushOptions& options) {
    check_repository_and_tag(repository, tag);
    if (!media_type::is_index(index.media_type)) {
        throw std::invalid_argument(index.media_type +
                                    " is not an index type: push it with push_image");
    }
    std::map<Digest, std::shared_ptr<const BlobSource>> unique;
    std::vector<std::shared_ptr<const BlobSource>> ordered;
    std::set<Digest> children;
    for (const auto& image : images) {
        add_blobs(image.blobs, unique, ordered);
        children.insert(Digest::sha256_of(image.manifest.bytes));
    }
    for (const auto& image : images) {
        check_blobs_given(image.manifest, unique);
    }
    const auto listed = referenced_manifests(index);
    const std::set<Digest> listed_set(listed.begin(), listed.end());
    if (listed_set != children) {
        throw std::invalid_argument("the index must list exactly the child manifests given (" +
                                    std::to_string(listed_set.size()) + " listed, " +
                                    std::to_string(children.size()) +
                                    " given, or their digests differ)");
    }

    PushReport report;
    BlobPhase(client, repository, options, report).run(ordered);
    for (const auto& image : images) {
        if (util::interrupted()) {
            throw PushInterrupted("interrupted before the index of " + std::string(repository) +
                                  " was written; the tag was not changed");
        }
        client.put_manifest(repository, Digest::sha256_of(image.manifest.bytes).str(),
                            image.manifest.media_type, image.manifest.bytes);
    }
    report.digest = client.put_manifest(repository, tag, index.media_type, index.bytes);
    return report;
}

}  // namespace assetctl::registry
