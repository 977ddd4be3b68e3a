#pragma once

// For the packaging tests: a zip read back without libarchive (the central directory parsed
// here, contents inflated with zlib), so the writer is checked by code independent of it.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>
#include <zlib.h>

namespace assetctl::test {

struct ZipEntryInfo {
    std::string name;
    std::uint16_t made_by = 0;
    std::uint16_t flags = 0;
    std::uint16_t method = 0;
    std::uint16_t dos_time = 0;
    std::uint16_t dos_date = 0;
    std::uint32_t crc = 0;
    std::uint32_t external_attributes = 0;
    std::string extra;     // the central directory's extra fields
    std::string contents;  // inflated
    std::uint32_t unix_mode() const { return external_attributes >> 16; }
};

inline std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot open " + path.string());
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::uint32_t le(const std::string& bytes, std::size_t at, int width) {
    if (at + static_cast<std::size_t>(width) > bytes.size()) {
        throw std::runtime_error("zip truncated");
    }
    std::uint32_t value = 0;
    for (int i = width - 1; i >= 0; --i) {
        value = (value << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
    }
    return value;
}

inline std::string inflate_raw(const std::string& compressed, std::size_t expected_size) {
    std::string out(expected_size, '\0');
    z_stream stream{};
    if (inflateInit2(&stream, -15) != Z_OK) {
        throw std::runtime_error("inflateInit2");
    }
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    stream.avail_in = static_cast<uInt>(compressed.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int result = inflate(&stream, Z_FINISH);
    inflateEnd(&stream);
    if (result != Z_STREAM_END || stream.avail_out != 0) {
        throw std::runtime_error("bad deflate stream");
    }
    return out;
}

// Every entry of the central directory, in order, contents inflated (deflate only).
inline std::vector<ZipEntryInfo> read_zip(const std::filesystem::path& path) {
    const std::string zip = read_bytes(path);
    const std::size_t end = zip.rfind(std::string("PK\x05\x06", 4));
    if (end == std::string::npos || end + 22 != zip.size()) {
        throw std::runtime_error("no end of central directory record at the end");
    }
    const std::uint32_t count = le(zip, end + 10, 2);
    std::size_t at = le(zip, end + 16, 4);
    std::vector<ZipEntryInfo> entries;
    for (std::uint32_t i = 0; i < count; ++i) {
        if (le(zip, at, 4) != 0x02014b50) {
            throw std::runtime_error("bad central directory header");
        }
        ZipEntryInfo e;
        e.made_by = static_cast<std::uint16_t>(le(zip, at + 4, 2));
        e.flags = static_cast<std::uint16_t>(le(zip, at + 8, 2));
        e.method = static_cast<std::uint16_t>(le(zip, at + 10, 2));
        e.dos_time = static_cast<std::uint16_t>(le(zip, at + 12, 2));
        e.dos_date = static_cast<std::uint16_t>(le(zip, at + 14, 2));
        e.crc = le(zip, at + 16, 4);
        const std::uint32_t compressed_size = le(zip, at + 20, 4);
        const std::uint32_t size = le(zip, at + 24, 4);
        const std::uint32_t name_length = le(zip, at + 28, 2);
        const std::uint32_t extra_length = le(zip, at + 30, 2);
        const std::uint32_t comment_length = le(zip, at + 32, 2);
        e.external_attributes = le(zip, at + 38, 4);
        const std::uint32_t local = le(zip, at + 42, 4);
        e.name = zip.substr(at + 46, name_length);
        e.extra = zip.substr(at + 46 + name_length, extra_length);
        const std::size_t data = local + 30 + le(zip, local + 26, 2) + le(zip, local + 28, 2);
        const std::string raw = zip.substr(data, compressed_size);
        e.contents = e.method == 8 ? inflate_raw(raw, size) : raw;
        entries.push_back(std::move(e));
        at += 46 + name_length + extra_length + comment_length;
    }
    return entries;
}

inline std::uint32_t crc_of(const std::string& bytes) {
    return static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

}  // namespace assetctl::test
