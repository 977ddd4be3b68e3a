#include <archive.h>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "crypto/crypto.hpp"
#include "image/gzip.hpp"
#include "image/image_error.hpp"
#include "support/temp_dir.hpp"
#include "util/interrupt.hpp"

using assetctl::image::CompressedLayer;
using assetctl::image::compressor_id;
using assetctl::image::FileRange;
using assetctl::image::ImageError;
using assetctl::test::TempDir;

namespace {

constexpr std::size_t kMiB = 1024 * 1024;

// Drains a GzipLayerReader into `output`, 64 KiB at a time (the tests compare files).
CompressedLayer compress_layer(const FileRange& input, const std::filesystem::path& output) {
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

// Bitwise CRC-32 (RFC 1952), independent of the compressor's own.
std::uint32_t crc32_of(const std::string& data) {
    std::uint32_t crc = 0xFFFFFFFFU;
    for (const char c : data) {
        crc ^= static_cast<unsigned char>(c);
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc >> 1U) ^ (0xEDB88320U & (0U - (crc & 1U)));
        }
    }
    return ~crc;
}

std::uint32_t le32(const std::string& bytes, std::size_t at) {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        value |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
    }
    return value;
}

// Decompresses with libarchive's gzip filter (zlib underneath, not ISA-L) and checks the
// trailer (CRC-32 and ISIZE of one member) against an independent CRC.
std::string gunzip(const std::string& gz) {
    REQUIRE(gz.size() >= 18);
    std::string out;
    archive* a = archive_read_new();
    REQUIRE(a != nullptr);
    archive_read_support_filter_gzip(a);
    archive_read_support_format_raw(a);
    REQUIRE(archive_read_open_memory(a, gz.data(), gz.size()) == ARCHIVE_OK);
    archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_OK) {
        std::array<char, 65536> buffer{};
        for (;;) {
            const la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
            REQUIRE(n >= 0);
            if (n == 0) {
                break;
            }
            out.append(buffer.data(), static_cast<std::size_t>(n));
        }
    } else {
        // libarchive's raw format has no entry for empty content.
        REQUIRE(rc == ARCHIVE_EOF);
    }
    archive_read_free(a);
    CHECK(le32(gz, gz.size() - 8) == crc32_of(out));
    CHECK(le32(gz, gz.size() - 4) == static_cast<std::uint32_t>(out.size()));
    return out;
}

// Whether `gz` is one whole gzip member: libarchive (zlib) inflates it to its end without an
// error and the trailer's CRC-32 and ISIZE match what came out. Unlike gunzip(), a truncated or
// corrupt stream is an answer (false), not a test failure.
bool is_complete_gzip_member(const std::string& gz) {
    if (gz.size() < 18) {
        return false;
    }
    std::string out;
    archive* a = archive_read_new();
    REQUIRE(a != nullptr);
    archive_read_support_filter_gzip(a);
    archive_read_support_format_raw(a);
    bool inflated = false;
    archive_entry* entry = nullptr;
    if (archive_read_open_memory(a, gz.data(), gz.size()) == ARCHIVE_OK &&
        archive_read_next_header(a, &entry) == ARCHIVE_OK) {
        std::array<char, 65536> buffer{};
        la_ssize_t n = 0;
        while ((n = archive_read_data(a, buffer.data(), buffer.size())) > 0) {
            out.append(buffer.data(), static_cast<std::size_t>(n));
        }
        inflated = n == 0;
    }
    archive_read_free(a);
    return inflated && le32(gz, gz.size() - 8) == crc32_of(out) &&
           le32(gz, gz.size() - 4) == static_cast<std::uint32_t>(out.size());
}

std::string digest_of(const std::string& bytes) {
    return "sha256:" + assetctl::crypto::sha256_hex(bytes);
}

// Compresses `content` (a whole file) and checks everything that holds for every input.
std::string compress_and_check(const TempDir& dir, const std::string& content) {
    const auto input = dir.write("layer.tar", content);
    const auto output = dir.path() / "layer.tar.gz";
    const CompressedLayer layer = compress_layer(FileRange{input, 0, content.size()}, output);
    const std::string gz = read_all(output);
    CHECK(layer.size == gz.size());
    CHECK(layer.digest.str() == digest_of(gz));
    CHECK(layer.diff_id.str() == digest_of(content));
    if (!content.empty()) {  // libarchive's raw format cannot open empty content
        CHECK(gunzip(gz) == content);
    }
    return gz;
}

struct ClearInterrupt {
    ~ClearInterrupt() { assetctl::util::clear_interrupt_for_tests(); }
};

}  // namespace

TEST_CASE("gzip: compressor_id names library, version and level", "[image][gzip]") {
    CHECK(compressor_id() == "isal-2.30-level1");
}

TEST_CASE("gzip: round trip with both digests and the size", "[image][gzip]") {
    TempDir dir;
    SECTION("small text") {
        compress_and_check(dir, "hello, layer\n");
    }
    SECTION("one byte") {
        compress_and_check(dir, "x");
    }
    SECTION("exactly one chunk") {
        compress_and_check(dir, layer_bytes(kMiB));
    }
    SECTION("one chunk and a byte") {
        compress_and_check(dir, layer_bytes(kMiB + 1));
    }
    SECTION("several chunks, not a multiple of the chunk size") {
        const std::string content = layer_bytes(5 * kMiB + 17);
        const std::string gz = compress_and_check(dir, content);
        CHECK(gz.size() < content.size());  // it does compress
    }
    SECTION("incompressible bytes") {
        std::string noise;
        std::uint64_t state = 88172645463325252ULL;
        for (std::size_t i = 0; i < 3 * kMiB / 8; ++i) {
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
    // Header, one final fixed-Huffman block holding only end-of-block (RFC 1951 3.2.6: bits
    // 1, 01, 0000000 = bytes 03 00), CRC-32 of nothing (0) and ISIZE 0. `gzip -t` accepts it.
    const std::string expected(
        "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
        "\x03\x00"
        "\x00\x00\x00\x00\x00\x00\x00\x00",
        20);
    CHECK(gz == expected);
    CHECK(assetctl::crypto::sha256_hex("") ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("gzip: header has mtime 0, no name and OS 255", "[image][gzip]") {
    TempDir dir;
    const std::string gz = compress_and_check(dir, layer_bytes(1000));
    const std::string expected("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
    CHECK(gz.substr(0, 10) == expected);
}

TEST_CASE("gzip: the same bytes give the same output, wherever they sit", "[image][gzip]") {
    TempDir dir;
    const std::string content = layer_bytes(3 * kMiB + 4321, 7);
    const auto alone = dir.write("alone.tar", content);
    // The same bytes inside a bigger file at an offset that is not chunk-aligned.
    const std::string prefix = layer_bytes(kMiB + 12345, 8);
    const auto inside = dir.write("inside.tar", prefix + content + layer_bytes(999, 9));

    const auto a = compress_layer(FileRange{alone, 0, content.size()}, dir.path() / "a.gz");
    const auto b = compress_layer(FileRange{alone, 0, content.size()}, dir.path() / "b.gz");
    const auto c =
        compress_layer(FileRange{inside, prefix.size(), content.size()}, dir.path() / "c.gz");

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
    const std::string content = layer_bytes(2 * kMiB + 10);
    const auto input = dir.write("layer.tar", content);
    const auto output = dir.path() / "layer.tar.gz";

    SECTION("truncated in the middle of a later chunk") {
        CHECK_THROWS_AS(compress_layer(FileRange{input, 0, content.size() + 1}, output),
                        ImageError);
    }
    SECTION("range starts past the end") {
        CHECK_THROWS_AS(compress_layer(FileRange{input, content.size() + 5, 1}, output),
                        ImageError);
    }
    SECTION("missing file") {
        CHECK_THROWS_AS(compress_layer(FileRange{dir.path() / "missing.tar", 0, 1}, output),
                        ImageError);
    }
    SECTION("range beyond any offset") {
        CHECK_THROWS_AS(compress_layer(FileRange{input, ~std::uint64_t{0} - 2, 5}, output),
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
        CHECK_THROWS_AS(compress_layer(FileRange{input, 0, content.size()}, output),
                        assetctl::util::Interrupted);
    }

    // Cleared, the same call works again.
    const auto layer = compress_layer(FileRange{input, 0, content.size()}, output);
    CHECK(layer.diff_id.str() == digest_of(content));
}

TEST_CASE("gzip: the streaming reader gives the same bytes whatever the read sizes",
          "[image][gzip]") {
    TempDir dir;
    const std::string content = layer_bytes(3 * kMiB + 12345);
    const auto input = dir.write("layer.tar", content);
    const FileRange range{input, 0, content.size()};
    const auto written = compress_layer(range, dir.path() / "layer.gz");
    const std::string expected = read_all(dir.path() / "layer.gz");

    const std::size_t piece = GENERATE(1u, 7u, 4096u, 3u * 1024u * 1024u);
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
    CHECK(is_complete_gzip_member(streamed));
}

TEST_CASE("gzip: the streaming reader refuses to finish a layer that is not its diff_id",
          "[image][gzip]") {
    TempDir dir;
    const std::string content = layer_bytes(2 * kMiB + 5);
    const auto input = dir.write("layer.tar", content);
    const auto wrong = assetctl::registry::Digest::sha256_of("something else");
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
    // The gzip trailer never went out: what was handed out is not a complete gzip member.
    CHECK_FALSE(is_complete_gzip_member(streamed));
}
