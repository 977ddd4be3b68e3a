#include "image/gzip.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <future>
#include <libdeflate.h>
#include <limits>
#include <memory>
#include <new>
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
#include "util/thread_pool.hpp"

namespace assetctl::image {

namespace {

// libdeflate level 4 in 8 MiB members won the measurement in bench/README.md ("Choosing the
// layer compressor"): within 5 % of zlib level 6's size at 4-5x its speed.
constexpr int k_level = 4;

// RFC 1952 member header: deflate, no flags (no name, comment or extra), mtime 0, no XFL
// claim, OS 255 ("unknown"), so nothing about the machine or the time reaches the bytes.
constexpr std::array<std::uint8_t, 10> k_gzip_header = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
constexpr std::size_t k_gzip_trailer = 8;  // CRC-32 and ISIZE, little-endian

std::string_view as_chars(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

void put_le32(std::uint8_t* at, std::uint32_t value) {
    for (std::size_t i = 0; i < 4; ++i) {
        at[i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
}

// A fixed-capacity byte buffer that is never zero-filled (it is always written before read).
struct Buffer {
    explicit Buffer(std::size_t capacity_)
        : data(std::make_unique_for_overwrite<std::uint8_t[]>(capacity_)), capacity(capacity_) {}
    std::unique_ptr<std::uint8_t[]> data;
    std::size_t capacity = 0;
    std::size_t size = 0;
};

// One libdeflate compressor at k_level. libdeflate compressors are not thread-safe: one per
// thread that compresses.
class MemberCompressor {
  public:
    MemberCompressor() : compressor_(libdeflate_alloc_compressor(k_level)) {
        if (compressor_ == nullptr) {
            throw std::bad_alloc();
        }
    }
    ~MemberCompressor() { libdeflate_free_compressor(compressor_); }
    MemberCompressor(const MemberCompressor&) = delete;
    MemberCompressor& operator=(const MemberCompressor&) = delete;

    // The most bytes one member of up to k_member_size input bytes can take.
    std::size_t max_member_size() const {
        return k_gzip_header.size() +
               libdeflate_deflate_compress_bound(compressor_, k_member_size) + k_gzip_trailer;
    }

    // Replaces `out`'s content with the gzip member of `data` (at most k_member_size bytes;
    // `out` holds max_member_size()).
    void compress(const std::uint8_t* data, std::size_t size, Buffer& out) {
        std::copy(k_gzip_header.begin(), k_gzip_header.end(), out.data.get());
        std::uint8_t* const body = out.data.get() + k_gzip_header.size();
        const std::size_t room = out.capacity - k_gzip_header.size() - k_gzip_trailer;
        const std::size_t written =
            libdeflate_deflate_compress(compressor_, data, size, body, room);
        if (written == 0) {  // only when `room` is below the bound, which it never is
            throw std::runtime_error("libdeflate_deflate_compress found no room for " +
                                     std::to_string(size) + " bytes");
        }
        put_le32(body + written, libdeflate_crc32(0, data, size));
        put_le32(body + written + 4, static_cast<std::uint32_t>(size));
        out.size = k_gzip_header.size() + written + k_gzip_trailer;
    }

  private:
    libdeflate_compressor* compressor_;
};

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

// The diff_id of what was hashed; ImageError naming `what` when it is not the expected one.
registry::Digest checked_diff_id(crypto::Sha256& in_hash,
                                 const std::optional<registry::Digest>& expected,
                                 const std::string& what) {
    registry::Digest diff_id = sha256_digest(in_hash);
    if (expected && diff_id != *expected) {
        throw ImageError(what + ": a layer's content has digest " + diff_id.str() +
                         " but the image config says " + expected->str() +
                         " (rootfs.diff_ids): the tarball is corrupt or was edited; "
                         "re-create it (docker save)");
    }
    return diff_id;
}

void check_range(const FileRange& input) {
    if (input.size > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()) ||
        input.offset > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()) - input.size) {
        throw ImageError(input.file.string() + ": layer range (offset " +
                         std::to_string(input.offset) + ", size " + std::to_string(input.size) +
                         ") is beyond any file");
    }
}

void throw_if_interrupted(const std::string& what) {
    if (util::interrupted()) {
        throw util::Interrupted("interrupted while compressing " + what);
    }
}

// Reads from `input` until `size` bytes came or it ended; how many came.
std::size_t read_piece(http::BodyReader& input, std::uint8_t* buffer, std::size_t size) {
    std::size_t got = 0;
    while (got < size) {
        const std::size_t n = input.read(reinterpret_cast<char*>(buffer) + got, size - got);
        if (n == 0) {
            break;
        }
        got += n;
    }
    return got;
}

void write_all(int fd, const std::uint8_t* data, std::size_t size) {
    try {
        util::write_all(fd, std::string_view(reinterpret_cast<const char*>(data), size));
    } catch (const std::system_error& e) {
        throw ImageError("cannot write a compressed layer: " + e.code().message());
    }
}

// One member of compress_layer() on its way: its input piece, its gzip member and the
// compressor that makes it (on a pool thread while `busy`).
struct Slot {
    MemberCompressor compressor;
    Buffer in{k_member_size};
    Buffer out{compressor.max_member_size()};
    std::future<void> compressed;
    bool busy = false;
};

// compress_layer(): the calling thread reads pieces, hashes them and hands them to a pool of
// `threads` workers, one slot per member in flight; members are written in order as they
// finish. threads + 1 slots, so one piece is read while `threads` members compress.
class LayerCompression {
  public:
    LayerCompression(http::BodyReader& input, int out_fd, std::size_t threads)
        : input_(input), out_fd_(out_fd), pool_(threads) {
        for (std::size_t i = 0; i < threads + 1; ++i) {
            slots_.push_back(std::make_unique<Slot>());
        }
    }

    CompressedLayer run(const std::optional<registry::Digest>& expected_diff_id) {
        std::uint64_t members = 0;
        for (bool last = false; !last; ++members) {
            Slot& slot = *slots_[members % slots_.size()];
            write_member(slot);
            throw_if_interrupted("a layer");
            slot.in.size = read_piece(input_, slot.in.data.get(), k_member_size);
            if (slot.in.size == 0 && members > 0) {
                break;  // the input was a multiple of k_member_size
            }
            in_hash_.update(as_chars(slot.in.data.get(), slot.in.size));
            result_.input_size += slot.in.size;
            last = slot.in.size < k_member_size;
            start_member(slot);
        }
        result_.diff_id = checked_diff_id(in_hash_, expected_diff_id, "compressing a layer");
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            write_member(*slots_[(members + i) % slots_.size()]);
        }
        result_.digest = sha256_digest(out_hash_);
        return result_;
    }

  private:
    void start_member(Slot& slot) {
        auto done = std::make_shared<std::promise<void>>();
        slot.compressed = done->get_future();
        slot.busy = true;
        pool_.submit([&slot, done] {
            try {
                slot.compressor.compress(slot.in.data.get(), slot.in.size, slot.out);
                done->set_value();
            } catch (...) {
                done->set_exception(std::current_exception());
            }
        });
    }

    // Waits for the slot's member (if any), then hashes and writes it.
    void write_member(Slot& slot) {
        if (!slot.busy) {
            return;
        }
        slot.busy = false;
        slot.compressed.get();
        out_hash_.update(as_chars(slot.out.data.get(), slot.out.size));
        result_.size += slot.out.size;
        write_all(out_fd_, slot.out.data.get(), slot.out.size);
    }

    http::BodyReader& input_;
    int out_fd_;
    crypto::Sha256 in_hash_;
    crypto::Sha256 out_hash_;
    CompressedLayer result_;
    std::vector<std::unique_ptr<Slot>> slots_;
    util::ThreadPool pool_;  // last: destroyed first, so no task outlives its slot
};

}  // namespace

const std::string& compressor_id() {
    static const std::string id = "libdeflate-" LIBDEFLATE_VERSION_STRING "-level" +
                                  std::to_string(k_level) + "-m" +
                                  std::to_string(k_member_size >> 20);
    return id;
}

CompressedLayer compress_layer(http::BodyReader& input, int out_fd, std::size_t threads,
                               const std::optional<registry::Digest>& expected_diff_id) {
    LayerCompression compression(input, out_fd, std::max<std::size_t>(threads, 1));
    return compression.run(expected_diff_id);
}

// The layer's file, one input piece and the member made of it. Each member is made from
// exactly k_member_size input bytes (the last one shorter), whatever sizes the caller reads.
struct GzipLayerReader::State {
    FileRange input;
    std::optional<registry::Digest> expected_diff_id;
    util::Fd fd;
    MemberCompressor compressor;
    Buffer in_buffer{k_member_size};
    Buffer out_buffer{compressor.max_member_size()};
    std::size_t out_begin = 0;  // pending output: out_buffer[out_begin, out_buffer.size)
    std::uint64_t consumed = 0;
    std::uint64_t members = 0;
    crypto::Sha256 in_hash;
    crypto::Sha256 out_hash;
    bool finished = false;
    CompressedLayer result;

    // Makes the next member; false at the end of the layer.
    bool produce() {
        if (consumed == input.size && members > 0) {
            return false;
        }
        throw_if_interrupted(input.file.string());
        const auto n =
            static_cast<std::size_t>(std::min<std::uint64_t>(k_member_size, input.size - consumed));
        read_exact(input, fd.get(), in_buffer.data.get(), n, input.offset + consumed);
        in_hash.update(as_chars(in_buffer.data.get(), n));
        consumed += n;
        if (consumed == input.size) {
            result.diff_id = checked_diff_id(in_hash, expected_diff_id, input.file.string());
        }
        compressor.compress(in_buffer.data.get(), n, out_buffer);
        ++members;
        out_begin = 0;
        out_hash.update(as_chars(out_buffer.data.get(), out_buffer.size));
        result.size += out_buffer.size;
        return true;
    }
};

GzipLayerReader::GzipLayerReader(FileRange input, std::optional<registry::Digest> expected_diff_id)
    : state_(std::make_unique<State>()) {
    check_range(input);
    auto& st = *state_;
    st.input = std::move(input);
    st.expected_diff_id = std::move(expected_diff_id);
    st.result.input_size = st.input.size;
    st.fd = util::Fd(::open(st.input.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!st.fd) {
        throw ImageError(st.input.file.string() + ": cannot open: " + util::errno_message(errno));
    }
}

GzipLayerReader::~GzipLayerReader() = default;

std::size_t GzipLayerReader::read(char* buffer, std::size_t size) {
    auto& st = *state_;
    while (st.out_begin == st.out_buffer.size) {
        if (st.finished || !st.produce()) {
            if (!st.finished) {
                st.finished = true;
                st.result.digest = sha256_digest(st.out_hash);
            }
            return 0;
        }
    }
    const std::size_t n = std::min(size, st.out_buffer.size - st.out_begin);
    std::memcpy(buffer, st.out_buffer.data.get() + st.out_begin, n);
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
