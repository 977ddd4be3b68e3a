// Measures the gzip compressors assetctl could use for layers: zlib (streaming deflate),
// libdeflate (whole-buffer, so independent 1 MiB or 8 MiB chunks written as gzip members) and
// ISA-L igzip (streaming, stateful). Single thread. Not part of the CMake project; see
// bench/gzip/build.sh and "Choosing the layer compressor" in bench/README.md.
//
//   compare INPUT [--runs N]              measure every compressor on INPUT (default 2 runs)
//   compare --make-synthetic OUT MIB      write a deterministic synthetic tar of MIB MiB
//
// The input is read into memory first and the outputs go to memory, so the numbers are the
// compressors' own (no disk I/O). Every output is checked by decompressing it with zlib and
// comparing it with the input; "identical" says whether all runs gave the same bytes.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <isa-l.h>
#include <iterator>
#include <libdeflate.h>
#include <stdexcept>
#include <string>
#include <vector>
#include <zlib.h>

namespace {

using Bytes = std::vector<std::uint8_t>;
constexpr std::size_t kMiB = 1024 * 1024;
constexpr std::size_t kFeed = kMiB;  // streaming compressors get the input in 1 MiB pieces

void fail(const std::string& message) {
    std::fprintf(stderr, "compare: %s\n", message.c_str());
    std::exit(1);
}

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        fail("cannot open " + path);
    }
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// ---- compressors -------------------------------------------------------------------------

void zlib_gzip(int level, const Bytes& in, Bytes& out) {
    z_stream z{};
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        fail("deflateInit2");
    }
    std::vector<std::uint8_t> buffer(kFeed);
    std::size_t offset = 0;
    int flush = Z_NO_FLUSH;
    do {
        const std::size_t n = std::min(kFeed, in.size() - offset);
        z.next_in = const_cast<std::uint8_t*>(in.data() + offset);
        z.avail_in = static_cast<uInt>(n);
        offset += n;
        flush = offset == in.size() ? Z_FINISH : Z_NO_FLUSH;
        do {
            z.next_out = buffer.data();
            z.avail_out = static_cast<uInt>(buffer.size());
            if (deflate(&z, flush) == Z_STREAM_ERROR) {
                fail("deflate");
            }
            out.insert(out.end(), buffer.data(), buffer.data() + (buffer.size() - z.avail_out));
        } while (z.avail_out == 0);
    } while (flush != Z_FINISH);
    deflateEnd(&z);
}

void libdeflate_members(int level, std::size_t chunk, const Bytes& in, Bytes& out) {
    libdeflate_compressor* c = libdeflate_alloc_compressor(level);
    if (c == nullptr) {
        fail("libdeflate_alloc_compressor");
    }
    std::size_t offset = 0;
    do {  // at least one member, so empty input is a valid gzip file too
        const std::size_t n = std::min(chunk, in.size() - offset);
        const std::size_t bound = libdeflate_gzip_compress_bound(c, n);
        const std::size_t at = out.size();
        out.resize(at + bound);
        const std::size_t written =
            libdeflate_gzip_compress(c, in.data() + offset, n, out.data() + at, bound);
        if (written == 0) {
            fail("libdeflate_gzip_compress");
        }
        out.resize(at + written);
        offset += n;
    } while (offset < in.size());
    libdeflate_free_compressor(c);
}

void isal_gzip(int level, const Bytes& in, Bytes& out) {
    isal_zstream s{};
    isal_deflate_init(&s);
    Bytes level_buffer(level == 0   ? ISAL_DEF_LVL0_DEFAULT
                       : level == 1 ? ISAL_DEF_LVL1_DEFAULT
                       : level == 2 ? ISAL_DEF_LVL2_DEFAULT
                                    : ISAL_DEF_LVL3_DEFAULT);
    s.level = static_cast<std::uint32_t>(level);
    s.level_buf = level_buffer.data();
    s.level_buf_size = static_cast<std::uint32_t>(level_buffer.size());
    s.gzip_flag = IGZIP_GZIP_NO_HDR;  // header below, trailer by ISA-L
    static const std::uint8_t kHeader[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    out.insert(out.end(), std::begin(kHeader), std::end(kHeader));
    std::vector<std::uint8_t> buffer(kFeed);
    std::size_t offset = 0;
    do {
        const std::size_t n = std::min(kFeed, in.size() - offset);
        s.next_in = const_cast<std::uint8_t*>(in.data() + offset);
        s.avail_in = static_cast<std::uint32_t>(n);
        offset += n;
        s.end_of_stream = offset == in.size() ? 1 : 0;
        do {
            s.next_out = buffer.data();
            s.avail_out = static_cast<std::uint32_t>(buffer.size());
            if (isal_deflate(&s) != COMP_OK) {
                fail("isal_deflate");
            }
            out.insert(out.end(), buffer.data(), buffer.data() + (buffer.size() - s.avail_out));
        } while (s.avail_out == 0);
    } while (s.internal_state.state != ZSTATE_END);
}

// ---- checking ----------------------------------------------------------------------------

// Decompresses every gzip member of `gz` and compares the result with `original`.
bool round_trips(const Bytes& gz, const Bytes& original) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) {
        return false;
    }
    std::vector<std::uint8_t> buffer(kFeed);
    std::size_t produced = 0;
    z.next_in = const_cast<std::uint8_t*>(gz.data());
    z.avail_in = static_cast<uInt>(gz.size());
    bool ok = true;
    for (;;) {
        z.next_out = buffer.data();
        z.avail_out = static_cast<uInt>(buffer.size());
        const int rc = inflate(&z, Z_NO_FLUSH);
        const std::size_t n = buffer.size() - z.avail_out;
        if (produced + n > original.size() ||
            std::memcmp(buffer.data(), original.data() + produced, n) != 0) {
            ok = false;
            break;
        }
        produced += n;
        if (rc == Z_STREAM_END) {
            if (z.avail_in == 0) {
                break;
            }
            inflateReset(&z);  // next member
        } else if (rc != Z_OK) {
            ok = false;
            break;
        }
    }
    inflateEnd(&z);
    return ok && produced == original.size();
}

double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

struct Method {
    std::string name;
    std::function<void(const Bytes&, Bytes&)> run;
};

int measure(const std::string& path, int runs) {
    const Bytes input = read_file(path);
    const double mb = static_cast<double>(input.size()) / 1e6;
    std::vector<Method> methods = {
        {"zlib " ZLIB_VERSION " level 1 (stream)",
         [](const Bytes& i, Bytes& o) { zlib_gzip(1, i, o); }},
        {"zlib " ZLIB_VERSION " level 6 (stream)",
         [](const Bytes& i, Bytes& o) { zlib_gzip(6, i, o); }},
        {"libdeflate " LIBDEFLATE_VERSION_STRING " level 1, 1 MiB members",
         [](const Bytes& i, Bytes& o) { libdeflate_members(1, kMiB, i, o); }},
        {"libdeflate " LIBDEFLATE_VERSION_STRING " level 1, 8 MiB members",
         [](const Bytes& i, Bytes& o) { libdeflate_members(1, 8 * kMiB, i, o); }},
        {"libdeflate " LIBDEFLATE_VERSION_STRING " level 4, 8 MiB members",
         [](const Bytes& i, Bytes& o) { libdeflate_members(4, 8 * kMiB, i, o); }},
        {"libdeflate " LIBDEFLATE_VERSION_STRING " level 5, 8 MiB members",
         [](const Bytes& i, Bytes& o) { libdeflate_members(5, 8 * kMiB, i, o); }},
        {"libdeflate " LIBDEFLATE_VERSION_STRING " level 6, 1 MiB members",
         [](const Bytes& i, Bytes& o) { libdeflate_members(6, kMiB, i, o); }},
        {"libdeflate " LIBDEFLATE_VERSION_STRING " level 6, 8 MiB members",
         [](const Bytes& i, Bytes& o) { libdeflate_members(6, 8 * kMiB, i, o); }},
        {"ISA-L 2.30 igzip level 0 (stream)", [](const Bytes& i, Bytes& o) { isal_gzip(0, i, o); }},
        {"ISA-L 2.30 igzip level 1 (stream)", [](const Bytes& i, Bytes& o) { isal_gzip(1, i, o); }},
        {"ISA-L 2.30 igzip level 2 (stream)", [](const Bytes& i, Bytes& o) { isal_gzip(2, i, o); }},
        {"ISA-L 2.30 igzip level 3 (stream)", [](const Bytes& i, Bytes& o) { isal_gzip(3, i, o); }},
    };
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    std::printf("input %s: %zu bytes, %d runs each, load average before %.2f\n\n", path.c_str(),
                input.size(), runs, load[0]);
    std::printf(
        "| compressor | MB/s wall (best) | MB/s CPU (best) | compressed / input | identical "
        "across runs | round trip |\n|---|---|---|---|---|---|\n");
    for (const Method& m : methods) {
        Bytes first;
        double best_wall = 1e30;
        double best_cpu = 1e30;
        bool identical = true;
        for (int r = 0; r < runs; ++r) {
            Bytes out;
            out.reserve(input.size() + input.size() / 8 + kMiB);
            const auto w0 = std::chrono::steady_clock::now();
            const double c0 = cpu_seconds();
            m.run(input, out);
            const double c1 = cpu_seconds();
            const auto w1 = std::chrono::steady_clock::now();
            best_wall = std::min(best_wall, std::chrono::duration<double>(w1 - w0).count());
            best_cpu = std::min(best_cpu, c1 - c0);
            if (r == 0) {
                first = std::move(out);
            } else if (out != first) {
                identical = false;
            }
        }
        const bool ok = round_trips(first, input);
        std::printf("| %s | %.0f | %.0f | %.2f%% | %s | %s |\n", m.name.c_str(), mb / best_wall,
                    mb / best_cpu,
                    100.0 * static_cast<double>(first.size()) / static_cast<double>(input.size()),
                    identical ? "yes" : "NO", ok ? "ok" : "FAILED");
        std::fflush(stdout);
    }
    getloadavg(load, 3);
    std::printf("\nload average after %.2f\n", load[0]);
    return 0;
}

// ---- synthetic input ---------------------------------------------------------------------

// xorshift64*: deterministic on every machine.
struct Rng {
    std::uint64_t state;
    std::uint64_t next() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return state * 0x2545F4914F6CDD1DULL;
    }
    std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(next() % n); }
};

void octal(char* field, std::size_t width, std::uint64_t value) {
    std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1),
                  static_cast<unsigned long long>(value));
}

void tar_header(std::string& tar, const std::string& name, std::size_t size) {
    char h[512] = {};
    std::snprintf(h, 100, "%s", name.c_str());
    octal(h + 100, 8, 0644);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, 0);
    std::memset(h + 148, ' ', 8);
    h[156] = '0';
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    unsigned sum = 0;
    for (const char c : h) {
        sum += static_cast<unsigned char>(c);
    }
    std::snprintf(h + 148, 8, "%06o", sum);
    tar.append(h, sizeof h);
}

const char* const kWords[] = {"alpha",   "bravo",  "charlie", "delta",  "echo",   "foxtrot",
                              "service", "worker", "queue",   "bucket", "region", "account",
                              "image",   "layer",  "digest",  "status", "ok",     "error"};

// The content of one file: log lines, JSON records, incompressible bytes or little-endian
// integer tables, the mix an image generator makes of "text" and "binary" payloads.
std::string file_content(Rng& rng, unsigned kind, std::size_t size) {
    std::string s;
    s.reserve(size + 256);
    char line[256];
    while (s.size() < size) {
        switch (kind) {
            case 0:
                std::snprintf(line, sizeof line,
                              "2026-11-27T08:%02u:%02u.%03uZ INFO %s-%03u request id=%016llx "
                              "path=/api/v1/%s/%u status=%u latency_ms=%u\n",
                              rng.below(60), rng.below(60), rng.below(1000), kWords[rng.below(18)],
                              rng.below(50), static_cast<unsigned long long>(rng.next()),
                              kWords[rng.below(18)], rng.below(100000), 200 + 100 * rng.below(4),
                              rng.below(2000));
                s += line;
                break;
            case 1:
                std::snprintf(line, sizeof line,
                              "{\"id\": %u, \"name\": \"%s-%s\", \"enabled\": %s, \"weight\": "
                              "%u.%02u, \"tags\": [\"%s\", \"%s\"]},\n",
                              rng.below(1000000), kWords[rng.below(18)], kWords[rng.below(18)],
                              rng.below(2) ? "true" : "false", rng.below(100), rng.below(100),
                              kWords[rng.below(18)], kWords[rng.below(18)]);
                s += line;
                break;
            case 2:
                for (int i = 0; i < 32; ++i) {
                    const std::uint64_t v = rng.next();
                    s.append(reinterpret_cast<const char*>(&v), sizeof v);
                }
                break;
            default:
                for (int i = 0; i < 64; ++i) {
                    const std::uint32_t v = rng.below(4096) * (1U + rng.below(3));
                    s.append(reinterpret_cast<const char*>(&v), sizeof v);
                }
                break;
        }
    }
    s.resize(size);
    return s;
}

int make_synthetic(const std::string& path, std::size_t mib) {
    Rng rng{0x9E3779B97F4A7C15ULL};
    std::string tar;
    tar.reserve(mib * kMiB + kMiB);
    // 40% log text, 20% JSON, 25% random, 15% integer tables, by files of 4 KiB to 4 MiB.
    static const unsigned kKinds[20] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3};
    for (unsigned index = 0; tar.size() < mib * kMiB; ++index) {
        const unsigned kind = kKinds[rng.below(20)];
        const std::size_t size = std::size_t{4096} << rng.below(11);
        char name[64];
        std::snprintf(name, sizeof name, "srv/data/%05u.%s", index,
                      kind == 0   ? "log"
                      : kind == 1 ? "json"
                                  : "bin");
        tar_header(tar, name, size);
        tar += file_content(rng, kind, size);
        tar.append((512 - size % 512) % 512, '\0');
    }
    tar.resize(mib * kMiB);  // cut like the real input, a tar prefix
    std::ofstream out(path, std::ios::binary);
    out.write(tar.data(), static_cast<std::streamsize>(tar.size()));
    return out ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "--make-synthetic") {
        return make_synthetic(argv[2], std::strtoul(argv[3], nullptr, 10));
    }
    if (argc == 2) {
        return measure(argv[1], 2);
    }
    if (argc == 4 && std::string(argv[2]) == "--runs") {
        return measure(argv[1], std::atoi(argv[3]));
    }
    std::fprintf(stderr,
                 "usage: compare INPUT [--runs N]\n       compare --make-synthetic OUT MIB\n");
    return 2;
}
