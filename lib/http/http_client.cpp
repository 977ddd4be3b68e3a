#include "http/http_client.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <system_error>

#include "util/fd.hpp"
#include "util/files.hpp"
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

class FileReader final : public BodyReader {
  public:
    FileReader(const std::filesystem::path& file, std::uint64_t offset, std::uint64_t size)
        : file_(file),
          fd_(::open(file.c_str(), O_RDONLY | O_CLOEXEC)),
          position_(offset),
          remaining_(size) {
        if (!fd_) {
            throw std::system_error(errno, std::generic_category(), "cannot open " + file.string());
        }
    }

    std::size_t read(char* buffer, std::size_t size) override {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(size, remaining_));
        if (want == 0) {
            return 0;
        }
        std::size_t got = 0;
        try {
            got = util::read_at(fd_.get(), buffer, want, position_);
        } catch (const std::system_error& e) {
            throw std::system_error(e.code(), "cannot read " + file_.string());
        }
        if (got == 0) {
            throw std::runtime_error(file_.string() + " ends " + std::to_string(remaining_) +
                                     " bytes before the range it should hold");
        }
        position_ += got;
        remaining_ -= got;
        return got;
    }

  private:
    std::filesystem::path file_;
    util::Fd fd_;
    std::uint64_t position_;
    std::uint64_t remaining_;
};

}  // namespace

std::unique_ptr<BodyReader> read_from_memory(std::string_view bytes) {
    return std::make_unique<MemoryReader>(bytes);
}

std::unique_ptr<BodyReader> read_from_file(const std::filesystem::path& file, std::uint64_t offset,
                                           std::uint64_t size) {
    return std::make_unique<FileReader>(file, offset, size);
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
