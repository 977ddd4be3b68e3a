#include <catch2/catch.hpp>

#include "registry/blob_source.hpp"
#include "support/temp_dir.hpp"

using namespace assetctl;

TEST_CASE("a file blob streams its byte range, again from the start on every open") {
    test::TempDir dir;
    std::string content;
    for (int i = 0; i < 300'000; ++i) {
        content.push_back(static_cast<char>('a' + i % 26));
    }
    const auto file = dir.write("data.bin", content);
    const auto digest = registry::Digest::sha256_of(content.substr(1000, 200'000));
    const registry::FileBlob blob(file, 1000, 200'000, digest);

    CHECK(blob.size() == 200'000);
    CHECK(blob.digest() == digest);
    CHECK(blob.read_all() == content.substr(1000, 200'000));
    auto reader = blob.open();
    char buffer[10];
    REQUIRE(reader->read(buffer, sizeof buffer) == 10);
    CHECK(std::string(buffer, 10) == content.substr(1000, 10));
    CHECK(blob.read_all() == content.substr(1000, 200'000));  // independent readers
}

TEST_CASE("a file blob whose file is shorter than its range fails the read") {
    test::TempDir dir;
    const auto file = dir.write("short.bin", std::string(100, 'x'));
    const registry::FileBlob blob(file, 50, 100, registry::Digest::sha256_of("x"));
    CHECK_THROWS_WITH(blob.read_all(), Catch::Contains("ends 50 bytes before"));
}

TEST_CASE("a file blob of a missing file fails when opened, naming the file") {
    const registry::FileBlob blob("/nonexistent/layer.tar", 0, 1, registry::Digest::sha256_of(""));
    CHECK_THROWS_WITH(blob.open(), Catch::Contains("/nonexistent/layer.tar"));
}

TEST_CASE("a memory blob streams its bytes") {
    const registry::MemoryBlob blob("hello world");
    CHECK(blob.read_all() == "hello world");
    CHECK(blob.digest() == registry::Digest::sha256_of("hello world"));
}
