// The engine save-stream reader on real `docker save` (20.10) and `podman save` (4.3) output
// captured in tests/unit/data/engine, and on hand-made streams for what the captures cannot
// show: big layers compressed as they are read, a stored layer skipped unread, truncation.
#include <fcntl.h>
#include <fstream>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "image/image_error.hpp"
#include "image/layer_store.hpp"
#include "image/save_stream.hpp"
#include "image/tar_builder.hpp"
#include "support/temp_dir.hpp"
#include "util/fd.hpp"
#include "util/files.hpp"

using namespace assetctl;
using registry::Digest;

namespace {

const std::filesystem::path k_data = ASSETCTL_ENGINE_TESTDATA;

// `image inspect` output as the engine printed it.
image::EngineImageInfo inspected(const std::string& file) {
    const auto json = nlohmann::json::parse(util::read_file(k_data / file)).at(0);
    std::string id = json.at("Id").get<std::string>();
    if (id.rfind("sha256:", 0) != 0) {
        id = "sha256:" + id;  // podman prints the bare hex
    }
    image::EngineImageInfo info{Digest::from_string(id), {}, "linux", "amd64", ""};
    for (const auto& layer : json.at("RootFS").at("Layers")) {
        info.diff_ids.push_back(Digest::from_string(layer.get<std::string>()));
    }
    return info;
}

std::string gunzip(const std::string& bytes) {
    z_stream z{};
    REQUIRE(inflateInit2(&z, 15 + 32) == Z_OK);
    std::string out;
    std::string buffer(1 << 16, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    int rc = Z_OK;
    while (rc != Z_STREAM_END || z.avail_in > 0) {
        if (rc == Z_STREAM_END) {
            REQUIRE(inflateReset(&z) == Z_OK);  // the next gzip member
        }
        z.next_out = reinterpret_cast<Bytef*>(buffer.data());
        z.avail_out = static_cast<uInt>(buffer.size());
        rc = inflate(&z, Z_NO_FLUSH);
        REQUIRE((rc == Z_OK || rc == Z_STREAM_END));
        out.append(buffer.data(), buffer.size() - z.avail_out);
    }
    inflateEnd(&z);
    return out;
}

struct Harness {
    test::TempDir dir;
    image::LayerStore store{image::LayerCache(dir.path() / "cache"), dir.path() / "spool", 2};

    Harness() { std::filesystem::create_directories(dir.path() / "spool"); }

    image::SavedImage read(const std::filesystem::path& stream, const image::EngineImageInfo& info,
                           const std::set<Digest>& wanted, bool skip_by_size = true) {
        const util::Fd fd(::open(stream.c_str(), O_RDONLY | O_CLOEXEC));
        REQUIRE(fd);
        return image::read_save_stream(fd.get(), info, wanted, store, 2, "asset 'app'",
                                       skip_by_size);
    }
    image::SavedImage read_all(const std::filesystem::path& stream,
                               const image::EngineImageInfo& info) {
        return read(stream, info, {info.diff_ids.begin(), info.diff_ids.end()});
    }
};

void check_layers_are_their_diff_ids(const image::SavedImage& saved,
                                     const image::EngineImageInfo& info) {
    REQUIRE(saved.layers.size() == info.diff_ids.size());
    for (const auto& diff_id : info.diff_ids) {
        const auto& blob = saved.layers.at(diff_id);
        const std::string compressed = util::read_file(blob.file);
        CHECK(Digest::sha256_of(compressed) == blob.digest);
        CHECK(compressed.size() == blob.size);
        CHECK(Digest::sha256_of(gunzip(compressed)) == diff_id);
    }
}

}  // namespace

TEST_CASE("save stream: docker 20.10's legacy docker save") {
    Harness h;
    const auto info = inspected("docker-image-inspect.json");
    const auto saved = h.read_all(k_data / "docker-save.tar", info);
    CHECK(Digest::sha256_of(saved.config) == info.id);
    check_layers_are_their_diff_ids(saved, info);
    CHECK(saved.compressed_bytes == 2 * 2048);
}

TEST_CASE("save stream: podman 4.3's docker-archive (layers named by diff_id, symlinked)") {
    Harness h;
    const auto info = inspected("podman-image-inspect.json");
    const auto saved = h.read_all(k_data / "podman-save.tar", info);
    CHECK(Digest::sha256_of(saved.config) == info.id);
    check_layers_are_their_diff_ids(saved, info);
}

TEST_CASE("save stream: only the wanted layers are kept; the config always") {
    Harness h;
    const auto info = inspected("docker-image-inspect.json");
    const auto saved = h.read(k_data / "docker-save.tar", info, {info.diff_ids[1]});
    CHECK(Digest::sha256_of(saved.config) == info.id);
    REQUIRE(saved.layers.size() == 1);
    CHECK(saved.layers.count(info.diff_ids[1]) == 1);
    CHECK(saved.compressed_bytes == 2048);
}

TEST_CASE("save stream: already-compressed layers (an OCI archive) say what to do") {
    Harness h;
    const auto info = inspected("podman-image-inspect.json");
    CHECK_THROWS_WITH(h.read_all(k_data / "podman-save-oci.tar", info),
                      Catch::Contains("asset 'app'") && Catch::Contains("lacks the layer") &&
                          Catch::Contains("already-compressed") &&
                          Catch::Contains("--push-mode docker"));
}

TEST_CASE("save stream: a truncated stream and a stream of another image are refused") {
    Harness h;
    const auto info = inspected("docker-image-inspect.json");
    const std::string whole = util::read_file(k_data / "docker-save.tar");
    const auto cut = h.dir.write("cut.tar", whole.substr(0, whole.size() / 2 + 100));
    CHECK_THROWS_WITH(h.read_all(cut, info), Catch::Contains("truncated or corrupt"));

    const auto other = inspected("podman-image-inspect.json");
    CHECK_THROWS_WITH(h.read_all(k_data / "docker-save.tar", other),
                      Catch::Contains("has no config blob"));
}

TEST_CASE("save stream: big layers are compressed as read; a stored layer is skipped unread") {
    Harness h;
    std::string big(3'000'000, 'x');
    for (std::size_t i = 0; i < big.size(); i += 97) {
        big[i] = static_cast<char>('a' + i % 26);
    }
    const std::string other(2'000'000, 'y');
    const std::string config = R"({"rootfs":{"type":"layers","diff_ids":[]}})";
    const image::EngineImageInfo info{
        Digest::sha256_of(config), {Digest::sha256_of(big), Digest::sha256_of(other)}, "", "", ""};
    test::TarBuilder tar;  // docker 25+ names: blobs/sha256/<hex>
    tar.file("blobs/sha256/" + info.diff_ids[0].hex(), big);
    tar.file("blobs/sha256/" + info.diff_ids[1].hex(), other);
    tar.file("blobs/sha256/" + info.id.hex(), config);
    const auto stream = tar.write(h.dir.path() / "save.tar");

    const auto first = h.read_all(stream, info);
    check_layers_are_their_diff_ids(first, info);
    CHECK(first.compressed_bytes == 5'000'000);
    CHECK(h.store.counters().layers == 2);

    // The store holds `big` now: a second pass wanting only `other` never compresses `big`.
    std::filesystem::remove(first.layers.at(info.diff_ids[1]).file);
    const auto second = h.read(stream, info, {info.diff_ids[1]});
    CHECK(second.compressed_bytes == 2'000'000);
    CHECK(h.store.counters().layers == 3);
}

TEST_CASE("save stream: an unnamed entry the size of a stored layer is only hashed") {
    Harness h;
    const std::string base(2'500'000, 'b');
    std::string top(1'700'000, 't');
    top[0] = 'T';
    const std::string config = R"({"rootfs":{"type":"layers","diff_ids":[]}})";
    const image::EngineImageInfo info{
        Digest::sha256_of(config), {Digest::sha256_of(base), Digest::sha256_of(top)}, "", "", ""};
    test::TarBuilder tar;  // docker 20.10's names: nothing says which layer.tar is which
    tar.file("0f3c/layer.tar", base);
    tar.file("9a1e/layer.tar", top);
    tar.file(info.id.hex() + ".json", config);
    const auto stream = tar.write(h.dir.path() / "save.tar");
    h.read_all(stream, info);
    REQUIRE(h.store.counters().layers == 2);
    REQUIRE(h.store.known(info.diff_ids[0])->input_size == base.size());

    std::filesystem::remove(h.store.stored(info.diff_ids[1])->file);  // `top` must go again
    const auto saved = h.read(stream, info, {info.diff_ids[1]});
    CHECK(saved.layers.count(info.diff_ids[1]) == 1);
    CHECK(saved.compressed_bytes == top.size());  // `base` was recognised by its size
    CHECK(h.store.counters().layers == 3);
    CHECK(saved.missed.empty());
}

TEST_CASE("save stream: a wanted layer sized like a stored one is reported missed, then read") {
    Harness h;
    const std::string stored(1'500'000, 's');
    const std::string wanted(1'500'000, 'w');  // the same size
    const std::string config = R"({"rootfs":{"type":"layers","diff_ids":[]}})";
    const image::EngineImageInfo info{Digest::sha256_of(config),
                                      {Digest::sha256_of(stored), Digest::sha256_of(wanted)},
                                      "",
                                      "",
                                      ""};
    test::TarBuilder first;
    first.file("a/layer.tar", stored);
    first.file(info.id.hex() + ".json", config);
    h.read(first.write(h.dir.path() / "first.tar"), info, {info.diff_ids[0]});

    test::TarBuilder tar;
    tar.file("a/layer.tar", stored);
    tar.file("b/layer.tar", wanted);
    tar.file(info.id.hex() + ".json", config);
    const auto stream = tar.write(h.dir.path() / "save.tar");
    const auto saved = h.read(stream, info, {info.diff_ids[1]});
    CHECK(saved.missed == std::set<Digest>{info.diff_ids[1]});  // hashed, not compressed
    CHECK(saved.layers.empty());
    const auto again = h.read(stream, info, {info.diff_ids[1]}, false);
    CHECK(again.layers.count(info.diff_ids[1]) == 1);
}
