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

}  // namespace assetctl::http
