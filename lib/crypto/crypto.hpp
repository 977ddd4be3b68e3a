#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace assetctl::crypto {

// Thin wrappers over OpenSSL (libcrypto). Byte strings are carried in std::string; the raw
// digests below are 32 bytes and not printable. All functions throw std::runtime_error if
// OpenSSL reports a failure (which only happens when the library itself is broken).

// SHA-256 of `data`, raw (32 bytes).
std::string sha256(std::string_view data);

// SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

// Incremental SHA-256, for data hashed piece by piece (a layer streamed through a compressor).
// The result equals sha256() of the concatenation of every update(). digest()/hex_digest()
// finish the hash; calling update() or a digest function after that throws std::logic_error.
// Movable, not copyable; not for concurrent use.
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(std::string_view data);
    // Raw (32 bytes).
    std::string digest();
    // 64 lowercase hex digits.
    std::string hex_digest();

  private:
    struct Free {
        void operator()(evp_md_ctx_st* context) const noexcept;
    };
    std::unique_ptr<evp_md_ctx_st, Free> context_;
    bool finished_ = false;
};

// SHA-256 (64 lowercase hex digits) of `size` bytes of `file` from `offset` (all of it from
// there when `size` is nullopt), read with pread() in 1 MiB pieces (never the whole range in
// memory; several readers of one file at once are fine). Throws util::FileError naming the file
// when it cannot be opened or read, or ends before the range does.
std::string sha256_hex_of_file(const std::filesystem::path& file, std::uint64_t offset = 0,
                               std::optional<std::uint64_t> size = std::nullopt);

// HMAC-SHA256 of `data` under `key`, raw (32 bytes).
std::string hmac_sha256(std::string_view key, std::string_view data);

// Lowercase hex of arbitrary bytes.
std::string hex_encode(std::string_view bytes);

// Standard base64 (with padding), via OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock.
std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not valid padded base64.
std::optional<std::string> base64_decode(std::string_view text);

// Overwrites the buffer with zeros in a way the optimiser may not drop (OPENSSL_cleanse),
// for copies of secret material that are about to be destroyed.
void wipe(std::string& secret) noexcept;

}  // namespace assetctl::crypto
