#include "image/save_stream.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include <spdlog/spdlog.h>

#include "crypto/crypto.hpp"
#include "image/image_error.hpp"
#include "image/libarchive_reading.hpp"
#include "image/quote.hpp"
#include "util/interrupt.hpp"
#include "util/strings.hpp"

namespace assetctl::image {
namespace {

using registry::Digest;

constexpr std::size_t k_read_block = 1 << 20;
// Entries up to this size are read into memory and hashed before anything is decided: configs,
// manifests and tiny layers. Bigger ones are compressed while they are read.
constexpr std::uint64_t k_small_entry = 1 << 20;
constexpr std::uint64_t k_max_config = 16u << 20;
constexpr std::size_t k_magic_bytes = 4;

// The digest an entry's name claims, if it has one: `blobs/sha256/<hex>` (OCI layouts and
// docker 25+), `<hex>.tar` (podman's docker-archive layers), `<hex>.json` (configs).
std::optional<Digest> digest_in_name(const std::string& name) {
    std::string last = name.substr(name.rfind('/') + 1);
    for (const std::string_view suffix : {".tar", ".json"}) {
        if (last.size() > suffix.size() && last.ends_with(suffix)) {
            last.resize(last.size() - suffix.size());
            break;
        }
    }
    return Digest::parse("sha256:" + last);
}

bool compressed_magic(std::string_view head) {
    const auto* b = reinterpret_cast<const unsigned char*>(head.data());
    const bool gzip = head.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b;
    const bool zstd =
        head.size() >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd;
    return gzip || zstd;
}

// One pass over the stream.
class SaveStreamReader {
  public:
    SaveStreamReader(int fd, const EngineImageInfo& image, const std::set<Digest>& wanted,
                     LayerStore& store, std::size_t threads, const std::string& label,
                     bool skip_by_size, const std::function<void(const Digest&)>& on_stored)
        : image_(image),
          wanted_(wanted),
          store_(store),
          threads_(threads),
          label_(label),
          skip_by_size_(skip_by_size),
          on_stored_(on_stored),
          reader_(new_reader()) {
        archive_read_support_format_tar(reader_.get());
        if (archive_read_open_fd(reader_.get(), fd, k_read_block) != ARCHIVE_OK) {
            fail("is not a tar stream: " + archive_message(reader_.get()));
        }
    }

    SavedImage read() {
        archive_entry* entry = nullptr;
        for (;;) {
            const int rc = archive_read_next_header(reader_.get(), &entry);
            if (rc == ARCHIVE_EOF) {
                break;
            }
            if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
                fail_corrupt();
            }
            const char* name = entry_pathname(entry);
            last_name_ = name != nullptr ? name : "?";
            if (archive_entry_filetype(entry) == AE_IFREG) {
                take(last_name_, archive_entry_size(entry));
            }
        }
        settle_small_layers();
        return finish();
    }

  private:
    // One regular entry of `size` bytes, positioned at its data.
    void take(const std::string& name, la_int64_t size) {
        if (size < 0) {
            fail_corrupt();
        }
        const auto bytes = static_cast<std::uint64_t>(size);
        const auto claimed = digest_in_name(name);
        if (claimed && *claimed != image_.id && bytes > k_small_entry &&
            std::find(image_.diff_ids.begin(), image_.diff_ids.end(), *claimed) !=
                image_.diff_ids.end() &&
            !wanted_.contains(*claimed)) {
            return;  // a layer the store holds: skipped unread
        }
        if (bytes <= k_small_entry || (claimed && *claimed == image_.id)) {
            keep_if_wanted(name, read_entry(name, bytes));
            return;
        }
        if (!claimed && skip_by_size_ && stored_layer_of_size(bytes)) {
            hash_entry();
            return;
        }
        compress_entry(name);
    }

    // Whether exactly one layer of the image that is not wanted (so stored) had `size` bytes
    // uncompressed: then an unnamed entry of that size is most likely it.
    bool stored_layer_of_size(std::uint64_t size) const {
        std::size_t matches = 0;
        for (const auto& diff_id : image_.diff_ids) {
            if (wanted_.contains(diff_id)) {
                continue;
            }
            const auto known = store_.known(diff_id);
            matches += known && known->input_size == size ? 1U : 0U;
        }
        return matches == 1;
    }

    // Reads the entry only to hash it (SHA-256 runs at GB/s; compressing costs 10x more).
    void hash_entry() {
        EntryReader input(*this);
        crypto::Sha256 hasher;  // read() hands out the peeked head first
        std::string buffer(k_read_block, '\0');
        for (;;) {
            const std::size_t n = input.read(buffer.data(), buffer.size());
            if (n == 0) {
                break;
            }
            hasher.update(std::string_view(buffer.data(), n));
        }
        const auto digest = Digest::from_string("sha256:" + hasher.hex_digest());
        if (wanted_.contains(digest) && !saved_.layers.contains(digest)) {
            saved_.missed.insert(digest);
        }
    }

    std::string read_entry(const std::string& name, std::uint64_t size) {
        if (size > k_max_config) {
            fail("entry " + quote(name) + " claims to be the config but has " +
                 std::to_string(size) + " bytes");
        }
        std::string bytes(size, '\0');
        std::size_t got = 0;
        while (got < bytes.size()) {
            const la_ssize_t n =
                archive_read_data(reader_.get(), bytes.data() + got, bytes.size() - got);
            if (n <= 0) {
                fail_corrupt();
            }
            got += static_cast<std::size_t>(n);
        }
        return bytes;
    }

    // A small entry is the config, a small wanted layer, or nothing we need.
    void keep_if_wanted(const std::string& name, std::string bytes) {
        const Digest digest = Digest::sha256_of(bytes);
        if (digest == image_.id) {
            config_ = std::move(bytes);
        } else if (wanted_.contains(digest) && !saved_.layers.contains(digest)) {
            small_layers_.emplace(digest, std::move(bytes));
        } else if (compressed_magic(bytes)) {
            compressed_entries_.push_back(name);
        }
    }

    // A big entry: compressed as it is read (its first bytes tell an already-compressed one).
    void compress_entry(const std::string& name) {
        EntryReader input(*this);
        if (compressed_magic(input.head())) {
            compressed_entries_.push_back(name);
            return;
        }
        auto [diff_id, blob] = store_.compress_stream(input, threads_);
        saved_.compressed_bytes += blob.compressed_now;
        if (wanted_.contains(diff_id)) {
            saved_.layers.emplace(diff_id, std::move(blob));
            announce(diff_id);
        } else {
            spdlog::debug("{}: entry {} ({}) is no layer of the image; compressed for nothing",
                          label_, name, diff_id.short_str());
        }
    }

    // Wanted layers that were small entries, compressed from memory.
    void settle_small_layers() {
        for (auto& [diff_id, bytes] : small_layers_) {
            if (saved_.layers.contains(diff_id)) {
                continue;
            }
            const std::string& data = bytes;
            auto blob =
                store_.compressed(diff_id, [&data] { return http::read_from_memory(data); });
            saved_.compressed_bytes += blob.compressed_now;
            saved_.layers.emplace(diff_id, std::move(blob));
            announce(diff_id);
        }
    }

    void announce(const Digest& diff_id) const {
        if (on_stored_) {
            on_stored_(diff_id);
        }
    }

    SavedImage finish() {
        if (!config_) {
            fail("has no config blob " + image_.id.short_str() +
                 " (the image id): the engine saved another image");
        }
        std::vector<std::string> missing;
        for (const auto& diff_id : wanted_) {
            if (!saved_.layers.contains(diff_id) && !saved_.missed.contains(diff_id)) {
                missing.push_back(diff_id.short_str());
            }
        }
        if (!missing.empty()) {
            std::string what = "lacks the layer(s) " + util::join(missing, ", ");
            if (!compressed_entries_.empty()) {
                what += "; it holds already-compressed entries (" +
                        util::join(compressed_entries_, ", ") +
                        "), as engines with the containerd image store save them, which the "
                        "native push does not read yet: use --push-mode docker";
            }
            fail(what);
        }
        saved_.config = std::move(*config_);
        return std::move(saved_);
    }

    [[noreturn]] void fail(const std::string& what) const {
        throw ImageError("the engine's save stream of " + label_ + " " + what);
    }

    [[noreturn]] void fail_corrupt() const {
        fail("is truncated or corrupt" +
             (last_name_.empty() ? std::string() : " after entry " + quote(last_name_)) + ": " +
             archive_message(reader_.get()) + " (did the engine fail? its error follows)");
    }

    // The current entry's data: its first bytes (peeked), then the rest.
    class EntryReader final : public http::BodyReader {
      public:
        explicit EntryReader(SaveStreamReader& owner) : owner_(owner) {
            head_.resize(k_magic_bytes);
            std::size_t got = 0;
            while (got < head_.size()) {
                const std::size_t n = next(head_.data() + got, head_.size() - got);
                if (n == 0) {
                    break;
                }
                got += n;
            }
            head_.resize(got);
        }
        std::string_view head() const { return head_; }

        std::size_t read(char* buffer, std::size_t size) override {
            if (offset_ < head_.size()) {
                const std::size_t n = std::min(size, head_.size() - offset_);
                std::memcpy(buffer, head_.data() + offset_, n);
                offset_ += n;
                return n;
            }
            return next(buffer, size);
        }

      private:
        std::size_t next(char* buffer, std::size_t size) {
            if (util::interrupted()) {
                throw util::Interrupted("interrupted while reading the engine's save stream");
            }
            const la_ssize_t n = archive_read_data(owner_.reader_.get(), buffer, size);
            if (n < 0) {
                owner_.fail_corrupt();
            }
            return static_cast<std::size_t>(n);
        }

        SaveStreamReader& owner_;
        std::string head_;
        std::size_t offset_ = 0;
    };

    const EngineImageInfo& image_;
    const std::set<Digest>& wanted_;
    LayerStore& store_;
    std::size_t threads_;
    const std::string& label_;
    const bool skip_by_size_;
    const std::function<void(const Digest&)>& on_stored_;
    ArchivePtr reader_;
    std::string last_name_;
    std::optional<std::string> config_;
    std::map<Digest, std::string> small_layers_;
    std::vector<std::string> compressed_entries_;
    SavedImage saved_;
};

}  // namespace

SavedImage read_save_stream(int fd, const EngineImageInfo& image,
                            const std::set<registry::Digest>& wanted, LayerStore& store,
                            std::size_t threads, const std::string& label, bool skip_by_size,
                            const std::function<void(const registry::Digest&)>& on_stored) {
    return SaveStreamReader(fd, image, wanted, store, threads, label, skip_by_size, on_stored)
        .read();
}

}  // namespace assetctl::image
