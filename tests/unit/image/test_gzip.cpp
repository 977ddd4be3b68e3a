// The layer compressor: GzipLayerReader (pull, one member at a time) and compress_layer()
// (push, members compressed in parallel) make the same multi-member gzip, checked here with
// zlib (independent of libdeflate), for determinism and against a pinned digest.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>

#include "crypto/crypto.hpp"
#include "image/gzip.hpp"
#include "image/image_error.hpp"
#include "support/temp_dir.hpp"
#include "util/fd.hpp"
#include "util/interrupt.hpp"

using assetctl::image::CompressedLayer;
using assetctl::image::compressor_id;
using assetctl::image::FileRange;
using assetctl::image::ImageError;
using assetctl::image::k_member_size;
using assetctl::registry::Digest;
using assetctl::test::TempDir;

namespace {

constexpr std::size_t kMiB = 1024 * 1024;

// Drains a GzipLayerReader into `output`, 64 KiB at a time (the tests compare files).
CompressedLayer compress_with_reader(const FileRange& input, const std::filesystem::path& output) {
    assetctl::image::GzipLayerReader reader(input);
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    std::string buffer(64 * 1024, '\0');
    while (const std::size_t n = reader.read(buffer.data(), buffer.size())) {
        out.write(buffer.data(), static_cast<std::streamsize>(n));
    }
    return reader.result();
}

std::string read_all(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Deterministic bytes that compress somewhat, like a layer: text lines mixed with noise.
std::string layer_bytes(std::size_t size, std::uint64_t seed = 1) {
    std::string out;
    out.reserve(size + 64);
    std::uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 1;
    while (out.size() < size) {
        state ^= state << 13U;
        state ^= state >> 7U;
        state ^= state << 17U;
        if ((state & 3U) == 0) {
            for (int i = 0; i < 8; ++i) {
                out += static_cast<char>((state >> (8U * static_cast<unsigned>(i))) & 0xFFU);
            }
        } else {
            out += "usr/lib/libexample.so." + std::to_string(state % 1000) + "\n";
        }
    }
    out.resize(size);
    return out;
}

// What zlib (independent of libdeflate) makes of a gzip stream of any number of members; zlib
// checks every member's CRC-32 and ISIZE itself. `complete`: the stream ended exactly at the
// end of a member, with no error on the way.
struct Inflated {
    std::string data;
    std::size_t members = 0;
    bool complete = false;
};

Inflated inflate_members(const std::string& gz) {
    Inflated result;
    z_stream z{};
    REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    z.avail_in = static_cast<uInt>(gz.size());
    std::array<char, 65536> buffer{};
    bool inside_member = false;
    while (z.avail_in > 0) {
        z.next_out = reinterpret_cast<Bytef*>(buffer.data());
        z.avail_out = static_cast<uInt>(buffer.size());
        const int rc = inflate(&z, Z_NO_FLUSH);
        result.data.append(buffer.data(), buffer.size() - z.avail_out);
        if (rc == Z_STREAM_END) {
            ++result.members;
            inside_member = false;
            REQUIRE(inflateReset(&z) == Z_OK);
        } else if (rc == Z_OK) {
            inside_member = true;
        } else {
            inflateEnd(&z);
            return result;
        }
    }
    inflateEnd(&z);
    result.complete = !inside_member && result.members > 0;
    return result;
}

// The content of a gzip stream that must be whole: every member inflated, none cut short.
std::string gunzip(const std::string& gz) {
    const Inflated inflated = inflate_members(gz);
    REQUIRE(inflated.complete);
    return inflated.data;
}

// How many members the format makes of `size` input bytes: one per k_member_size bytes begun,
// and one (empty) for empty input.
std::size_t expected_members(std::size_t size) {
    return std::max<std::size_t>(1, (size + k_member_size - 1) / k_member_size);
}

std::string digest_of(const std::string& bytes) {
    return "sha256:" + assetctl::crypto::sha256_hex(bytes);
}

// Compresses `content` (a whole file) with the reader and checks everything that holds for
// every input.
std::string compress_and_check(const TempDir& dir, const std::string& content) {
    const auto input = dir.write("layer.tar", content);
    const auto output = dir.path() / "layer.tar.gz";
    const CompressedLayer layer = compress_with_reader(FileRange{input, 0, content.size()}, output);
    const std::string gz = read_all(output);
    CHECK(layer.size == gz.size());
    CHECK(layer.digest.str() == digest_of(gz));
    CHECK(layer.diff_id.str() == digest_of(content));
    CHECK(layer.input_size == content.size());
    const Inflated inflated = inflate_members(gz);
    CHECK(inflated.complete);
    CHECK(inflated.data == content);
    CHECK(inflated.members == expected_members(content.size()));
    return gz;
}

// A BodyReader over a string that hands out at most `piece` bytes per read(), like a pipe.
class StringReader final : public assetctl::http::BodyReader {
  public:
    StringReader(const std::string& data, std::size_t piece) : data_(data), piece_(piece) {}
    std::size_t read(char* buffer, std::size_t size) override {
        const std::size_t n = std::min({size, piece_, data_.size() - at_});
        std::memcpy(buffer, data_.data() + at_, n);
        at_ += n;
        return n;
    }

  private:
    const std::string& data_;
    std::size_t piece_;
    std::size_t at_ = 0;
};

// A BodyReader that fails after handing out `good` bytes of zeros.
class FailingReader final : public assetctl::http::BodyReader {
  public:
    explicit FailingReader(std::size_t good) : left_(good) {}
    std::size_t read(char* buffer, std::size_t size) override {
        if (left_ == 0) {
            throw std::runtime_error("the pipe broke");
        }
        const std::size_t n = std::min(size, left_);
        std::memset(buffer, 0, n);
        left_ -= n;
        return n;
    }

  private:
    std::size_t left_;
};

assetctl::util::Fd open_for_writing(const std::filesystem::path& path, int flags = O_WRONLY) {
    assetctl::util::Fd fd(::open(path.c_str(), flags | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    REQUIRE(fd);
    return fd;
}

struct Pushed {
    CompressedLayer layer;
    std::string gz;
};

// compress_layer() of `content`, read `piece` bytes at a time, into a fresh file.
Pushed push_compress(const TempDir& dir, const std::string& content, std::size_t threads,
                     std::size_t piece = 64 * 1024,
                     const std::optional<Digest>& expected_diff_id = std::nullopt) {
    const auto output = dir.path() / "pushed.gz";
    CompressedLayer layer;
    {
        const auto fd = open_for_writing(output);
        StringReader input(content, piece);
        layer = assetctl::image::compress_layer(input, fd.get(), threads, expected_diff_id);
    }
    return {layer, read_all(output)};
}

struct ClearInterrupt {
    ~ClearInterrupt() { assetctl::util::clear_interrupt_for_tests(); }
};

}  // namespace

TEST_CASE("gzip: compressor_id names library, version, level and member size", "[image][gzip]") {
    CHECK(compressor_id() == "libdeflate-1.14-level4-m8");
    CHECK(k_member_size == 8 * kMiB);
}

TEST_CASE("gzip: round trip with both digests and the size", "[image][gzip]") {
    TempDir dir;
    SECTION("small text") {
        compress_and_check(dir, "hello, layer\n");
    }
    SECTION("one byte") {
        compress_and_check(dir, "x");
    }
    SECTION("exactly one member") {
        compress_and_check(dir, layer_bytes(k_member_size));
    }
    SECTION("one member and a byte") {
        compress_and_check(dir, layer_bytes(k_member_size + 1));
    }
    SECTION("several members, not a multiple of the member size") {
        const std::string content = layer_bytes(20 * kMiB + 17);
        const std::string gz = compress_and_check(dir, content);
        CHECK(gz.size() < content.size());  // it does compress
    }
    SECTION("incompressible bytes") {
        std::string noise;
        std::uint64_t state = 88172645463325252ULL;
        for (std::size_t i = 0; i < 9 * kMiB / 8; ++i) {
            state ^= state << 13U;
            state ^= state >> 7U;
            state ^= state << 17U;
            noise.append(reinterpret_cast<const char*>(&state), sizeof state);
        }
        compress_and_check(dir, noise);
    }
}

TEST_CASE("gzip: empty input is a valid gzip file of nothing", "[image][gzip]") {
    TempDir dir;
    const std::string gz = compress_and_check(dir, "");
    // Header, one final stored block of no bytes (RFC 1951 3.2.4: BFINAL 1, BTYPE 00, then
    // LEN 0000 and NLEN ffff), CRC-32 of nothing (0) and ISIZE 0. `gzip -t` accepts it.
    const std::string expected(
        "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
        "\x01\x00\x00\xff\xff"
        "\x00\x00\x00\x00\x00\x00\x00\x00",
        23);
    CHECK(gz == expected);
}

TEST_CASE("gzip: every member's header has mtime 0, no name, XFL 0 and OS 255", "[image][gzip]") {
    TempDir dir;
    const std::string content = layer_bytes(2 * k_member_size + 1000);
    const std::string gz = compress_and_check(dir, content);
    const std::string header("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
    CHECK(gz.substr(0, 10) == header);
    // The members one by one: each piece compressed alone is a prefix of what is left.
    std::string rest = gz;
    for (std::size_t at = 0; at < content.size(); at += k_member_size) {
        const auto piece = dir.write("piece.tar", content.substr(at, k_member_size));
        const std::string member = compress_and_check(dir, read_all(piece));
        REQUIRE(rest.substr(0, member.size()) == member);
        CHECK(member.substr(0, 10) == header);
        rest.erase(0, member.size());
    }
    CHECK(rest.empty());
}

TEST_CASE("gzip: a fixed input compresses to a pinned digest", "[image][gzip]") {
    // Changes when the level, the member size, the header or the library's output change: then
    // compressor_id() must change too, so that cached digests are not reused.
    TempDir dir;
    const std::string content = layer_bytes(2 * k_member_size + 12345, 42);
    const auto input = dir.write("layer.tar", content);
    const auto layer =
        compress_with_reader(FileRange{input, 0, content.size()}, dir.path() / "layer.gz");
    CHECK(layer.digest.str() ==
          "sha256:066924f944c20cec8d56d2f8537131d35fffc048c726f807995d4a3298ac2b97");
    CHECK(layer.size == 3394102u);
    CHECK(push_compress(dir, content, 2).layer.digest == layer.digest);
}

TEST_CASE("gzip: the same bytes give the same output, wherever they sit", "[image][gzip]") {
    TempDir dir;
    const std::string content = layer_bytes(k_member_size + 3 * kMiB + 4321, 7);
    const auto alone = dir.write("alone.tar", content);
    // The same bytes inside a bigger file at an offset that is not aligned to anything.
    const std::string prefix = layer_bytes(kMiB + 12345, 8);
    const auto inside = dir.write("inside.tar", prefix + content + layer_bytes(999, 9));

    const auto a = compress_with_reader(FileRange{alone, 0, content.size()}, dir.path() / "a.gz");
    const auto b = compress_with_reader(FileRange{alone, 0, content.size()}, dir.path() / "b.gz");
    const auto c =
        compress_with_reader(FileRange{inside, prefix.size(), content.size()}, dir.path() / "c.gz");

    const std::string gz = read_all(dir.path() / "a.gz");
    CHECK(read_all(dir.path() / "b.gz") == gz);
    CHECK(read_all(dir.path() / "c.gz") == gz);
    CHECK(a.digest == b.digest);
    CHECK(a.digest == c.digest);
    CHECK(a.diff_id == c.diff_id);
    CHECK(a.size == c.size);
    CHECK(gunzip(read_all(dir.path() / "c.gz")) == content);
}

TEST_CASE("gzip: input shorter than the range is an ImageError", "[image][gzip]") {
    TempDir dir;
    const std::string content = layer_bytes(k_member_size + 10);
    const auto input = dir.write("layer.tar", content);
    const auto output = dir.path() / "layer.tar.gz";

    SECTION("truncated in the middle of a later member") {
        CHECK_THROWS_AS(compress_with_reader(FileRange{input, 0, content.size() + 1}, output),
                        ImageError);
    }
    SECTION("range starts past the end") {
        CHECK_THROWS_AS(compress_with_reader(FileRange{input, content.size() + 5, 1}, output),
                        ImageError);
    }
    SECTION("missing file") {
        CHECK_THROWS_AS(compress_with_reader(FileRange{dir.path() / "missing.tar", 0, 1}, output),
                        ImageError);
    }
    SECTION("range beyond any offset") {
        CHECK_THROWS_AS(compress_with_reader(FileRange{input, ~std::uint64_t{0} - 2, 5}, output),
                        ImageError);
    }
}

TEST_CASE("gzip: an interrupt stops compression", "[image][gzip]") {
    TempDir dir;
    const std::string content = layer_bytes(3 * kMiB);
    const auto input = dir.write("layer.tar", content);
    const auto output = dir.write("layer.tar.gz", "an older file at the same path");

    {
        ClearInterrupt clear;
        assetctl::util::request_interrupt();
        CHECK_THROWS_AS(compress_with_reader(FileRange{input, 0, content.size()}, output),
                        assetctl::util::Interrupted);
        CHECK_THROWS_AS(push_compress(dir, content, 2), assetctl::util::Interrupted);
    }

    // Cleared, the same calls work again.
    const auto layer = compress_with_reader(FileRange{input, 0, content.size()}, output);
    CHECK(layer.diff_id.str() == digest_of(content));
    CHECK(push_compress(dir, content, 2).layer.diff_id == layer.diff_id);
}

TEST_CASE("gzip: the streaming reader gives the same bytes whatever the read sizes",
          "[image][gzip]") {
    TempDir dir;
    const std::string content = layer_bytes(k_member_size + 3 * kMiB + 12345);
    const auto input = dir.write("layer.tar", content);
    const FileRange range{input, 0, content.size()};
    const auto written = compress_with_reader(range, dir.path() / "layer.gz");
    const std::string expected = read_all(dir.path() / "layer.gz");

    const std::size_t piece = GENERATE(7u, 4096u, 3u * 1024u * 1024u, 20u * 1024u * 1024u);
    INFO("reading " << piece << " bytes at a time");
    assetctl::image::GzipLayerReader reader(range, written.diff_id);
    CHECK_THROWS_AS(reader.result(), std::logic_error);  // not before the end
    std::string streamed;
    std::string buffer(piece, '\0');
    while (const std::size_t n = reader.read(buffer.data(), buffer.size())) {
        streamed.append(buffer.data(), n);
    }
    CHECK(streamed == expected);
    CHECK(reader.result().digest == written.digest);
    CHECK(reader.result().size == written.size);
    CHECK(reader.result().diff_id == written.diff_id);
    CHECK(gunzip(streamed) == content);
}

TEST_CASE("gzip: the streaming reader refuses to finish a layer that is not its diff_id",
          "[image][gzip]") {
    TempDir dir;
    const std::size_t size = GENERATE(2 * kMiB + 5, 2 * k_member_size + 5, 2 * k_member_size);
    INFO("a layer of " << size << " bytes");
    const std::string content = layer_bytes(size);
    const auto input = dir.write("layer.tar", content);
    const auto wrong = Digest::sha256_of("something else");
    assetctl::image::GzipLayerReader reader(FileRange{input, 0, content.size()}, wrong);
    std::string streamed;
    std::string buffer(64 * 1024, '\0');
    try {
        while (const std::size_t n = reader.read(buffer.data(), buffer.size())) {
            streamed.append(buffer.data(), n);
        }
        FAIL("a layer that does not match its diff_id was read to the end");
    } catch (const ImageError& e) {
        CHECK_THAT(e.what(), Catch::Contains(wrong.str()));
    }
    // The last member never went out: what was handed out is the members before it, at most.
    const Inflated inflated = inflate_members(streamed);
    CHECK(inflated.members == expected_members(size) - 1);
    CHECK(inflated.data == content.substr(0, inflated.members * k_member_size));
}

TEST_CASE("gzip: compress_layer makes the reader's bytes whatever the threads and read sizes",
          "[image][gzip]") {
    TempDir dir;
    const std::string content = layer_bytes(2 * k_member_size + 3 * kMiB + 4321, 3);
    const auto input = dir.write("layer.tar", content);
    const auto reference =
        compress_with_reader(FileRange{input, 0, content.size()}, dir.path() / "reader.gz");
    const std::string expected = read_all(dir.path() / "reader.gz");

    const std::size_t threads = GENERATE(1u, 2u, 4u);
    const std::size_t piece = GENERATE(7u, 65536u, 3u * 1024u * 1024u + 1u, 64u * 1024u * 1024u);
    INFO(threads << " threads, input read " << piece << " bytes at a time");
    const Pushed pushed = push_compress(dir, content, threads, piece, reference.diff_id);
    CHECK(pushed.gz == expected);
    CHECK(pushed.layer.digest == reference.digest);
    CHECK(pushed.layer.size == expected.size());
    CHECK(pushed.layer.diff_id == reference.diff_id);
    CHECK(pushed.layer.input_size == content.size());
}

TEST_CASE("gzip: compress_layer round trips through zlib at the member boundaries",
          "[image][gzip]") {
    TempDir dir;
    const std::size_t size =
        GENERATE(std::size_t{0}, std::size_t{1}, k_member_size, k_member_size + 1, 20 * kMiB);
    const std::size_t threads = GENERATE(1u, 2u);
    INFO(size << " bytes, " << threads << " threads");
    const std::string content = layer_bytes(size, 5);
    const Pushed pushed = push_compress(dir, content, threads);
    CHECK(pushed.layer.size == pushed.gz.size());
    CHECK(pushed.layer.digest.str() == digest_of(pushed.gz));
    CHECK(pushed.layer.diff_id.str() == digest_of(content));
    CHECK(pushed.layer.input_size == size);
    const Inflated inflated = inflate_members(pushed.gz);
    CHECK(inflated.complete);
    CHECK(inflated.members == expected_members(size));
    CHECK(inflated.data == content);
    // The same bytes as the reader's.
    const auto input = dir.write("layer.tar", content);
    compress_with_reader(FileRange{input, 0, size}, dir.path() / "reader.gz");
    CHECK(read_all(dir.path() / "reader.gz") == pushed.gz);
}

TEST_CASE("gzip: compress_layer refuses input that is not its diff_id", "[image][gzip]") {
    TempDir dir;
    const std::size_t size =
        GENERATE(std::size_t{0}, 5 * kMiB, 2 * k_member_size, 2 * k_member_size + 5);
    const std::size_t threads = GENERATE(1u, 2u);
    INFO(size << " bytes, " << threads << " threads");
    const std::string content = layer_bytes(size);
    const auto wrong = Digest::sha256_of("something else");
    try {
        push_compress(dir, content, threads, 65536, wrong);
        FAIL("a layer that does not match its diff_id was compressed to the end");
    } catch (const ImageError& e) {
        CHECK_THAT(e.what(), Catch::Contains(wrong.str()));
        CHECK_THAT(e.what(), Catch::Contains(digest_of(content)));
    }
    // The last member was never written, at most members before it (in order).
    const Inflated inflated = inflate_members(read_all(dir.path() / "pushed.gz"));
    CHECK(inflated.members < expected_members(size));
    CHECK(inflated.data == content.substr(0, inflated.members * k_member_size));
}

TEST_CASE("gzip: compress_layer writes from the descriptor's offset", "[image][gzip]") {
    TempDir dir;
    const std::string content = layer_bytes(k_member_size + 99);
    const auto output = dir.path() / "layer.gz";
    CompressedLayer layer;
    {
        const auto fd = open_for_writing(output);
        REQUIRE(::write(fd.get(), "prefix", 6) == 6);
        StringReader input(content, 4096);
        layer = assetctl::image::compress_layer(input, fd.get(), 2);
    }
    const std::string written = read_all(output);
    REQUIRE(written.substr(0, 6) == "prefix");
    CHECK(layer.size == written.size() - 6);
    CHECK(layer.digest.str() == digest_of(written.substr(6)));
    CHECK(gunzip(written.substr(6)) == content);
}

TEST_CASE("gzip: compress_layer reports write and read errors", "[image][gzip]") {
    TempDir dir;
    const std::string content = layer_bytes(k_member_size + 5);
    SECTION("a descriptor that cannot be written is an ImageError with the reason") {
        const auto fd = open_for_writing(dir.path() / "layer.gz", O_RDONLY);
        StringReader input(content, 65536);
        try {
            assetctl::image::compress_layer(input, fd.get(), 2);
            FAIL("writing to a read-only descriptor succeeded");
        } catch (const ImageError& e) {
            CHECK_THAT(e.what(), Catch::Contains(std::strerror(EBADF)));
        }
    }
    SECTION("an error from the input passes through") {
        const auto fd = open_for_writing(dir.path() / "layer.gz");
        FailingReader input(k_member_size + 100);
        CHECK_THROWS_WITH(assetctl::image::compress_layer(input, fd.get(), 2), "the pipe broke");
    }
}
