#include "crypto/crypto.hpp"

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <limits>
#include <stdexcept>
#include <system_error>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/fd.hpp"
#include "util/files.hpp"

namespace assetctl::crypto {

namespace {

constexpr std::size_t k_sha256_size = 32;

const unsigned char* bytes_of(std::string_view text) {
    return reinterpret_cast<const unsigned char*>(text.data());
}

std::string to_string(const std::array<unsigned char, EVP_MAX_MD_SIZE>& buffer, unsigned length) {
    if (length != k_sha256_size) {
        throw std::runtime_error("OpenSSL returned a SHA-256 digest of unexpected length");
    }
    return std::string(reinterpret_cast<const char*>(buffer.data()), length);
}

}  // namespace

std::string sha256(std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned length = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("OpenSSL EVP_Digest(SHA-256) failed");
    }
    return to_string(digest, length);
}

std::string sha256_hex(std::string_view data) {
    return hex_encode(sha256(data));
}

void Sha256::Free::operator()(evp_md_ctx_st* context) const noexcept {
    EVP_MD_CTX_free(context);
}

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("OpenSSL EVP_DigestInit_ex(SHA-256) failed");
    }
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) {
    if (finished_ || !context_) {
        throw std::logic_error("Sha256::update after the digest was taken (or after a move)");
    }
    if (!data.empty() && EVP_DigestUpdate(context_.get(), data.data(), data.size()) != 1) {
        throw std::runtime_error("OpenSSL EVP_DigestUpdate(SHA-256) failed");
    }
}

std::string Sha256::digest() {
    if (finished_ || !context_) {
        throw std::logic_error("Sha256 digest taken twice (or after a move)");
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> buffer{};
    unsigned length = 0;
    if (EVP_DigestFinal_ex(context_.get(), buffer.data(), &length) != 1) {
        throw std::runtime_error("OpenSSL EVP_DigestFinal_ex(SHA-256) failed");
    }
    finished_ = true;
    return to_string(buffer, length);
}

std::string Sha256::hex_digest() {
    return hex_encode(digest());
}

std::string sha256_hex_of_file(const std::filesystem::path& file, std::uint64_t offset,
                               std::optional<std::uint64_t> size) {
    const util::Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        throw util::FileError("cannot read " + file.string() + ": " + util::errno_message(errno));
    }
    constexpr std::size_t k_piece = std::size_t{1} << 20;
    std::string buffer(k_piece, '\0');
    Sha256 hash;
    std::uint64_t done = 0;
    while (!size || done < *size) {
        const auto wanted = size ? std::min<std::uint64_t>(k_piece, *size - done) : k_piece;
        std::size_t got = 0;
        try {
            got = util::read_at(fd.get(), buffer.data(), static_cast<std::size_t>(wanted),
                                offset + done);
        } catch (const std::system_error& e) {
            throw util::FileError("cannot read " + file.string() + ": " + e.code().message());
        }
        if (got == 0) {
            if (size) {
                throw util::FileError("cannot read " + file.string() + ": it ends at byte " +
                                      std::to_string(offset + done) + ", before the " +
                                      std::to_string(*size) + " bytes from " +
                                      std::to_string(offset));
            }
            break;
        }
        hash.update(std::string_view(buffer.data(), got));
        done += got;
    }
    return hash.hex_digest();
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    if (key.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        throw std::runtime_error("HMAC key too long");
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned length = 0;
    // An empty key is legal for HMAC, but OpenSSL wants a non-null pointer for it.
    static constexpr unsigned char k_no_key = 0;
    const unsigned char* key_bytes = key.empty() ? &k_no_key : bytes_of(key);
    if (HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()), bytes_of(data), data.size(),
             mac.data(), &length) == nullptr) {
        throw std::runtime_error("OpenSSL HMAC(SHA-256) failed");
    }
    return to_string(mac, length);
}

std::string hex_encode(std::string_view bytes) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        out += k_digits[byte >> 4U];
        out += k_digits[byte & 0x0FU];
    }
    return out;
}

void wipe(std::string& secret) noexcept {
    if (!secret.empty()) {
        OPENSSL_cleanse(secret.data(), secret.size());
    }
    secret.clear();
}

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0 ||
        text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        return std::nullopt;
    }
    std::string out(3 * (text.size() / 4), '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) {
        return std::nullopt;
    }
    // EVP_DecodeBlock counts padding as zero bytes; drop one per '='.
    std::size_t size = static_cast<std::size_t>(n);
    for (auto it = text.rbegin(); it != text.rend() && *it == '=' && size > 0; ++it) {
        --size;
    }
    out.resize(size);
    return out;
}

}  // namespace assetctl::crypto
