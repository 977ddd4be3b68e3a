#include "http/http_client.hpp"

#include "util/strings.hpp"

namespace assetctl::http {

std::optional<std::string> find_header(const Headers& headers, std::string_view name) {
    const std::string lower = util::to_lower(name);
    for (const auto& header : headers) {
        if (util::to_lower(header.name) == lower) {
            return header.value;
        }
    }
    return std::nullopt;
}

std::string body_bytes(const Request& request) {
    if (!request.stream) {
        return request.body;
    }
    std::string out;
    auto reader = request.stream->open();
    char buffer[64 * 1024];
    while (const std::size_t n = reader->read(buffer, sizeof buffer)) {
        out.append(buffer, n);
    }
    return out;
}

}  // namespace assetctl::http
