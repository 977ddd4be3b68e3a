#pragma once

// What the fuzz targets share: reading structured values out of the fuzzer's bytes, an HTTP
// client whose every answer comes from them, and a scratch folder for targets whose code reads
// files. Nothing here is part of assetctl; each target is one file `fuzz_<name>.cpp` that
// defines LLVMFuzzerTestOneInput (fuzz/README.md).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_client.hpp"
#include "http/retry.hpp"
#include "util/sleeper.hpp"

namespace assetctl::fuzz {

// Consumes the fuzzer's bytes front to back. Once they run out every value is zero or empty,
// so a target never has to check.
class FuzzInput {
  public:
    FuzzInput(const std::uint8_t* data, std::size_t size)
        : rest_(reinterpret_cast<const char*>(data), size) {}
    explicit FuzzInput(std::string_view bytes) : rest_(bytes) {}

    std::uint8_t byte();
    std::uint16_t u16();
    // A string of up to `max` bytes, its length from the input.
    std::string string(std::size_t max);
    // Everything not consumed yet.
    std::string_view rest();
    bool empty() const { return rest_.empty(); }

  private:
    std::string_view rest_;
};

// `bytes` cut at each `separator` (k_part_separator by default): several documents in one input
// (a manifest.json and its asset manifest). Missing parts are empty.
inline constexpr std::string_view k_part_separator = "\n--8<--\n";
std::vector<std::string_view> split_parts(std::string_view bytes, std::size_t count,
                                          std::string_view separator = k_part_separator);

// An HTTP client that answers each request from the input: a status from a table of the ones
// services answer (200 most often, 3xx, 4xx, 5xx, 429), up to three headers from a table of
// names that matter (Content-Type, Location, WWW-Authenticate, Retry-After, Docker-Content-Digest,
// ...) with fuzzed values, and a fuzzed body. After k_max_requests requests (and when the input
// is used up) it throws a TransportError, so a loop that keeps asking ends.
class ScriptedHttp final : public http::HttpClient {
  public:
    static constexpr int k_max_requests = 24;
    explicit ScriptedHttp(FuzzInput& input) : input_(input) {}
    http::Response send(const http::Request& request) override;
    int requests() const { return requests_; }

  private:
    FuzzInput& input_;
    int requests_ = 0;
};

// Retries without waiting: a fuzzed Retry-After must not stall the fuzzer.
class NoSleep final : public util::Sleeper {
  public:
    void sleep_for(std::chrono::milliseconds /*duration*/) override {}
};

// Two attempts, no back-off: retry paths run, and quickly.
inline constexpr http::RetryPolicy k_fuzz_retry{2, std::chrono::milliseconds(0),
                                                std::chrono::milliseconds(0)};

// One answer read from `input` as ScriptedHttp makes them.
http::Response take_response(FuzzInput& input);

// A private folder made once per process (removed at exit) for targets that go through files.
const std::filesystem::path& scratch_dir();
// Writes `bytes` to `scratch_dir() / name` (parents made), replacing what was there.
std::filesystem::path write_scratch_file(const std::filesystem::path& name, std::string_view bytes);
// Empties scratch_dir() / name (a folder), making it if needed.
std::filesystem::path fresh_scratch_folder(const std::filesystem::path& name);

}  // namespace assetctl::fuzz
