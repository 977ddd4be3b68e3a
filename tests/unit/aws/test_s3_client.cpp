// S3Client over a scripted HTTP client: addressing, signing (against signatures botocore
// computed: data/s3/make_signatures.py), each operation's request and answer, error mapping
// and retries.
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "aws/aws_error.hpp"
#include "aws/s3_client.hpp"
#include "crypto/crypto.hpp"
#include "support/fake_http.hpp"
#include "support/fake_sleeper.hpp"
#include "support/temp_dir.hpp"
#include "util/clock.hpp"

using namespace assetctl;
using namespace std::chrono;

namespace {

const auto k_now = sys_days(year(2026) / 11 / 27) + hours(10);
const std::string k_key = "a b/c+d=\xc3\xa9";  // "a b/c+d=é"
const std::string k_encoded_key = "a%20b/c%2Bd%3D%C3%A9";
const std::string k_virtual = "https://assets-bucket.s3.eu-west-1.amazonaws.com";
const std::string k_put_body = "hello, s3\n";
const std::string k_empty_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Harness {
    test::FakeHttpClient http;
    util::FixedClock clock{k_now};
    test::FakeSleeper sleeper;
    aws::AwsRuntime runtime{http, clock, sleeper, http::RetryPolicy{}, [] { return 0.5; }};
    aws::EndpointSettings endpoints;
    test::TempDir dir;

    aws::S3Client client() { return aws::S3Client(runtime, endpoints); }
    aws::FileSlice slice(const std::string& bytes) const {
        return {dir.write("body.bin", bytes), 0, bytes.size(), crypto::sha256_hex(bytes)};
    }
};

aws::AwsCredentials caller(bool with_token = false) {
    aws::AwsCredentials credentials;
    credentials.keys = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", std::nullopt};
    if (with_token) {
        credentials.keys.session_token = "session-token-example";
    }
    credentials.source = "test";
    return credentials;
}

aws::BucketRef bucket(std::string name = "assets-bucket", std::string region = "eu-west-1") {
    return {std::move(region), std::move(name), "123456789012"};
}

// The case of data/s3/signatures.json called `name`.
nlohmann::json botocore_case(const std::string& name) {
    std::ifstream in(std::string(ASSETCTL_S3_TESTDATA) + "/signatures.json");
    REQUIRE(in);
    for (const auto& entry : nlohmann::json::parse(in)) {
        if (entry.at("name") == name) {
            return entry;
        }
    }
    FAIL("no botocore case " << name);
    return {};
}

std::string sent_header(const test::FakeHttpClient& http, std::size_t index,
                        const std::string& name) {
    return http::find_header(http.received().at(index).headers, name).value_or("<missing>");
}

// Expects the request `index` to be the botocore case: same URL and method, same signature.
void check_signed_like_botocore(const test::FakeHttpClient& http, std::size_t index,
                                const std::string& name) {
    const auto expected = botocore_case(name);
    const auto sent = http.received().at(index);
    CHECK(sent.method == expected.at("method").get<std::string>());
    CHECK(sent.url == expected.at("url").get<std::string>());
    CHECK(sent_header(http, index, "x-amz-content-sha256") ==
          expected.at("content_sha256").get<std::string>());
    CHECK(sent_header(http, index, "Authorization") ==
          expected.at("authorization").get<std::string>());
}

const char* k_error_slow_down =
    "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
    "<RequestId>R1</RequestId></Error>";

}  // namespace

TEST_CASE("S3 requests are signed as botocore's S3 signer signs them") {
    Harness h;
    SECTION("ListObjectsV2, virtual-hosted, the key once-encoded in the query") {
        h.http.expect("GET", k_virtual + "/?list-type=2&prefix=a%20b%2Fc%2Bd%3D%C3%A9&max-keys=1")
            .respond(200, {}, "<ListBucketResult/>");
        CHECK_FALSE(h.client().find_object(caller(), bucket(), k_key).has_value());
        check_signed_like_botocore(h.http, 0, "ListObjectsV2 virtual-hosted");
    }
    SECTION("PutObject with KMS, a checksum and a session token; the body streamed") {
        h.http.expect("PUT", k_virtual + "/" + k_encoded_key).respond(200);
        aws::ObjectWrite write{
            k_key,
            "application/zip",
            {aws::BucketEncryption::Kind::kms, "arn:aws:kms:eu-west-1:123456789012:key/k1"}};
        h.client().put_object(caller(true), bucket(), write, h.slice(k_put_body));
        check_signed_like_botocore(h.http, 0, "PutObject with KMS and a session token");
        const auto sent = h.http.received().at(0);
        REQUIRE(sent.stream.has_value());
        CHECK(sent.stream->size == k_put_body.size());
        CHECK(http::body_bytes(sent) == k_put_body);
    }
    SECTION("UploadPart, path style on a custom endpoint, over http") {
        h.endpoints.s3_url = "http://127.0.0.1:9000";
        h.http
            .expect("PUT", "http://127.0.0.1:9000/assets.bucket/" + k_encoded_key +
                               "?partNumber=2&uploadId=abc%2F123%2Bx")
            .respond(200, {{"ETag", "\"e2\""}});
        aws::BucketRef ref{"us-east-1", "assets.bucket", std::nullopt};
        const auto part =
            h.client().upload_part(caller(), ref, k_key, "abc/123+x", 2, h.slice(k_put_body));
        check_signed_like_botocore(h.http, 0, "UploadPart path style on a custom endpoint");
        CHECK(sent_header(h.http, 0, "Host") == "127.0.0.1:9000");
        CHECK(part.number == 2);
        CHECK(part.etag == "\"e2\"");
        // S3 did not echo the checksum: the one sent is kept.
        CHECK(part.checksum_sha256 == crypto::base64_encode(crypto::sha256(k_put_body)));
    }
    SECTION("GetBucketLocation, path style for a name that is not a DNS label, in aws-cn") {
        h.http.expect("GET", "https://s3.cn-north-1.amazonaws.com.cn/Assets_Bucket?location")
            .respond(200, {},
                     "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                     "cn-north-1</LocationConstraint>");
        CHECK(h.client().get_bucket_location(caller(), bucket("Assets_Bucket", "cn-north-1")) ==
              "cn-north-1");
        check_signed_like_botocore(h.http, 0,
                                   "GetBucketLocation path style for a bucket that is not a DNS "
                                   "name");
    }
    SECTION("CompleteMultipartUpload and its XML") {
        h.http.expect("POST", k_virtual + "/" + k_encoded_key + "?uploadId=upload-1")
            .respond(200, {},
                     "<CompleteMultipartUploadResult><ETag>x</ETag>"
                     "</CompleteMultipartUploadResult>");
        aws::BucketRef ref{"eu-west-1", "assets-bucket", std::nullopt};
        h.client().complete_multipart_upload(caller(), ref, k_key, "upload-1",
                                             {{1, "\"etag-1\"", "Y2hlY2sx"}});
        check_signed_like_botocore(h.http, 0, "CompleteMultipartUpload");
        CHECK(h.http.received().at(0).body ==
              "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
              "<Part><PartNumber>1</PartNumber><ETag>&quot;etag-1&quot;</ETag>"
              "<ChecksumSHA256>Y2hlY2sx</ChecksumSHA256></Part></CompleteMultipartUpload>");
    }
    CHECK(h.http.all_used());
}

TEST_CASE("GetBucketLocation maps S3's legacy answers to regions") {
    Harness h;
    const auto ask = [&](const std::string& answer) {
        h.http.expect("GET", k_virtual + "/?location")
            .with_header("x-amz-expected-bucket-owner", "123456789012")
            .with_header("x-amz-content-sha256", k_empty_sha256)
            .respond(200, {}, answer);
        return h.client().get_bucket_location(caller(), bucket());
    };
    CHECK(ask("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>") ==
          "us-east-1");
    CHECK(ask("<LocationConstraint>EU</LocationConstraint>") == "eu-west-1");
    CHECK(ask("<LocationConstraint>ap-south-2</LocationConstraint>") == "ap-south-2");
    h.http.expect("GET", k_virtual + "/?location").respond(200, {}, "not xml");
    CHECK_THROWS_AS(h.client().get_bucket_location(caller(), bucket()), aws::AwsError);
}

TEST_CASE("a bucket of another account is refused with the AccessDenied S3 sends") {
    Harness h;
    h.http.expect("GET", k_virtual + "/?location")
        .respond(403, {{"x-amz-request-id", "REQ9"}},
                 "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
    try {
        h.client().get_bucket_location(caller(), bucket());
        FAIL("no error");
    } catch (const aws::AwsError& e) {
        CHECK(e.status() == 403);
        CHECK(e.code() == "AccessDenied");
        CHECK(e.service() == "s3");
        CHECK(e.operation() == "GetBucketLocation");
        CHECK(e.request_id() == "REQ9");
    }
    CHECK(h.http.all_used());
}

TEST_CASE("ListObjectsV2: only an entry named exactly as the key is the object") {
    Harness h;
    const auto url = k_virtual + "/?list-type=2&prefix=assets%2Fabc.zip&max-keys=1";
    h.http.expect("GET", url)
        .respond(
            200, {},
            "<ListBucketResult "
            "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><KeyCount>1</KeyCount>"
            "<Contents><Key>assets/abc.zip</Key><Size>1234</Size></Contents></ListBucketResult>");
    const auto found = h.client().find_object(caller(), bucket(), "assets/abc.zip");
    REQUIRE(found.has_value());
    CHECK(found->key == "assets/abc.zip");
    CHECK(found->size == 1234);

    h.http.expect("GET", url)
        .respond(
            200, {},
            "<ListBucketResult><Contents><Key>assets/abc.zip.old</Key><Size>9</Size></Contents>"
            "</ListBucketResult>");
    CHECK_FALSE(h.client().find_object(caller(), bucket(), "assets/abc.zip").has_value());
    CHECK(h.http.all_used());
}

TEST_CASE("GetBucketEncryption: algorithm and key; no configuration and no permission") {
    Harness h;
    const auto url = k_virtual + "/?encryption";
    using Kind = aws::BucketEncryption::Kind;
    const auto rule = [](const std::string& inner) {
        return "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>" +
               inner +
               "</ApplyServerSideEncryptionByDefault></Rule>"
               "</ServerSideEncryptionConfiguration>";
    };
    h.http.expect("GET", url).respond(200, {}, rule("<SSEAlgorithm>AES256</SSEAlgorithm>"));
    CHECK(h.client().get_bucket_encryption(caller(), bucket()).kind == Kind::aes256);

    h.http.expect("GET", url)
        .respond(
            200, {},
            rule("<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>arn:k</KMSMasterKeyID>"));
    const auto kms = h.client().get_bucket_encryption(caller(), bucket());
    CHECK(kms.kind == Kind::kms);
    CHECK(kms.kms_key_id == "arn:k");

    h.http.expect("GET", url)
        .respond(404, {},
                 "<Error><Code>ServerSideEncryptionConfigurationNotFoundError</Code></Error>");
    CHECK(h.client().get_bucket_encryption(caller(), bucket()).kind == Kind::none);

    h.http.expect("GET", url).respond(403, {}, "<Error><Code>AccessDenied</Code></Error>");
    CHECK(h.client().get_bucket_encryption(caller(), bucket()).kind == Kind::access_denied);

    h.http.expect("GET", url).respond(404, {}, "<Error><Code>NoSuchBucket</Code></Error>");
    CHECK_THROWS_AS(h.client().get_bucket_encryption(caller(), bucket()), aws::AwsError);
    CHECK(h.http.all_used());
}

TEST_CASE("PutObject sends Content-Type, AES256 and the checksum; no KMS key header") {
    Harness h;
    h.http.expect("PUT", k_virtual + "/templates/stack.json")
        .with_header("Content-Type", "application/json")
        .with_header("x-amz-server-side-encryption", "AES256")
        .with_header("x-amz-checksum-sha256", crypto::base64_encode(crypto::sha256(k_put_body)))
        .with_header("x-amz-content-sha256", crypto::sha256_hex(k_put_body))
        .with_header("x-amz-expected-bucket-owner", "123456789012")
        .without_header("x-amz-server-side-encryption-aws-kms-key-id")
        .with_body(k_put_body)
        .respond(200);
    h.client().put_object(
        caller(), bucket(),
        {"templates/stack.json", "application/json", {aws::BucketEncryption::Kind::aes256, ""}},
        h.slice(k_put_body));
    CHECK(h.http.all_used());
}

TEST_CASE("a part's body is exactly its range of the file") {
    Harness h;
    const auto file = h.dir.write("big.bin", "0123456789abcdef");
    const std::string range = "6789a";
    h.http.expect("PUT", k_virtual + "/k?partNumber=3&uploadId=u")
        .with_body(range)
        .respond(200, {{"ETag", "\"p3\""}, {"x-amz-checksum-sha256", "echoed"}});
    const auto part = h.client().upload_part(caller(), bucket(), "k", "u", 3,
                                             {file, 6, range.size(), crypto::sha256_hex(range)});
    CHECK(part.checksum_sha256 == "echoed");
    CHECK(h.http.all_used());
}

TEST_CASE("CreateMultipartUpload asks for SHA256 checksums and returns the upload id") {
    Harness h;
    h.http.expect("POST", k_virtual + "/big.zip?uploads")
        .with_header("x-amz-checksum-algorithm", "SHA256")
        .with_header("Content-Type", "application/zip")
        .with_header("x-amz-server-side-encryption", "aws:kms")
        .without_header("x-amz-server-side-encryption-aws-kms-key-id")
        .with_header("x-amz-content-sha256", k_empty_sha256)
        .respond(200, {},
                 "<InitiateMultipartUploadResult><Bucket>assets-bucket</Bucket><Key>big.zip</Key>"
                 "<UploadId>VXBsb2Fk.ID</UploadId></InitiateMultipartUploadResult>");
    const auto id = h.client().create_multipart_upload(
        caller(), bucket(), {"big.zip", "application/zip", {aws::BucketEncryption::Kind::kms, ""}});
    CHECK(id == "VXBsb2Fk.ID");
    CHECK(h.http.all_used());
}

TEST_CASE("AbortMultipartUpload is a DELETE of the upload id") {
    Harness h;
    h.http.expect("DELETE", k_virtual + "/big.zip?uploadId=u%2B1")
        .with_header("x-amz-expected-bucket-owner", "123456789012")
        .respond(204);
    h.client().abort_multipart_upload(caller(), bucket(), "big.zip", "u+1");
    CHECK(h.http.all_used());
}

TEST_CASE("SlowDown and 503 without a body are retried through the one retry policy") {
    Harness h;
    const auto url = k_virtual + "/k";
    h.http.expect("PUT", url).respond(503, {}, k_error_slow_down);
    h.http.expect("PUT", url).respond(503);
    h.http.expect("PUT", url).respond(200);
    h.client().put_object(caller(), bucket(), {"k", "application/octet-stream", {}},
                          h.slice(k_put_body));
    CHECK(h.http.all_used());
    // Every attempt sends the whole body again.
    for (const auto& sent : h.http.received()) {
        CHECK(http::body_bytes(sent) == k_put_body);
    }
}

TEST_CASE("CompleteMultipartUpload answering 200 with an <Error> is an error, retried per code") {
    Harness h;
    const auto url = k_virtual + "/k?uploadId=u";
    SECTION("a retryable code is retried") {
        h.http.expect("POST", url)
            .respond(200, {}, "<?xml version=\"1.0\"?>\n" + std::string(k_error_slow_down));
        h.http.expect("POST", url).respond(200, {}, "<CompleteMultipartUploadResult/>");
        h.client().complete_multipart_upload(caller(), bucket(), "k", "u", {{1, "e", "c"}});
    }
    SECTION("another code fails at once") {
        h.http.expect("POST", url)
            .respond(200, {}, "<Error><Code>InvalidPart</Code><Message>gone</Message></Error>");
        try {
            h.client().complete_multipart_upload(caller(), bucket(), "k", "u", {{1, "e", "c"}});
            FAIL("no error");
        } catch (const aws::AwsError& e) {
            CHECK(e.code() == "InvalidPart");
            CHECK(e.status() == 200);
        }
    }
    CHECK(h.http.all_used());
}

TEST_CASE("an UploadPart answer without an ETag is malformed") {
    Harness h;
    h.http.expect("PUT", k_virtual + "/k?partNumber=1&uploadId=u").respond(200);
    CHECK_THROWS_AS(h.client().upload_part(caller(), bucket(), "k", "u", 1, h.slice(k_put_body)),
                    aws::AwsError);
}
