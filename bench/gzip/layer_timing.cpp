// Times assetctl's own layer compressor (lib/image/gzip.hpp) end to end: compress_layer() with
// N threads, reading the input file with read() on the calling thread (as from a pipe),
// SHA-256 of both sides, writing the gzip to a file; or GzipLayerReader drained (pread, one
// member at a time, one thread). Not part of the CMake project and not a CI test; built against
// a build tree's static libraries by bench/gzip/build-layer-timing.sh. See "Choosing the layer
// compressor" in bench/README.md.
//
//   layer-timing INPUT OUTPUT [--threads N ...] [--reader] [--runs R]
//
// Prints one line per mode: best wall and CPU seconds of R runs (default 3), MB/s of input
// (10^6 bytes) by wall time, output size and digest (which must be the same for every mode).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "image/gzip.hpp"
#include "util/fd.hpp"

namespace {

using assetctl::image::CompressedLayer;

[[noreturn]] void fail(const std::string& message) {
    std::fprintf(stderr, "layer-timing: %s\n", message.c_str());
    std::exit(1);
}

// The input file read with read(), as compress_layer() reads a pipe.
class FileReader final : public assetctl::http::BodyReader {
  public:
    explicit FileReader(int fd) : fd_(fd) {}
    std::size_t read(char* buffer, std::size_t size) override {
        const ssize_t n = ::read(fd_, buffer, size);
        if (n < 0) {
            fail("read: " + assetctl::util::errno_message(errno));
        }
        return static_cast<std::size_t>(n);
    }

  private:
    int fd_;
};

assetctl::util::Fd open_or_fail(const std::string& path, int flags) {
    assetctl::util::Fd fd(::open(path.c_str(), flags | O_CLOEXEC, 0600));
    if (!fd) {
        fail("cannot open " + path + ": " + assetctl::util::errno_message(errno));
    }
    return fd;
}

CompressedLayer run_compress_layer(const std::string& input, const std::string& output,
                                   std::size_t threads) {
    const auto in = open_or_fail(input, O_RDONLY);
    const auto out = open_or_fail(output, O_WRONLY | O_CREAT | O_TRUNC);
    FileReader reader(in.get());
    return assetctl::image::compress_layer(reader, out.get(), threads);
}

CompressedLayer run_reader(const std::string& input, const std::string& output) {
    const auto in = open_or_fail(input, O_RDONLY);
    const off_t size = ::lseek(in.get(), 0, SEEK_END);
    assetctl::image::GzipLayerReader reader(
        assetctl::image::FileRange{input, 0, static_cast<std::uint64_t>(size)});
    const auto out = open_or_fail(output, O_WRONLY | O_CREAT | O_TRUNC);
    std::vector<char> buffer(1 << 20);
    while (const std::size_t n = reader.read(buffer.data(), buffer.size())) {
        if (::write(out.get(), buffer.data(), n) != static_cast<ssize_t>(n)) {
            fail("write: " + assetctl::util::errno_message(errno));
        }
    }
    return reader.result();
}

double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Runs one mode `runs` times and prints its line. threads 0 = GzipLayerReader.
void measure(const std::string& input, const std::string& output, std::size_t threads, int runs) {
    double best_wall = 1e30;
    double best_cpu = 1e30;
    CompressedLayer layer;
    for (int r = 0; r < runs; ++r) {
        const auto w0 = std::chrono::steady_clock::now();
        const double c0 = cpu_seconds();
        layer =
            threads == 0 ? run_reader(input, output) : run_compress_layer(input, output, threads);
        const double c1 = cpu_seconds();
        const auto w1 = std::chrono::steady_clock::now();
        best_wall = std::min(best_wall, std::chrono::duration<double>(w1 - w0).count());
        best_cpu = std::min(best_cpu, c1 - c0);
    }
    const double mb = static_cast<double>(layer.input_size) / 1e6;
    const std::string mode =
        threads == 0 ? "GzipLayerReader" : "compress_layer, " + std::to_string(threads) + " thr";
    std::printf("| %s | %.2f | %.2f | %.0f | %llu (%.2f %%) | %s |\n", mode.c_str(), best_wall,
                best_cpu, mb / best_wall, static_cast<unsigned long long>(layer.size),
                100.0 * static_cast<double>(layer.size) / static_cast<double>(layer.input_size),
                layer.digest.str().c_str());
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: layer-timing INPUT OUTPUT [--threads N ...] [--reader] "
                     "[--runs R]\n");
        return 2;
    }
    const std::string input = argv[1];
    const std::string output = argv[2];
    std::vector<std::size_t> modes;
    int runs = 3;
    for (int i = 3; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--reader") {
            modes.push_back(0);
        } else if (arg == "--threads" && i + 1 < argc) {
            modes.push_back(std::strtoul(argv[++i], nullptr, 10));
        } else if (arg == "--runs" && i + 1 < argc) {
            runs = std::atoi(argv[++i]);
        } else {
            fail("unknown argument " + arg);
        }
    }
    if (modes.empty()) {
        modes = {1, 2};
    }
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    std::printf("%s (%s), best of %d runs, load average before %.2f\n\n", input.c_str(),
                assetctl::image::compressor_id().c_str(), runs, load[0]);
    std::printf(
        "| mode | wall s | CPU s | MB/s wall | output | digest |\n|---|---|---|---|---|---|\n");
    for (const std::size_t threads : modes) {
        measure(input, output, threads, runs);
    }
    getloadavg(load, 3);
    std::printf("\nload average after %.2f\n", load[0]);
    return 0;
}
