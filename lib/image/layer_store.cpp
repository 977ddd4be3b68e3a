#include "image/layer_store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <spdlog/spdlog.h>

#include "crypto/crypto.hpp"
#include "image/gzip.hpp"
#include "image/image_error.hpp"
#include "util/fd.hpp"
#include "util/files.hpp"

namespace assetctl::image {
namespace {

namespace fs = std::filesystem;

// Configs and manifests are small; a bigger "config" blob is not one.
constexpr std::uint64_t k_max_small_blob = 16u << 20;

// A new file for a blob being written, removed unless it was kept (renamed).
class TemporaryBlobFile {
  public:
    explicit TemporaryBlobFile(const fs::path& dir) {
        std::string name = (dir / ".partial-XXXXXX").string();
        fd_ = util::Fd(::mkstemp(name.data()));
        if (!fd_) {
            throw ImageError("cannot create a file in " + dir.string() + ": " +
                             util::errno_message(errno));
        }
        path_ = name;
    }
    ~TemporaryBlobFile() {
        if (!path_.empty()) {
            ::unlink(path_.c_str());
        }
    }
    TemporaryBlobFile(const TemporaryBlobFile&) = delete;
    TemporaryBlobFile& operator=(const TemporaryBlobFile&) = delete;

    int fd() const { return fd_.get(); }

    // Closes the file and renames it to `target` (replacing a file there: blobs are named by
    // their digest, so it holds the same bytes).
    void keep_as(const fs::path& target) {
        fd_ = util::Fd();
        if (::rename(path_.c_str(), target.c_str()) != 0) {
            throw ImageError("cannot rename " + path_.string() + " to " + target.string() + ": " +
                             util::errno_message(errno));
        }
        path_.clear();
    }

  private:
    util::Fd fd_;
    fs::path path_;
};

// Marks a blob as just used, for prune() (least recently used first). Best effort.
void touch(const fs::path& file) {
    ::utimensat(AT_FDCWD, file.c_str(), nullptr, 0);
}

bool has_size(const fs::path& file, std::uint64_t size) {
    struct stat info {};
    return ::stat(file.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
           static_cast<std::uint64_t>(info.st_size) == size;
}

// The blobs folder under `cache` when it can be made, else under `spool`.
fs::path choose_root(const std::optional<LayerCache>& cache, const fs::path& spool) {
    if (cache) {
        try {
            util::create_private_directories(cache->dir() / "blobs" / "sha256");
            return cache->dir();
        } catch (const std::exception& e) {
            spdlog::warn("layer cache: {}; compressed layers are kept for this run only", e.what());
        }
    }
    util::create_private_directories(spool / "blobs" / "sha256");
    return spool;
}

// verified_blob's reader: hashes what it hands out, checks the digest before the last byte.
class VerifyingReader final : public http::BodyReader {
  public:
    VerifyingReader(StoredBlob blob, std::unique_ptr<http::BodyReader> inner)
        : blob_(std::move(blob)), inner_(std::move(inner)) {}

    std::size_t read(char* buffer, std::size_t size) override {
        const std::size_t got = inner_->read(buffer, size);
        if (checked_) {
            return got;  // the end, after the check
        }
        hash_.update(std::string_view(buffer, got));
        read_ += got;
        if (got == 0 || read_ >= blob_.size) {
            checked_ = true;
            check();
        }
        return got;
    }

  private:
    void check() {
        const std::string actual = "sha256:" + hash_.hex_digest();
        if (read_ == blob_.size && actual == blob_.digest.str()) {
            return;
        }
        std::error_code ignored;
        fs::remove(blob_.file, ignored);
        throw ImageError("the compressed layer " + blob_.digest.short_str() + " stored in " +
                         blob_.file.string() +
                         " changed on disk since it was stored (its bytes are " +
                         actual.substr(0, 19) +
                         "...); it was removed from the layer store, so "
                         "publish again to compress the layer anew");
    }

    StoredBlob blob_;
    std::unique_ptr<http::BodyReader> inner_;
    crypto::Sha256 hash_;
    std::uint64_t read_ = 0;
    bool checked_ = false;
};

class VerifiedBlob final : public registry::BlobSource {
  public:
    explicit VerifiedBlob(StoredBlob blob) : blob_(std::move(blob)) {}
    const registry::Digest& digest() const override { return blob_.digest; }
    std::uint64_t size() const override { return blob_.size; }
    std::unique_ptr<http::BodyReader> open() const override {
        return std::make_unique<VerifyingReader>(blob_,
                                                 http::read_from_file(blob_.file, 0, blob_.size));
    }

  private:
    StoredBlob blob_;
};

}  // namespace

std::shared_ptr<const registry::BlobSource> verified_blob(const StoredBlob& blob) {
    if (blob.digest.algorithm() != "sha256") {
        return std::make_shared<registry::FileBlob>(blob.file, 0, blob.size, blob.digest);
    }
    return std::make_shared<VerifiedBlob>(blob);
}

LayerStore::LayerStore(std::optional<LayerCache> cache, fs::path spool_dir,
                       std::size_t compress_slots)
    : cache_(std::move(cache)),
      root_(choose_root(cache_, spool_dir)),
      slots_(std::max<std::size_t>(1, compress_slots)) {}

fs::path LayerStore::blob_path(const registry::Digest& digest) const {
    return root_ / "blobs" / digest.algorithm() / digest.hex();
}

std::optional<CachedLayer> LayerStore::known(const registry::Digest& diff_id) const {
    const auto entry = entries_.get(diff_id.str());
    std::lock_guard lock(entry->mutex);
    if (!entry->known && cache_) {
        entry->known = cache_->lookup(diff_id);
    }
    return entry->known;
}

std::optional<StoredBlob> LayerStore::stored_blob(const CachedLayer& layer) const {
    auto file = blob_path(layer.digest);
    if (!has_size(file, layer.size)) {
        return std::nullopt;
    }
    touch(file);
    return StoredBlob{layer.digest, layer.size, std::move(file)};
}

std::optional<StoredBlob> LayerStore::stored(const registry::Digest& diff_id) const {
    const auto layer = known(diff_id);
    return layer ? stored_blob(*layer) : std::nullopt;
}

void LayerStore::remember(const registry::Digest& diff_id, const CachedLayer& layer) {
    const auto entry = entries_.get(diff_id.str());
    std::lock_guard lock(entry->mutex);
    if (entry->known && entry->known->digest != layer.digest) {
        spdlog::warn(
            "layer {} compressed to {}, not to {} as the layer cache said; the cache "
            "entry was corrected",
            diff_id.short_str(), layer.digest.short_str(), entry->known->digest.short_str());
    }
    entry->known = layer;
    if (cache_) {
        cache_->store(diff_id, layer);
    }
}

StoredBlob LayerStore::compressed(const registry::Digest& diff_id, const LayerOpener& open) {
    // One compression per layer at a time: a second caller waits here and then finds it stored.
    const auto turn = entries_.get("compress\n" + diff_id.str());
    std::lock_guard lock(turn->mutex);
    if (auto blob = stored(diff_id)) {
        return *blob;
    }
    const auto input = open();
    auto [made, blob] = compress_into_blob(*input, 1, diff_id);
    remember(diff_id, {made.digest, made.size, made.input_size});
    return blob;
}

std::pair<registry::Digest, StoredBlob> LayerStore::compress_stream(http::BodyReader& input,
                                                                    std::size_t threads) {
    auto [made, blob] = compress_into_blob(input, threads, std::nullopt);
    remember(made.diff_id, {made.digest, made.size, made.input_size});
    return {made.diff_id, std::move(blob)};
}

std::pair<CompressedLayer, StoredBlob> LayerStore::compress_into_blob(
    http::BodyReader& input, std::size_t threads,
    const std::optional<registry::Digest>& expected_diff_id) {
    acquire_slot();
    struct Release {
        LayerStore& store;
        ~Release() { store.release_slot(); }
    } release{*this};
    const fs::path dir = root_ / "blobs" / "sha256";
    TemporaryBlobFile file(dir);
    const CompressedLayer made = compress_layer(input, file.fd(), threads, expected_diff_id);
    auto target = blob_path(made.digest);
    file.keep_as(target);
    input_bytes_ += made.input_size;
    ++layers_;
    return {made, StoredBlob{made.digest, made.size, std::move(target), made.input_size}};
}

std::optional<std::string> LayerStore::read_blob(const registry::Digest& digest) const {
    const auto file = blob_path(digest);
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0 || !S_ISREG(info.st_mode) ||
        static_cast<std::uint64_t>(info.st_size) > k_max_small_blob) {
        return std::nullopt;
    }
    try {
        std::string bytes = util::read_file(file);
        if (registry::Digest::sha256_of(bytes) != digest) {
            spdlog::debug("layer cache: {} does not match its digest; ignored", file.string());
            return std::nullopt;
        }
        touch(file);
        return bytes;
    } catch (const std::exception& e) {
        spdlog::debug("layer cache: cannot read {}: {}", file.string(), e.what());
        return std::nullopt;
    }
}

void LayerStore::keep_blob(const registry::Digest& digest, const std::string& bytes) {
    try {
        util::write_file_atomically(blob_path(digest), bytes,
                                    fs::perms::owner_read | fs::perms::owner_write);
    } catch (const std::exception& e) {
        spdlog::debug("layer cache: cannot keep {}: {}", digest.short_str(), e.what());
    }
}

std::uint64_t LayerStore::prune(std::uint64_t max_bytes) {
    if (!cache_ || root_ != cache_->dir()) {
        return 0;
    }
    struct Found {
        std::time_t used;
        std::uint64_t size;
        fs::path file;
    };
    std::vector<Found> blobs;
    std::error_code ec;
    for (const auto& item : fs::directory_iterator(root_ / "blobs" / "sha256", ec)) {
        struct stat info {};
        if (item.path().filename().string().starts_with(".") ||
            ::stat(item.path().c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
            continue;
        }
        blobs.push_back({info.st_mtime, static_cast<std::uint64_t>(info.st_size), item.path()});
    }
    std::sort(blobs.begin(), blobs.end(),
              [](const Found& a, const Found& b) { return a.used > b.used; });
    std::uint64_t total = 0;
    std::uint64_t deleted = 0;
    for (const auto& blob : blobs) {
        total += blob.size;
        if (total > max_bytes && ::unlink(blob.file.c_str()) == 0) {
            deleted += blob.size;
        }
    }
    if (deleted > 0) {
        spdlog::info("layer cache: removed {} MiB of least recently used blobs (limit {} MiB)",
                     deleted >> 20, max_bytes >> 20);
    }
    return deleted;
}

CompressionCounters LayerStore::counters() const {
    return {input_bytes_.load(), layers_.load()};
}

void LayerStore::acquire_slot() {
    std::unique_lock lock(slot_mutex_);
    slot_free_.wait(lock, [this] { return slots_in_use_ < slots_; });
    ++slots_in_use_;
}

void LayerStore::release_slot() {
    {
        std::lock_guard lock(slot_mutex_);
        --slots_in_use_;
    }
    slot_free_.notify_one();
}

}  // namespace assetctl::image
