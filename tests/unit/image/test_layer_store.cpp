// The layer store: one compression per layer however many callers ask at once, blobs kept in
// the cache folder (so a later run finds them), configs checked against their digest, and the
// least recently used blobs pruned first.
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "http/http_client.hpp"
#include "image/layer_store.hpp"
#include "support/temp_dir.hpp"
#include "util/files.hpp"

using namespace assetctl;
using registry::Digest;

namespace {

std::string content(char fill, std::size_t size) {
    std::string out(size, fill);
    for (std::size_t i = 0; i < size; i += 31) {
        out[i] = static_cast<char>('a' + i % 23);
    }
    return out;
}

struct Harness {
    test::TempDir dir;
    std::filesystem::path cache = dir.path() / "cache";
    std::filesystem::path spool = dir.path() / "spool";

    Harness() { std::filesystem::create_directories(spool); }
    image::LayerStore store() { return image::LayerStore(image::LayerCache(cache), spool, 2); }
};

}  // namespace

TEST_CASE("layer store: concurrent callers of one layer compress it once") {
    Harness h;
    auto store = h.store();
    const std::string layer = content('l', 3'000'000);
    const auto diff_id = Digest::sha256_of(layer);
    std::atomic<int> opened{0};
    std::vector<image::StoredBlob> results(4);
    std::vector<std::thread> threads;
    for (auto& result : results) {
        threads.emplace_back([&] {
            result = store.compressed(diff_id, [&] {
                ++opened;
                return http::read_from_memory(layer);
            });
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    CHECK(opened == 1);
    CHECK(store.counters().layers == 1);
    CHECK(store.counters().input_bytes == layer.size());
    for (const auto& result : results) {
        CHECK(result.digest == results[0].digest);
        CHECK(result.file.parent_path() == h.cache / "blobs" / "sha256");
    }
    // A later run (a new store on the same cache) finds the blob without compressing.
    auto later = h.store();
    const auto stored = later.stored(diff_id);
    REQUIRE(stored);
    CHECK(stored->digest == results[0].digest);
    CHECK(later
              .compressed(diff_id,
                          []() -> std::unique_ptr<http::BodyReader> {
                              FAIL("compressed again");
                              return nullptr;
                          })
              .compressed_now == 0);
}

TEST_CASE("layer store: a layer that is not its diff_id leaves no blob behind") {
    Harness h;
    auto store = h.store();
    const std::string layer = content('m', 100'000);
    CHECK_THROWS(store.compressed(Digest::sha256_of("something else"),
                                  [&] { return http::read_from_memory(layer); }));
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator(h.cache / "blobs" / "sha256")) {
        ++files;
    }
    CHECK(files == 0);  // no partial file either
}

TEST_CASE("layer store: configs are kept by digest and checked when read") {
    Harness h;
    auto store = h.store();
    const std::string config = R"({"rootfs":{}})";
    const auto digest = Digest::sha256_of(config);
    CHECK_FALSE(store.read_blob(digest));
    store.keep_blob(digest, config);
    CHECK(store.read_blob(digest) == config);
    util::write_file_atomically(h.cache / "blobs" / "sha256" / digest.hex(), "edited",
                                std::filesystem::perms::owner_read);
    CHECK_FALSE(store.read_blob(digest));  // a blob that is not its digest is a miss
}

TEST_CASE("layer store: prune removes the least recently used blobs beyond the limit") {
    Harness h;
    auto store = h.store();
    std::vector<image::StoredBlob> blobs;
    for (int i = 0; i < 3; ++i) {
        const std::string layer = content(static_cast<char>('p' + i), 400'000);
        blobs.push_back(store.compressed(Digest::sha256_of(layer),
                                         [&] { return http::read_from_memory(layer); }));
        // Distinct, ordered use times: blob 0 the oldest.
        const timespec times[2] = {{1'000'000 + i, 0}, {1'000'000 + i, 0}};
        REQUIRE(::utimensat(AT_FDCWD, blobs.back().file.c_str(), times, 0) == 0);
    }
    const auto limit = blobs[1].size + blobs[2].size;
    CHECK(store.prune(limit) == blobs[0].size);
    CHECK_FALSE(std::filesystem::exists(blobs[0].file));
    CHECK(std::filesystem::exists(blobs[1].file));
    CHECK(std::filesystem::exists(blobs[2].file));
}

TEST_CASE("layer store: a stored blob that changed on disk fails its upload's last read and goes") {
    Harness h;
    auto store = h.store();
    const std::string layer = content('v', 300'000);
    const auto diff_id = Digest::sha256_of(layer);
    const auto blob = store.compressed(diff_id, [&] { return http::read_from_memory(layer); });

    // Intact: read to the end as an upload would, nothing thrown.
    const auto read_all = [](const registry::BlobSource& source) {
        const auto reader = source.open();
        std::string buffer(4096, '\0');
        std::size_t total = 0;
        while (const auto got = reader->read(buffer.data(), buffer.size())) {
            total += got;
        }
        return total;
    };
    CHECK(read_all(*image::verified_blob(blob)) == blob.size);

    // Same size, one byte flipped: the size check still passes, the digest does not.
    std::string bytes = util::read_file(blob.file);
    bytes[bytes.size() / 3] = static_cast<char>(bytes[bytes.size() / 3] ^ 0x01);
    {
        std::ofstream out(blob.file, std::ios::binary | std::ios::trunc);
        out << bytes;
    }
    REQUIRE(store.stored(diff_id).has_value());
    CHECK_THROWS_WITH(read_all(*image::verified_blob(blob)),
                      Catch::Contains("changed on disk") && Catch::Contains("publish again"));
    CHECK_FALSE(std::filesystem::exists(blob.file));
    CHECK_FALSE(store.stored(diff_id).has_value());  // the next run compresses it again
}
