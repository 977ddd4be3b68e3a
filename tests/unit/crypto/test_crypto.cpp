#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <catch2/catch.hpp>

#include "crypto/crypto.hpp"

using namespace assetctl::crypto;

TEST_CASE("crypto: SHA-256 of known inputs", "[crypto]") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256("abc").size() == 32);
    // Binary input with embedded NULs is hashed in full.
    CHECK(sha256_hex(std::string("\0a", 2)) != sha256_hex("a"));
}

TEST_CASE("crypto: HMAC-SHA256 matches RFC 4231", "[crypto]") {
    // Test case 1: 20-byte key.
    CHECK(hex_encode(hmac_sha256(std::string(20, '\x0b'), "Hi There")) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    // Test case 2: key shorter than the block.
    CHECK(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // Test case 6: key longer than the block is hashed first.
    CHECK(hex_encode(hmac_sha256(std::string(131, '\xaa'),
                                 "Test Using Larger Than Block-Size Key - Hash Key First")) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    // An empty key and message are legal.
    CHECK(hex_encode(hmac_sha256("", "")) ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("crypto: hex_encode is lowercase and byte-exact", "[crypto]") {
    CHECK(hex_encode("") == "");
    CHECK(hex_encode(std::string("\x00\xff\x10\xab", 4)) == "00ff10ab");
}

TEST_CASE("crypto: wipe empties the buffer", "[crypto]") {
    std::string secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    wipe(secret);
    CHECK(secret.empty());
    std::string empty;
    wipe(empty);
    CHECK(empty.empty());
}

TEST_CASE("crypto: incremental Sha256 equals the one-shot hash of the whole", "[crypto]") {
    // FIPS 180-2 test vector: "abc" fed in pieces, including empty ones.
    Sha256 pieces;
    pieces.update("a");
    pieces.update("");
    pieces.update("bc");
    CHECK(pieces.hex_digest() ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    // Nothing fed: the hash of the empty string.
    Sha256 nothing;
    CHECK(nothing.hex_digest() ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    // A megabyte of binary data (embedded NULs, every byte value) in uneven pieces.
    std::string data;
    for (std::size_t i = 0; i < 1024 * 1024 + 17; ++i) {
        data += static_cast<char>((i * 131U + i / 7U) & 0xFFU);
    }
    Sha256 uneven;
    std::size_t at = 0;
    for (std::size_t step = 1; at < data.size(); step = step * 3 + 1) {
        const std::size_t n = std::min(step, data.size() - at);
        uneven.update(std::string_view(data).substr(at, n));
        at += n;
    }
    const std::string raw = uneven.digest();
    CHECK(raw.size() == 32);
    CHECK(raw == sha256(data));
}

TEST_CASE("crypto: Sha256 refuses use after the digest was taken", "[crypto]") {
    Sha256 hash;
    hash.update("x");
    const std::string first = hash.hex_digest();
    CHECK(first == sha256_hex("x"));
    CHECK_THROWS_AS(hash.update("y"), std::logic_error);
    CHECK_THROWS_AS(hash.digest(), std::logic_error);

    // A moved-to object carries the state on; the moved-from one refuses.
    Sha256 source;
    source.update("ab");
    Sha256 target(std::move(source));
    target.update("c");
    CHECK(target.hex_digest() == sha256_hex("abc"));
    CHECK_THROWS_AS(source.update("c"), std::logic_error);  // NOLINT(bugprone-use-after-move)
}
