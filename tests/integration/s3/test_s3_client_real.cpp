// S3Client and upload_file against the local endpoint's S3 (run through
// run_with_s3_endpoint.py): every request is verified there with botocore's S3 signer; the aws
// CLI reads the objects back.
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "aws/aws_error.hpp"
#include "aws/s3_client.hpp"
#include "aws/s3_upload.hpp"
#include "catch_session.hpp"
#include "crypto/crypto.hpp"
#include "http/http_client.hpp"
#include "http/retry.hpp"
#include "process/process_runner.hpp"
#include "support/temp_dir.hpp"
#include "util/clock.hpp"
#include "util/environment.hpp"
#include "util/sleeper.hpp"

using namespace assetctl;
using nlohmann::json;

namespace {

constexpr std::uint64_t k_mib = 1 << 20;
constexpr std::size_t k_default_jobs_for_bench = aws::k_default_part_jobs;

std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
}

std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string pattern(std::size_t size, char seed) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        out[i] = static_cast<char>(seed + static_cast<char>((i * 31 + i / 4096) % 61));
    }
    return out;
}

struct World {
    std::unique_ptr<http::HttpClient> http = http::make_curl_client({});
    util::SystemClock clock;
    util::ThreadSleeper sleeper;
    // Short waits: the retries are real, the backoff is not the point here.
    aws::AwsRuntime runtime{
        *http, clock, sleeper,
        http::RetryPolicy{3, std::chrono::milliseconds(5), std::chrono::milliseconds(20)},
        [] { return 1.0; }};
    aws::S3Client s3{runtime, aws::endpoint_settings_from(util::SystemEnvironment())};
    aws::AwsCredentials caller;
    std::unique_ptr<process::ProcessRunner> runner = process::make_system_runner();
    test::TempDir dir;

    World() {
        caller.keys = {env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), std::nullopt};
        caller.source = "environment";
    }

    aws::BucketRef bucket(const std::string& name, const std::string& region = "us-east-1") const {
        return {region, name, env("ASSETCTL_TEST_S3_ACCOUNT")};
    }

    void control(const std::string& method, const std::string& path, const json& body) {
        http::Request request;
        request.method = method;
        request.url = env("ASSETCTL_TEST_S3_ENDPOINT") + path;
        request.headers = {{"Content-Type", "application/json"}};
        request.body = body.is_null() ? "" : body.dump();
        REQUIRE(http->send(request).status / 100 == 2);
    }
    // The endpoint's log lines of `operation` on `key`.
    std::vector<json> log_of(const std::string& operation, const std::string& key) {
        http::Request request;
        request.url = env("ASSETCTL_TEST_S3_ENDPOINT") + "/__control/log";
        const auto response = http->send(request);
        REQUIRE(response.status == 200);
        std::vector<json> out;
        std::istringstream lines(response.body);  // JSON lines
        for (std::string text; std::getline(lines, text);) {
            const auto line = json::parse(text, nullptr, false);
            if (line.is_object() && line.value("service", "") == "s3" &&
                line.value("operation", "") == operation && line.value("key", "") == key) {
                out.push_back(line);
            }
        }
        return out;
    }

    process::Result aws_cli(std::vector<std::string> arguments) {
        std::vector<std::string> argv{
            env("ASSETCTL_TEST_S3_AWS_CLI"),  "s3api",    "--endpoint-url",
            env("ASSETCTL_TEST_S3_ENDPOINT"), "--output", "json"};
        argv.insert(argv.end(), arguments.begin(), arguments.end());
        process::Command command;
        command.argv = std::move(argv);
        command.timeout = std::chrono::seconds(60);
        return runner->run(command);
    }
    // The object's bytes as the aws CLI downloads them.
    std::string object_bytes(const std::string& bucket, const std::string& key) {
        const auto out = dir.path() / "downloaded";
        const auto result = aws_cli({"get-object", "--bucket", bucket, "--key", key, out.string()});
        INFO(result.err);
        REQUIRE(result.ok());
        return read_bytes(out);
    }
    json head(const std::string& bucket, const std::string& key) {
        const auto result = aws_cli({"head-object", "--bucket", bucket, "--key", key});
        return result.ok() ? json::parse(result.out) : json();
    }
    bool uploads_left(const std::string& bucket) {
        const auto result = aws_cli({"list-multipart-uploads", "--bucket", bucket});
        INFO(result.err);
        REQUIRE(result.ok());
        if (result.out.find_first_not_of(" \n") == std::string::npos) {
            return false;
        }
        const auto listing = json::parse(result.out);
        return listing.contains("Uploads") && !listing["Uploads"].empty();
    }
};

aws::UploadSettings five_mib_parts(std::size_t jobs) {
    aws::UploadSettings settings;
    settings.multipart_threshold = 5 * k_mib;
    settings.part_size = 5 * k_mib;  // S3's smallest part
    settings.part_jobs = jobs;
    return settings;
}

}  // namespace

TEST_CASE("bucket location and encryption as the endpoint's buckets are configured") {
    World w;
    const auto bootstrap = env("ASSETCTL_TEST_S3_BOOTSTRAP_BUCKET");
    CHECK(w.s3.get_bucket_location(w.caller, w.bucket(bootstrap)) == "us-east-1");
    CHECK(w.s3.get_bucket_location(w.caller, w.bucket("assetctl-it-eu", "eu-west-1")) ==
          "eu-west-1");
    using Kind = aws::BucketEncryption::Kind;
    CHECK(w.s3.get_bucket_encryption(w.caller, w.bucket(bootstrap)).kind == Kind::kms);
    CHECK(w.s3.get_bucket_encryption(w.caller, w.bucket("assetctl-it-aes")).kind == Kind::aes256);
    CHECK(w.s3.get_bucket_encryption(w.caller, w.bucket("assetctl-it-plain")).kind == Kind::none);
    CHECK(w.s3.get_bucket_encryption(w.caller, w.bucket("assetctl-it-hidden")).kind ==
          Kind::access_denied);
    const auto kms = w.s3.get_bucket_encryption(w.caller, w.bucket("assetctl-it-kms"));
    CHECK(kms.kind == Kind::kms);
    CHECK(kms.kms_key_id == "arn:aws:kms:us-east-1:111111111111:key/k-it");
}

TEST_CASE("a bucket of another account is refused: 403 AccessDenied") {
    World w;
    try {
        w.s3.get_bucket_location(w.caller, w.bucket("assetctl-it-foreign"));
        FAIL("no error");
    } catch (const aws::AwsError& e) {
        CHECK(e.status() == 403);
        CHECK(e.code() == "AccessDenied");
    }
}

TEST_CASE("PutObject of a key that needs encoding, found by ListObjectsV2, read back by the CLI") {
    World w;
    const std::string key = "assets/a b/c+d=\xc3\xa9.json";
    const auto bucket = w.bucket("assetctl-it-plain");
    CHECK_FALSE(w.s3.find_object(w.caller, bucket, key).has_value());
    const auto bytes = pattern(1000, 'A');
    const auto file = w.dir.write("small.json", bytes);
    const auto result =
        aws::upload_file(w.s3, w.caller, bucket, {key, "application/json", {}}, file);
    CHECK_FALSE(result.multipart);
    const auto found = w.s3.find_object(w.caller, bucket, key);
    REQUIRE(found.has_value());
    CHECK(found->size == 1000);
    // A prefix of the key is not the object.
    CHECK_FALSE(w.s3.find_object(w.caller, bucket, "assets/a b/c").has_value());
    CHECK(w.object_bytes("assetctl-it-plain", key) == bytes);
    CHECK(w.head("assetctl-it-plain", key).value("ContentType", "") == "application/json");
}

TEST_CASE("a multipart upload with parts in parallel, KMS mirrored, read back whole") {
    World w;
    const auto bucket = w.bucket("assetctl-it-kms");
    const auto encryption = w.s3.get_bucket_encryption(w.caller, bucket);
    const std::string key = "big/asset.zip";
    const auto bytes = pattern(12 * k_mib + 3, 'a');
    const auto file = w.dir.write("big.zip", bytes);
    const auto result = aws::upload_file(
        w.s3, w.caller, bucket, {key, "application/zip", encryption}, file, five_mib_parts(3));
    CHECK(result.multipart);
    CHECK(result.parts == 3);
    CHECK(w.object_bytes("assetctl-it-kms", key) == bytes);
    const auto head = w.head("assetctl-it-kms", key);
    CHECK(head.value("ServerSideEncryption", "") == "aws:kms");
    CHECK(head.value("SSEKMSKeyId", "") == encryption.kms_key_id);
    CHECK_FALSE(w.uploads_left("assetctl-it-kms"));
}

TEST_CASE("a failing part aborts the multipart upload: no object, no unfinished upload") {
    World w;
    const auto bucket = w.bucket("assetctl-it-aes");
    const std::string key = "broken/asset.zip";
    const auto file = w.dir.write("big.zip", pattern(11 * k_mib, 'k'));
    w.control("POST", "/__control/inject",
              {{"service", "s3"},
               {"op", "UploadPart"},
               {"status", 400},
               {"code", "InvalidRequest"},
               {"count", 1}});
    CHECK_THROWS_AS(aws::upload_file(w.s3, w.caller, bucket, {key, "application/zip", {}}, file,
                                     five_mib_parts(1)),
                    aws::AwsError);
    w.control("DELETE", "/__control/inject", nullptr);
    CHECK(w.log_of("AbortMultipartUpload", key).size() == 1);
    CHECK(w.log_of("CompleteMultipartUpload", key).empty());
    CHECK_FALSE(w.uploads_left("assetctl-it-aes"));
    CHECK(w.head("assetctl-it-aes", key).is_null());
}

TEST_CASE("a throttled PutObject is retried and lands") {
    World w;
    const auto bucket = w.bucket("assetctl-it-aes");
    w.control("DELETE", "/__control/log", nullptr);
    w.control("POST", "/__control/inject",
              {{"service", "s3"},
               {"op", "PutObject"},
               {"status", 503},
               {"code", "SlowDown"},
               {"count", 2}});
    const auto bytes = pattern(4096, '0');
    const auto file = w.dir.write("t.bin", bytes);
    aws::upload_file(
        w.s3, w.caller, bucket,
        {"throttled.bin", "application/octet-stream", {aws::BucketEncryption::Kind::aes256, ""}},
        file);
    CHECK(w.log_of("PutObject", "throttled.bin").size() == 3);
    CHECK(w.object_bytes("assetctl-it-aes", "throttled.bin") == bytes);
}

// Not a test: the measurement behind k_default_multipart_threshold and k_default_part_size
// (bench/README.md, "S3 multipart threshold"). Run it with the tag:
//   run_with_s3_endpoint.py --support-dir tests/support -- s3_client_test "[bench]"
// One JSON line per (size, mode): the median wall time of three uploads.
TEST_CASE("bench: PutObject against multipart uploads by size and part size", "[.][bench]") {
    World w;
    const auto bucket = w.bucket("assetctl-it-plain");
    // ASSETCTL_TEST_S3_BENCH_DELAY_MS: every S3 request is held that long first (a round trip
    // to a real region).
    if (const auto delay = env("ASSETCTL_TEST_S3_BENCH_DELAY_MS"); !delay.empty()) {
        w.control("POST", "/__control/inject",
                  {{"service", "s3"},
                   {"op", "*"},
                   {"status", nullptr},
                   {"delay_ms", std::stoi(delay)},
                   {"count", 100000}});
    }
    const std::vector<std::uint64_t> sizes{4 * k_mib,  8 * k_mib,  16 * k_mib,
                                           32 * k_mib, 64 * k_mib, 128 * k_mib};
    const std::vector<std::uint64_t> part_sizes{0, 5 * k_mib, 8 * k_mib, 16 * k_mib};
    for (const auto size : sizes) {
        const auto file = w.dir.write("bench.bin", pattern(size, 'b'));
        for (const auto part_size : part_sizes) {
            if (part_size >= size) {
                continue;
            }
            auto settings = five_mib_parts(k_default_jobs_for_bench);
            settings.part_size = part_size == 0 ? size : part_size;
            settings.multipart_threshold = part_size == 0 ? size + 1 : 1;
            std::vector<double> seconds;
            for (int run = 0; run < 3; ++run) {
                const auto start = std::chrono::steady_clock::now();
                aws::upload_file(w.s3, w.caller, bucket,
                                 {"bench.bin", "application/octet-stream", {}}, file, settings);
                seconds.push_back(
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                        .count());
            }
            std::sort(seconds.begin(), seconds.end());
            std::cout << json{{"mib", size / k_mib},
                              {"mode", part_size == 0 ? "put" : "multipart"},
                              {"part_mib", part_size / k_mib},
                              {"seconds", seconds[1]}}
                             .dump()
                      << std::endl;
        }
    }
}

int main(int argc, char* argv[]) {
    if (env("ASSETCTL_TEST_S3_ENDPOINT").empty()) {
        std::cerr << "s3_client_test: skipped: run it through run_with_s3_endpoint.py, which "
                     "starts the endpoint and sets ASSETCTL_TEST_S3_*\n";
        return assetctl::test::k_skipped_exit_code;
    }
    return assetctl::test::run_catch_session(argc, argv);
}
