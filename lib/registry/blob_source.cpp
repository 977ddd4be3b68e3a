#include "registry/blob_source.hpp"

#include <stdexcept>

namespace assetctl::registry {

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
    return http::read_from_file(file_, offset_, size_);
}

}  // namespace assetctl::registry
