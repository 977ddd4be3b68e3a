#pragma once

// Test helpers that write tar and gzip bytes by hand, deterministically (mtime 0, uid 0), so a
// test controls every field, hostile ones included (absolute names, "..", devices, sparse
// entries, truncation). Not a library: tests only.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "image/file_range.hpp"
#include "image/image_error.hpp"

namespace assetctl::test {

class TarBuilder {
  public:
    // How names and link targets longer than 100 bytes are written.
    enum class LongNames { pax, gnu };

    TarBuilder& long_names(LongNames style) {
        long_names_ = style;
        return *this;
    }

    // A regular file; `name` is written as given (no normalisation).
    TarBuilder& file(std::string_view name, std::string_view content) {
        entry(name, '0', content, "", 0644);
        return *this;
    }
    TarBuilder& directory(std::string_view name) {
        entry(name, '5', "", "", 0755);
        return *this;
    }
    TarBuilder& symlink(std::string_view name, std::string_view target) {
        entry(name, '2', "", target, 0777);
        return *this;
    }
    TarBuilder& hardlink(std::string_view name, std::string_view target) {
        entry(name, '1', "", target, 0644);
        return *this;
    }
    // '3' character device, '4' block device, '6' FIFO, or any other type flag.
    TarBuilder& special(std::string_view name, char typeflag) {
        entry(name, typeflag, "", "", 0644);
        return *this;
    }
    // An old-GNU sparse file ('S'): `stored` is the data of one region at `region_offset`,
    // the file being `real_size` bytes long.
    TarBuilder& gnu_sparse(std::string_view name, std::string_view stored,
                           std::uint64_t region_offset, std::uint64_t real_size) {
        std::string block = header(name, 'S', stored.size(), "", 0644, true);
        octal(block, 386, 12, region_offset);
        octal(block, 398, 12, stored.size());
        octal(block, 483, 12, real_size);
        checksum(block);
        out_ += block;
        data(stored);
        return *this;
    }
    // Raw bytes appended as they are (e.g. garbage).
    TarBuilder& raw(std::string_view bytes) {
        out_ += bytes;
        return *this;
    }

    // The archive, with the two zero blocks that end a tar unless `trailer` is false.
    std::string bytes(bool trailer = true) const {
        return trailer ? out_ + std::string(1024, '\0') : out_;
    }
    std::filesystem::path write(const std::filesystem::path& path, bool trailer = true) const {
        write_bytes(path, bytes(trailer));
        return path;
    }

    static void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
        std::filesystem::create_directories(path.parent_path());
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) {
            throw std::runtime_error("cannot write " + path.string());
        }
    }

  private:
    void entry(std::string_view name, char typeflag, std::string_view content,
               std::string_view link, unsigned mode) {
        const bool long_name = name.size() > 100;
        const bool long_link = link.size() > 100;
        if (long_name || long_link) {
            if (long_names_ == LongNames::pax) {
                std::string records;
                if (long_name) {
                    records += pax_record("path", name);
                }
                if (long_link) {
                    records += pax_record("linkpath", link);
                }
                std::string block =
                    header("PaxHeaders.0/long", 'x', records.size(), "", 0644, false);
                checksum(block);
                out_ += block;
                data(records);
            } else {
                if (long_link) {
                    gnu_long('K', link);
                }
                if (long_name) {
                    gnu_long('L', name);
                }
            }
        }
        std::string block =
            header(name.substr(0, std::min<std::size_t>(name.size(), 100)), typeflag,
                   content.size(), link.substr(0, std::min<std::size_t>(link.size(), 100)), mode,
                   long_names_ == LongNames::gnu && (long_name || long_link));
        checksum(block);
        out_ += block;
        data(content);
    }

    void gnu_long(char typeflag, std::string_view value) {
        std::string text(value);
        text += '\0';
        std::string block = header("././@LongLink", typeflag, text.size(), "", 0644, true);
        checksum(block);
        out_ += block;
        data(text);
    }

    static std::string pax_record(std::string_view key, std::string_view value) {
        // "<length> <key>=<value>\n" where <length> counts the whole record, itself included.
        const std::size_t rest = 1 + key.size() + 1 + value.size() + 1;
        std::size_t length = rest + 1;
        while (std::to_string(length).size() + rest != length) {
            length = std::to_string(length).size() + rest;
        }
        return std::to_string(length) + " " + std::string(key) + "=" + std::string(value) + "\n";
    }

    void data(std::string_view content) {
        out_ += content;
        out_.append((512 - content.size() % 512) % 512, '\0');
    }

    static std::string header(std::string_view name, char typeflag, std::uint64_t size,
                              std::string_view link, unsigned mode, bool gnu_magic) {
        std::string block(512, '\0');
        put(block, 0, 100, name);
        octal(block, 100, 8, mode);
        octal(block, 108, 8, 0);
        octal(block, 116, 8, 0);
        octal(block, 124, 12, size);
        octal(block, 136, 12, 0);
        block[156] = typeflag;
        put(block, 157, 100, link);
        if (gnu_magic) {
            put(block, 257, 8, std::string_view("ustar  \0", 8));
        } else {
            put(block, 257, 6, std::string_view("ustar\0", 6));
            put(block, 263, 2, "00");
        }
        put(block, 265, 32, "root");
        put(block, 297, 32, "root");
        return block;
    }

    static void put(std::string& block, std::size_t offset, std::size_t length,
                    std::string_view value) {
        if (value.size() > length) {
            throw std::logic_error("tar field too long: " + std::string(value));
        }
        block.replace(offset, value.size(), value);
    }

    static void octal(std::string& block, std::size_t offset, std::size_t length,
                      std::uint64_t value) {
        std::array<char, 32> text{};
        std::snprintf(text.data(), text.size(), "%0*llo", static_cast<int>(length - 1),
                      static_cast<unsigned long long>(value));
        put(block, offset, length - 1, text.data());
    }

    static void checksum(std::string& block) {
        block.replace(148, 8, "        ");
        unsigned sum = 0;
        for (const char c : block) {
            sum += static_cast<unsigned char>(c);
        }
        std::array<char, 16> text{};
        std::snprintf(text.data(), text.size(), "%06o", sum);
        block.replace(148, 6, text.data());
        block[154] = '\0';
        block[155] = ' ';
    }

    std::string out_;
    LongNames long_names_ = LongNames::pax;
};

inline std::uint32_t crc32(std::string_view bytes) {
    std::uint32_t crc = 0xffffffffu;
    for (const char c : bytes) {
        crc ^= static_cast<unsigned char>(c);
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1u) != 0 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
        }
    }
    return crc ^ 0xffffffffu;
}

// A valid gzip member holding `data` in deflate "stored" blocks (no compression needed).
inline std::string gzip_stored(std::string_view data) {
    std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
    const auto le16 = [&](std::size_t value) {
        out += static_cast<char>(value & 0xffu);
        out += static_cast<char>((value >> 8) & 0xffu);
    };
    const auto le32 = [&](std::uint64_t value) {
        for (int i = 0; i < 4; ++i) {
            out += static_cast<char>((value >> (8 * i)) & 0xffu);
        }
    };
    std::size_t offset = 0;
    do {
        const std::size_t chunk = std::min<std::size_t>(data.size() - offset, 65535);
        const bool last = offset + chunk == data.size();
        out += static_cast<char>(last ? 1 : 0);
        le16(chunk);
        le16(~chunk & 0xffffu);
        out += data.substr(offset, chunk);
        offset += chunk;
    } while (offset < data.size());
    le32(crc32(data));
    le32(data.size() & 0xffffffffu);
    return out;
}

// The bytes of `range`, read the way layer readers do: pread() at the offset (with a loop of
// its own, independent of the code under test).
inline std::string pread_range(const image::FileRange& range) {
    const int fd = ::open(range.file.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    std::string bytes(static_cast<std::size_t>(range.size), '\0');
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done,
                                  static_cast<off_t>(range.offset + done));
        REQUIRE(n > 0);
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return bytes;
}

// The message of the ImageError `f` throws; fails the test when it throws none.
template <typename F>
std::string image_error(F&& f) {
    try {
        f();
    } catch (const image::ImageError& e) {
        return e.what();
    }
    FAIL("no ImageError was thrown");
    return {};
}

}  // namespace assetctl::test
