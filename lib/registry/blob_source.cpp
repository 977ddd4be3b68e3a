#include "registry/blob_source.hpp"

#include <stdexcept>

namespace assetctl::registry {

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

std::shared_ptr<const BlobSource> make_memory_blob(std::string bytes) {
    return std::make_shared<MemoryBlob>(std::move(bytes));
}

}  // namespace assetctl::registry
