#include "registry/blob_source.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <system_error>

#include "util/fd.hpp"
#include "util/files.hpp"

namespace assetctl::registry {
namespace {

class FileReader final : public http::BodyReader {
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
                                     " bytes before the blob it should hold");
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

std::string BlobSource::read_all() const {
    http::Request request;
    request.stream = http::StreamedBody{size(), [this] { return open(); }};
    return http::body_bytes(request);
}

MemoryBlob::MemoryBlob(std::string bytes)
    : bytes_(std::move(bytes)), digest_(Digest::sha256_of(bytes_)) {}

MemoryBlob::MemoryBlob(std::string bytes, const Digest& expected) : MemoryBlob(std::move(bytes)) {
    if (expected.algorithm() != "sha256") {
        throw std::invalid_argument("in-memory blobs are addressed by sha256, not " +
                                    expected.algorithm());
    }
    if (digest_ != expected) {
        throw std::invalid_argument("blob bytes have digest " + digest_.str() + ", not " +
                                    expected.str());
    }
}

std::unique_ptr<http::BodyReader> MemoryBlob::open() const {
    return http::read_from_memory(bytes_);
}

std::shared_ptr<const BlobSource> make_memory_blob(std::string bytes) {
    return std::make_shared<MemoryBlob>(std::move(bytes));
}

FileBlob::FileBlob(std::filesystem::path file, std::uint64_t offset, std::uint64_t size,
                   Digest digest)
    : file_(std::move(file)), offset_(offset), size_(size), digest_(std::move(digest)) {}

std::unique_ptr<http::BodyReader> FileBlob::open() const {
    return std::make_unique<FileReader>(file_, offset_, size_);
}

}  // namespace assetctl::registry
