#include "http/http_client.hpp"

#include <algorithm>
#include <cstring>

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

namespace {

class MemoryReader final : public BodyReader {
  public:
    explicit MemoryReader(std::string_view bytes) : bytes_(bytes) {}
    std::size_t read(char* buffer, std::size_t size) override {
        const std::size_t n = std::min(size, bytes_.size() - position_);
        std::memcpy(buffer, bytes_.data() + position_, n);
        position_ += n;
        return n;
    }

  private:
    std::string_view bytes_;
    std::size_t position_ = 0;
};

}  // namespace

std::unique_ptr<BodyReader> read_from_memory(std::string_view bytes) {
    return std::make_unique<MemoryReader>(bytes);
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
