#include "fuzz_support.hpp"

#include <array>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include <spdlog/spdlog.h>

namespace assetctl::fuzz {
namespace {

// Logging off (a target's speed is the code's, not the terminal's), and SIGPIPE ignored: a
// harness thread writing into a pipe whose reader stopped early gets EPIPE instead of killing
// the fuzzer.
const bool k_quiet = [] {
    spdlog::set_level(spdlog::level::off);
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

constexpr std::array<long, 16> k_statuses = {200, 200, 200, 200, 200, 201, 202, 204,
                                             206, 307, 400, 401, 403, 404, 429, 503};

constexpr std::array<std::string_view, 12> k_header_names = {"Content-Type",
                                                             "Location",
                                                             "WWW-Authenticate",
                                                             "Retry-After",
                                                             "Content-Length",
                                                             "Docker-Content-Digest",
                                                             "ETag",
                                                             "x-amz-checksum-sha256",
                                                             "Range",
                                                             "x-amz-bucket-region",
                                                             "Docker-Upload-UUID",
                                                             "x-amzn-ErrorType"};

}  // namespace

std::uint8_t FuzzInput::byte() {
    if (rest_.empty()) {
        return 0;
    }
    const auto value = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return value;
}

std::uint16_t FuzzInput::u16() {
    const auto high = byte();
    return static_cast<std::uint16_t>((high << 8) | byte());
}

std::string FuzzInput::string(std::size_t max) {
    const std::size_t wanted = max == 0 ? 0 : u16() % (max + 1);
    const auto size = std::min(wanted, rest_.size());
    std::string value(rest_.substr(0, size));
    rest_.remove_prefix(size);
    return value;
}

std::string_view FuzzInput::rest() {
    const auto value = rest_;
    rest_ = {};
    return value;
}

std::vector<std::string_view> split_parts(std::string_view bytes, std::size_t count,
                                          std::string_view separator) {
    std::vector<std::string_view> parts;
    while (parts.size() + 1 < count) {
        const auto at = bytes.find(separator);
        if (at == std::string_view::npos) {
            break;
        }
        parts.push_back(bytes.substr(0, at));
        bytes.remove_prefix(at + separator.size());
    }
    parts.push_back(bytes);
    parts.resize(count);
    return parts;
}

http::Response take_response(FuzzInput& input) {
    http::Response response;
    response.status = k_statuses[input.byte() % k_statuses.size()];
    const auto headers = input.byte() % 4;
    for (int i = 0; i < headers; ++i) {
        const auto name = k_header_names[input.byte() % k_header_names.size()];
        response.headers.push_back({std::string(name), input.string(200)});
    }
    response.body = input.string(8192);
    return response;
}

http::Response ScriptedHttp::send(const http::Request& request) {
    ++requests_;
    if (requests_ > k_max_requests || input_.empty()) {
        throw http::TransportError(http::TransportErrorKind::other, "fuzz: no more answers");
    }
    if (request.stream) {
        // A streamed body is read to its end, as libcurl would.
        (void)http::body_bytes(request);
    }
    return take_response(input_);
}

const std::filesystem::path& scratch_dir() {
    static const std::filesystem::path dir = [] {
        std::string pattern = (std::filesystem::temp_directory_path() / "assetctl-fuzz-XXXXXX");
        if (::mkdtemp(pattern.data()) == nullptr) {
            std::abort();
        }
        std::filesystem::path made(pattern);
        static const std::filesystem::path removed_at_exit = made;
        std::atexit([] {
            std::error_code ignored;
            std::filesystem::remove_all(removed_at_exit, ignored);
        });
        return made;
    }();
    return dir;
}

std::filesystem::path write_scratch_file(const std::filesystem::path& name,
                                         std::string_view bytes) {
    const auto path = scratch_dir() / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path;
}

std::filesystem::path fresh_scratch_folder(const std::filesystem::path& name) {
    const auto path = scratch_dir() / name;
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
    return path;
}

}  // namespace assetctl::fuzz
