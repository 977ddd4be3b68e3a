#include <string>

#include <catch2/catch.hpp>

#include "aws/crypto.hpp"

using namespace assetctl::aws;

TEST_CASE("sigv4 crypto: SHA-256 of known inputs", "[aws][crypto]") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256("abc").size() == 32);
    // Binary input with embedded NULs is hashed in full.
    CHECK(sha256_hex(std::string("\0a", 2)) != sha256_hex("a"));
}

TEST_CASE("sigv4 crypto: HMAC-SHA256 matches RFC 4231", "[aws][crypto]") {
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

TEST_CASE("sigv4 crypto: hex_encode is lowercase and byte-exact", "[aws][crypto]") {
    CHECK(hex_encode("") == "");
    CHECK(hex_encode(std::string("\x00\xff\x10\xab", 4)) == "00ff10ab");
}

TEST_CASE("sigv4 crypto: wipe empties the buffer", "[aws][crypto]") {
    std::string secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    wipe(secret);
    CHECK(secret.empty());
    std::string empty;
    wipe(empty);
    CHECK(empty.empty());
}
