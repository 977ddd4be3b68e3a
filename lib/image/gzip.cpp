#include "image/gzip.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <isa-l.h>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

#include "crypto/crypto.hpp"
#include "image/image_error.hpp"
#include "util/fd.hpp"
#include "util/files.hpp"
#include "util/interrupt.hpp"

namespace assetctl::image {

namespace {

// Part of the output format: ISA-L's block boundaries depend on how the input is fed, so the
// input always goes in as pieces of exactly this size (the last one shorter).
constexpr std::size_t k_input_chunk = std::size_t{1} << 20;
constexpr std::size_t k_output_buffer = std::size_t{1} << 20;
// Level 1 won the measurement in bench/README.md ("Choosing the layer compressor").
constexpr std::uint32_t k_level = 1;

// RFC 1952 member header: deflate, no flags (no name, comment or extra), mtime 0, no XFL
// claim, OS 255 ("unknown"), so nothing about the machine or the time reaches the bytes.
constexpr std::array<std::uint8_t, 10> k_gzip_header = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};

std::string_view as_chars(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Reads exactly `size` bytes at `offset`: a shorter file is a truncated or changed layer.
void read_exact(const FileRange& input, int fd, std::uint8_t* buffer, std::size_t size,
                std::uint64_t offset) {
    std::size_t done = 0;
    try {
        done = util::read_at(fd, reinterpret_cast<char*>(buffer), size, offset);
    } catch (const std::system_error& e) {
        throw ImageError(input.file.string() + ": cannot read: " + e.code().message());
    }
    if (done < size) {
        throw ImageError(input.file.string() + ": file ends at byte " +
                         std::to_string(offset + done) + ", but the layer at offset " +
                         std::to_string(input.offset) + " should have " +
                         std::to_string(input.size) + " bytes (truncated or changed file)");
    }
}

registry::Digest sha256_digest(crypto::Sha256& hash) {
    return registry::Digest::from_string("sha256:" + hash.hex_digest());
}

void check_range(const FileRange& input) {
    if (input.size > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()) ||
        input.offset > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()) - input.size) {
        throw ImageError(input.file.string() + ": layer range (offset " +
                         std::to_string(input.offset) + ", size " + std::to_string(input.size) +
                         ") is beyond any file");
    }
}

}  // namespace

const std::string& compressor_id() {
    static const std::string id = "isal-" + std::to_string(ISAL_MAJOR_VERSION) + "." +
                                  std::to_string(ISAL_MINOR_VERSION) + "-level" +
                                  std::to_string(k_level);
    return id;
}

// The ISA-L stream and its buffers. The call pattern into ISA-L depends on the input only:
// each input piece is exactly k_input_chunk bytes (the last one shorter), and every
// isal_deflate() call gets a fresh, empty k_output_buffer - whatever sizes the caller reads in.
struct GzipLayerReader::State {
    FileRange input;
    std::optional<registry::Digest> expected_diff_id;
    util::Fd fd;
    isal_zstream stream{};
    std::vector<std::uint8_t> level_buffer = std::vector<std::uint8_t>(ISAL_DEF_LVL1_DEFAULT);
    std::vector<std::uint8_t> in_buffer = std::vector<std::uint8_t>(k_input_chunk);
    std::vector<std::uint8_t> out_buffer = std::vector<std::uint8_t>(k_output_buffer);
    std::size_t out_begin = 0;  // pending output: out_buffer[out_begin, out_end)
    std::size_t out_end = 0;
    bool call_again = false;  // the last call filled the output buffer: more without new input
    std::uint64_t consumed = 0;
    crypto::Sha256 in_hash;
    crypto::Sha256 out_hash;
    std::uint64_t out_size = 0;
    bool finished = false;
    CompressedLayer result;

    // Refills the pending output; false at the end of the stream.
    bool produce() {
        if (stream.internal_state.state == ZSTATE_END && !call_again) {
            return false;
        }
        if (!call_again) {
            if (util::interrupted()) {
                throw util::Interrupted("interrupted while compressing " + input.file.string());
            }
            const auto n = static_cast<std::size_t>(
                std::min<std::uint64_t>(k_input_chunk, input.size - consumed));
            read_exact(input, fd.get(), in_buffer.data(), n, input.offset + consumed);
            in_hash.update(as_chars(in_buffer.data(), n));
            consumed += n;
            stream.next_in = in_buffer.data();
            stream.avail_in = static_cast<std::uint32_t>(n);
            stream.end_of_stream = consumed == input.size ? 1 : 0;
            if (consumed == input.size) {
                check_diff_id();
            }
        }
        stream.next_out = out_buffer.data();
        stream.avail_out = static_cast<std::uint32_t>(out_buffer.size());
        const int rc = isal_deflate(&stream);
        if (rc != COMP_OK) {
            throw std::runtime_error("ISA-L isal_deflate failed (" + std::to_string(rc) +
                                     ") compressing " + input.file.string());
        }
        out_begin = 0;
        out_end = out_buffer.size() - stream.avail_out;
        call_again = stream.avail_out == 0;
        if (!call_again && stream.avail_in != 0) {
            throw std::runtime_error("ISA-L isal_deflate stopped before the end of " +
                                     input.file.string());
        }
        emit(out_buffer.data(), out_end);
        return true;
    }

    void emit(const std::uint8_t* data, std::size_t size) {
        out_hash.update(as_chars(data, size));
        out_size += size;
    }

    void check_diff_id() {
        result.diff_id = sha256_digest(in_hash);
        if (expected_diff_id && result.diff_id != *expected_diff_id) {
            throw ImageError(input.file.string() + ": a layer's content has digest " +
                             result.diff_id.str() + " but the image config says " +
                             expected_diff_id->str() +
                             " (rootfs.diff_ids): the tarball is corrupt or was edited; "
                             "re-create it (docker save)");
        }
    }
};

GzipLayerReader::GzipLayerReader(FileRange input, std::optional<registry::Digest> expected_diff_id)
    : state_(std::make_unique<State>()) {
    check_range(input);
    auto& st = *state_;
    st.input = std::move(input);
    st.expected_diff_id = std::move(expected_diff_id);
    st.fd = util::Fd(::open(st.input.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!st.fd) {
        throw ImageError(st.input.file.string() + ": cannot open: " + util::errno_message(errno));
    }
    isal_deflate_init(&st.stream);
    st.stream.level = k_level;
    st.stream.level_buf = st.level_buffer.data();
    st.stream.level_buf_size = static_cast<std::uint32_t>(st.level_buffer.size());
    st.stream.gzip_flag = IGZIP_GZIP_NO_HDR;  // ISA-L writes the CRC-32/ISIZE trailer only
    std::copy(k_gzip_header.begin(), k_gzip_header.end(), st.out_buffer.begin());
    st.out_end = k_gzip_header.size();
    st.emit(st.out_buffer.data(), st.out_end);
}

GzipLayerReader::~GzipLayerReader() = default;

std::size_t GzipLayerReader::read(char* buffer, std::size_t size) {
    auto& st = *state_;
    while (st.out_begin == st.out_end) {
        if (st.finished || !st.produce()) {
            if (!st.finished) {
                st.finished = true;
                st.result.size = st.out_size;
                st.result.digest = sha256_digest(st.out_hash);
            }
            return 0;
        }
    }
    const std::size_t n = std::min(size, st.out_end - st.out_begin);
    std::memcpy(buffer, st.out_buffer.data() + st.out_begin, n);
    st.out_begin += n;
    return n;
}

const CompressedLayer& GzipLayerReader::result() const {
    if (!state_->finished) {
        throw std::logic_error("GzipLayerReader::result() before the end of the stream");
    }
    return state_->result;
}

}  // namespace assetctl::image
