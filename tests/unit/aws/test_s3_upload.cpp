// upload_file against FakeS3: PutObject or a multipart upload, the parts' ranges and hashes,
// the 10,000-part limit, and the abort on every failure and on a stop.
#include <atomic>

#include <catch2/catch.hpp>

#include "aws/s3_upload.hpp"
#include "crypto/crypto.hpp"
#include "support/fake_s3.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

using namespace assetctl;

namespace {

struct Harness {
    test::FakeS3 s3;
    test::TempDir dir;
    aws::AwsCredentials caller;
    aws::BucketRef bucket{"eu-west-1", "assets", "123456789012"};
    aws::ObjectWrite write{"asset.zip", "application/zip", {}};

    Harness() {
        caller.keys = {"AKID", "secret", std::nullopt};
        s3.add_bucket("assets", "eu-west-1", "123456789012");
    }
};

// Bytes that differ at every position, so a part with a wrong offset shows.
std::string pattern(std::size_t size) {
    std::string out;
    out.reserve(size);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(static_cast<char>('a' + (i * 7 + i / 26) % 26));
    }
    return out;
}

aws::UploadSettings small_parts(std::uint64_t threshold, std::uint64_t part_size,
                                std::size_t jobs = 1) {
    aws::UploadSettings settings;
    settings.multipart_threshold = threshold;
    settings.part_size = part_size;
    settings.part_jobs = jobs;
    settings.stopping = [] { return false; };
    return settings;
}

}  // namespace

TEST_CASE("a file below the threshold is one PutObject of the whole file") {
    Harness h;
    const auto bytes = pattern(100);
    const auto file = h.dir.write("small.zip", bytes);
    const auto result =
        aws::upload_file(h.s3, h.caller, h.bucket, h.write, file, small_parts(101, 10));
    CHECK_FALSE(result.multipart);
    CHECK(result.parts == 0);
    CHECK(result.bytes == 100);
    CHECK(h.s3.call_lines() == std::vector<std::string>{"PutObject assets/asset.zip"});
    const auto put = h.s3.calls_of("PutObject").at(0);
    REQUIRE(put.body.has_value());
    CHECK(put.body->offset == 0);
    CHECK(put.body->size == 100);
    CHECK(put.body->sha256_hex == crypto::sha256_hex(bytes));
    REQUIRE(put.write.has_value());
    CHECK(put.write->content_type == "application/zip");
    const auto object = h.s3.object("assets", "asset.zip");
    REQUIRE(object.has_value());
    CHECK(object->bytes == bytes);
    CHECK_FALSE(object->multipart);
}

TEST_CASE("the default threshold and part size are those of s3_upload.hpp") {
    const aws::UploadSettings defaults;
    CHECK(defaults.multipart_threshold == aws::k_default_multipart_threshold);
    CHECK(defaults.part_size == aws::k_default_part_size);
    CHECK(defaults.part_jobs == aws::k_default_part_jobs);
    // S3 refuses parts under 5 MiB (but the last).
    CHECK(aws::k_default_part_size >= (5u << 20));
}

TEST_CASE("a file at the threshold goes up in parts with the right ranges and hashes") {
    Harness h;
    const auto bytes = pattern(10);
    const auto file = h.dir.write("big.zip", bytes);
    h.write.encryption = {aws::BucketEncryption::Kind::kms, "key-1"};
    const auto result =
        aws::upload_file(h.s3, h.caller, h.bucket, h.write, file, small_parts(10, 4));
    CHECK(result.multipart);
    CHECK(result.parts == 3);
    CHECK(result.bytes == 10);
    CHECK(h.s3.call_lines() == std::vector<std::string>{
                                   "CreateMultipartUpload assets/asset.zip",
                                   "UploadPart assets/asset.zip #1",
                                   "UploadPart assets/asset.zip #2",
                                   "UploadPart assets/asset.zip #3",
                                   "CompleteMultipartUpload assets/asset.zip",
                               });
    const auto parts = h.s3.calls_of("UploadPart");
    const std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges{{0, 4}, {4, 4}, {8, 2}};
    for (std::size_t i = 0; i < parts.size(); ++i) {
        INFO("part " << i + 1);
        const auto& body = parts[i].body.value();
        CHECK(body.offset == ranges[i].first);
        CHECK(body.size == ranges[i].second);
        CHECK(body.sha256_hex == crypto::sha256_hex(bytes.substr(body.offset, body.size)));
        CHECK(parts[i].upload_id == "upload-1");
    }
    const auto complete = h.s3.calls_of("CompleteMultipartUpload").at(0);
    REQUIRE(complete.parts.size() == 3);
    CHECK(complete.parts[2].number == 3);
    CHECK(complete.parts[2].checksum_sha256 ==
          crypto::base64_encode(crypto::sha256(bytes.substr(8))));
    const auto object = h.s3.object("assets", "asset.zip");
    REQUIRE(object.has_value());
    CHECK(object->bytes == bytes);
    CHECK(object->multipart);
    CHECK(object->encryption.kms_key_id == "key-1");
    CHECK(h.s3.uploads_in_progress().empty());
}

TEST_CASE("parts in flight at once still complete in number order with the file's bytes") {
    Harness h;
    const auto bytes = pattern(1000);
    const auto file = h.dir.write("big.zip", bytes);
    const auto result =
        aws::upload_file(h.s3, h.caller, h.bucket, h.write, file, small_parts(1, 7, 4));
    CHECK(result.parts == 143);
    const auto complete = h.s3.calls_of("CompleteMultipartUpload").at(0);
    for (std::size_t i = 0; i < complete.parts.size(); ++i) {
        REQUIRE(complete.parts[i].number == static_cast<int>(i + 1));
    }
    CHECK(h.s3.object("assets", "asset.zip").value().bytes == bytes);
}

TEST_CASE("the part size grows so that no upload needs more than 10,000 parts") {
    Harness h;
    const auto file = h.dir.write("many.bin", pattern(20'001));
    const auto result =
        aws::upload_file(h.s3, h.caller, h.bucket, h.write, file, small_parts(1, 1, 2));
    // ceil(20,001 / 10,000) = 3 bytes a part.
    CHECK(result.parts == 6'667);
    CHECK(h.s3.count("UploadPart") == 6'667);
    for (const auto& part : h.s3.calls_of("UploadPart")) {
        REQUIRE(part.body->size <= 3);
    }
    CHECK(h.s3.object("assets", "asset.zip").value().bytes.size() == 20'001);
}

TEST_CASE("a failing part aborts the upload: no Complete, nothing left in progress") {
    Harness h;
    const auto file = h.dir.write("big.zip", pattern(20));
    h.s3.fail_on("UploadPart", 2, test::FakeS3::error("UploadPart", 400, "InvalidArgument"));
    SECTION("the abort works") {}
    SECTION("the abort fails too: the part's error is the one thrown") {
        h.s3.fail_always("AbortMultipartUpload", test::FakeS3::internal_error("Abort"));
    }
    try {
        aws::upload_file(h.s3, h.caller, h.bucket, h.write, file, small_parts(1, 5));
        FAIL("no error");
    } catch (const aws::AwsError& e) {
        CHECK(e.code() == "InvalidArgument");
    }
    CHECK(h.s3.count("AbortMultipartUpload") == 1);
    CHECK(h.s3.count("CompleteMultipartUpload") == 0);
    // One part at a time: none starts after the failure.
    CHECK(h.s3.count("UploadPart") == 2);
    CHECK_FALSE(h.s3.object("assets", "asset.zip").has_value());
}

TEST_CASE("with the abort working, the failed upload leaves nothing in progress") {
    Harness h;
    const auto file = h.dir.write("big.zip", pattern(20));
    h.s3.fail_on("UploadPart", 3, test::FakeS3::slow_down("UploadPart"));
    CHECK_THROWS_AS(aws::upload_file(h.s3, h.caller, h.bucket, h.write, file, small_parts(1, 5, 3)),
                    aws::AwsError);
    CHECK(h.s3.uploads_in_progress().empty());
    CHECK(h.s3.count("AbortMultipartUpload") == 1);
}

TEST_CASE("a failing Complete aborts the upload") {
    Harness h;
    const auto file = h.dir.write("big.zip", pattern(20));
    h.s3.fail_on("CompleteMultipartUpload", 1,
                 test::FakeS3::error("CompleteMultipartUpload", 400, "InvalidPart"));
    CHECK_THROWS_AS(aws::upload_file(h.s3, h.caller, h.bucket, h.write, file, small_parts(1, 5)),
                    aws::AwsError);
    CHECK(h.s3.count("AbortMultipartUpload") == 1);
    CHECK(h.s3.uploads_in_progress().empty());
}

TEST_CASE("a failing CreateMultipartUpload has nothing to abort") {
    Harness h;
    const auto file = h.dir.write("big.zip", pattern(20));
    h.s3.fail_on("CreateMultipartUpload", 1, test::FakeS3::access_denied("Create"));
    CHECK_THROWS_AS(aws::upload_file(h.s3, h.caller, h.bucket, h.write, file, small_parts(1, 5)),
                    aws::AwsError);
    CHECK(h.s3.count("AbortMultipartUpload") == 0);
    CHECK(h.s3.count("UploadPart") == 0);
}

TEST_CASE("stopping during the parts aborts the upload and throws Interrupted") {
    Harness h;
    const auto file = h.dir.write("big.zip", pattern(50));
    std::atomic<bool> stop{false};
    h.s3.before_call = [&](const test::FakeS3::Call& call) {
        if (call.operation == "UploadPart" && call.part_number == 2) {
            stop = true;
        }
    };
    auto settings = small_parts(1, 5);
    settings.stopping = [&] { return stop.load(); };
    CHECK_THROWS_AS(aws::upload_file(h.s3, h.caller, h.bucket, h.write, file, settings),
                    util::Interrupted);
    CHECK(h.s3.count("UploadPart") == 2);
    CHECK(h.s3.count("AbortMultipartUpload") == 1);
    CHECK(h.s3.count("CompleteMultipartUpload") == 0);
    CHECK(h.s3.uploads_in_progress().empty());
}

TEST_CASE("without a stopping function the process's interrupt flag is polled") {
    Harness h;
    const auto file = h.dir.write("big.zip", pattern(50));
    auto settings = small_parts(1, 5);
    settings.stopping = nullptr;
    h.s3.before_call = [](const test::FakeS3::Call& call) {
        if (call.operation == "UploadPart") {
            util::request_interrupt();
        }
    };
    CHECK_THROWS_AS(aws::upload_file(h.s3, h.caller, h.bucket, h.write, file, settings),
                    util::Interrupted);
    util::clear_interrupt_for_tests();
    CHECK(h.s3.count("UploadPart") == 1);
    CHECK(h.s3.count("AbortMultipartUpload") == 1);
}

TEST_CASE("a file that cannot be read is a Fatal error before any call") {
    Harness h;
    CHECK_THROWS_AS(aws::upload_file(h.s3, h.caller, h.bucket, h.write,
                                     h.dir.path() / "missing.zip", small_parts(1, 5)),
                    util::Fatal);
    CHECK(h.s3.calls().empty());
}

TEST_CASE("FakeS3 answers as S3 for a foreign owner, a missing bucket and another region") {
    Harness h;
    const auto file = h.dir.write("small.zip", "x");
    aws::BucketRef foreign = h.bucket;
    foreign.expected_owner = "999999999999";
    try {
        h.s3.get_bucket_location(h.caller, foreign);
        FAIL("no error");
    } catch (const aws::AwsError& e) {
        CHECK(e.status() == 403);
    }
    aws::BucketRef missing{"eu-west-1", "nope", std::nullopt};
    CHECK_THROWS_AS(h.s3.find_object(h.caller, missing, "k"), aws::AwsError);
    aws::BucketRef elsewhere = h.bucket;
    elsewhere.region = "us-east-1";
    CHECK(h.s3.get_bucket_location(h.caller, elsewhere) == "eu-west-1");
    CHECK_THROWS_AS(aws::upload_file(h.s3, h.caller, elsewhere, h.write, file), aws::AwsError);
}
