#include "aws/s3_client.hpp"

#include <spdlog/spdlog.h>

#include "aws/aws_error.hpp"
#include "aws/xml.hpp"
#include "crypto/crypto.hpp"

namespace assetctl::aws {
namespace {

constexpr std::string_view k_s3_namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

[[noreturn]] void malformed(const std::string& operation, const std::string& what) {
    throw AwsError("s3", operation, 200, "MalformedResponse", what, "");
}

XmlDocument parse_answer(const std::string& operation, const http::Response& response) {
    auto doc = XmlDocument::parse(response.body);
    if (!doc) {
        malformed(operation, "the answer is not XML");
    }
    return std::move(*doc);
}

// 64 hex digits -> 32 raw bytes (the checksum header is base64 of the raw digest).
std::string raw_digest(const std::string& operation, std::string_view hex) {
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    };
    constexpr std::size_t k_hex_digits = 64;
    std::string raw;
    for (std::size_t i = 0; hex.size() == k_hex_digits && i < hex.size(); i += 2) {
        const int high = nibble(hex[i]);
        const int low = nibble(hex[i + 1]);
        if (high < 0 || low < 0) {
            break;
        }
        raw.push_back(static_cast<char>(high * 16 + low));
    }
    if (raw.size() != k_hex_digits / 2) {
        throw std::invalid_argument("s3 " + operation + ": sha256_hex '" + std::string(hex) +
                                    "' is not 64 hex digits");
    }
    return raw;
}

std::string checksum_of(const std::string& operation, const FileSlice& body) {
    return crypto::base64_encode(raw_digest(operation, body.sha256_hex));
}

// Content-Type and the server-side encryption the object is written with.
http::Headers object_headers(const ObjectWrite& write) {
    http::Headers headers{{"Content-Type", write.content_type}};
    switch (write.encryption.kind) {
        case BucketEncryption::Kind::aes256:
            headers.push_back({"x-amz-server-side-encryption", "AES256"});
            break;
        case BucketEncryption::Kind::kms:
            headers.push_back({"x-amz-server-side-encryption", "aws:kms"});
            if (!write.encryption.kms_key_id.empty()) {
                headers.push_back(
                    {"x-amz-server-side-encryption-aws-kms-key-id", write.encryption.kms_key_id});
            }
            break;
        case BucketEncryption::Kind::none:
        case BucketEncryption::Kind::access_denied:
            break;
    }
    return headers;
}

std::string xml_escape(std::string_view text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out.push_back(c);
        }
    }
    return out;
}

std::string complete_document(const std::vector<UploadedPart>& parts) {
    std::string xml = "<CompleteMultipartUpload xmlns=\"" + std::string(k_s3_namespace) + "\">";
    for (const auto& part : parts) {
        xml += "<Part><PartNumber>" + std::to_string(part.number) + "</PartNumber><ETag>" +
               xml_escape(part.etag) + "</ETag>";
        if (!part.checksum_sha256.empty()) {
            xml += "<ChecksumSHA256>" + xml_escape(part.checksum_sha256) + "</ChecksumSHA256>";
        }
        xml += "</Part>";
    }
    return xml + "</CompleteMultipartUpload>";
}

// GetBucketLocation's LocationConstraint: empty for us-east-1, "EU" for eu-west-1 (legacy).
std::string region_of_location(const std::string& constraint) {
    if (constraint.empty()) {
        return "us-east-1";
    }
    if (constraint == "EU") {
        return "eu-west-1";
    }
    return constraint;
}

std::uint64_t parse_size(const std::string& text) {
    try {
        std::size_t used = 0;
        const auto value = std::stoull(text, &used);
        if (used == text.size()) {
            return value;
        }
    } catch (const std::exception&) {
    }
    malformed("ListObjectsV2", "Size '" + text + "' is not a number");
}

}  // namespace

S3Client::S3Client(AwsRuntime& runtime, EndpointSettings endpoints)
    : runtime_(runtime), endpoints_(std::move(endpoints)) {}

http::Response S3Client::send(const AwsCredentials& caller, const BucketRef& bucket,
                              S3Request request) {
    const auto address = s3_address(bucket.region, bucket.bucket, request.key, endpoints_);
    ServiceRequest call;
    call.service = "s3";
    call.operation = request.operation;
    call.endpoint = address.endpoint;
    call.region = bucket.region;
    call.headers = std::move(request.headers);
    if (bucket.expected_owner) {
        call.headers.push_back({"x-amz-expected-bucket-owner", *bucket.expected_owner});
    }
    call.body = std::move(request.body);
    call.method = request.method;
    call.path = address.path;
    call.query = std::move(request.query);
    // The payload is always signed by its SHA-256 (never UNSIGNED-PAYLOAD): a part's hash is
    // computed anyway for x-amz-checksum-sha256, so signing it costs nothing more, and the
    // signature then covers the bytes over plain-HTTP endpoints too.
    if (request.slice) {
        const FileSlice slice = *request.slice;
        call.stream = http::StreamedBody{
            slice.size,
            [slice] { return http::read_from_file(slice.file, slice.offset, slice.size); }};
        call.payload_hash = slice.sha256_hex;
    }
    call.signing.normalize_path = false;
    call.signing.add_content_sha256_header = true;
    call.error_in_success_body = request.error_in_success_body;
    call.survives_interrupt = request.survives_interrupt;
    return call_service(runtime_, call, &caller);
}

std::string S3Client::get_bucket_location(const AwsCredentials& caller, const BucketRef& bucket) {
    S3Request request;
    request.operation = "GetBucketLocation";
    request.query = {{"location", ""}};
    const auto response = send(caller, bucket, std::move(request));
    const auto doc = parse_answer("GetBucketLocation", response);
    const auto constraint = doc.text({"LocationConstraint"});
    if (!constraint) {
        malformed("GetBucketLocation", "no LocationConstraint");
    }
    return region_of_location(*constraint);
}

std::optional<S3Object> S3Client::find_object(const AwsCredentials& caller, const BucketRef& bucket,
                                              const std::string& key) {
    S3Request request;
    request.operation = "ListObjectsV2";
    request.query = {{"list-type", "2"}, {"prefix", key}, {"max-keys", "1"}};
    const auto response = send(caller, bucket, std::move(request));
    const auto doc = parse_answer("ListObjectsV2", response);
    // The first key in order with this prefix is `key` itself when it exists; any other
    // ("key.zip" for "key") is not the object.
    const auto found = doc.text({"Contents", "Key"});
    if (!found || *found != key) {
        return std::nullopt;
    }
    return S3Object{key, parse_size(doc.text({"Contents", "Size"}).value_or(""))};
}

BucketEncryption S3Client::get_bucket_encryption(const AwsCredentials& caller,
                                                 const BucketRef& bucket) {
    S3Request request;
    request.operation = "GetBucketEncryption";
    request.query = {{"encryption", ""}};
    BucketEncryption encryption;
    try {
        const auto response = send(caller, bucket, std::move(request));
        const auto doc = parse_answer("GetBucketEncryption", response);
        const auto algorithm =
            doc.text({"ApplyServerSideEncryptionByDefault", "SSEAlgorithm"}).value_or("");
        if (algorithm == "AES256") {
            encryption.kind = BucketEncryption::Kind::aes256;
        } else if (algorithm == "aws:kms") {
            encryption.kind = BucketEncryption::Kind::kms;
            encryption.kms_key_id =
                doc.text({"ApplyServerSideEncryptionByDefault", "KMSMasterKeyID"}).value_or("");
        } else if (!algorithm.empty()) {
            spdlog::debug(
                "s3 bucket {}: encryption {} is not mirrored (the bucket's default "
                "applies)",
                bucket.bucket, algorithm);
        }
    } catch (const AwsError& e) {
        if (e.code() == "ServerSideEncryptionConfigurationNotFoundError") {
            encryption.kind = BucketEncryption::Kind::none;
        } else if (e.code() == "AccessDenied") {
            encryption.kind = BucketEncryption::Kind::access_denied;
        } else {
            throw;
        }
    }
    return encryption;
}

void S3Client::put_object(const AwsCredentials& caller, const BucketRef& bucket,
                          const ObjectWrite& write, const FileSlice& body) {
    S3Request request;
    request.operation = "PutObject";
    request.method = "PUT";
    request.key = write.key;
    request.headers = object_headers(write);
    request.headers.push_back({"x-amz-checksum-sha256", checksum_of("PutObject", body)});
    request.slice = body;
    send(caller, bucket, std::move(request));
}

std::string S3Client::create_multipart_upload(const AwsCredentials& caller, const BucketRef& bucket,
                                              const ObjectWrite& write) {
    S3Request request;
    request.operation = "CreateMultipartUpload";
    request.method = "POST";
    request.key = write.key;
    request.query = {{"uploads", ""}};
    request.headers = object_headers(write);
    request.headers.push_back({"x-amz-checksum-algorithm", "SHA256"});
    const auto response = send(caller, bucket, std::move(request));
    const auto id = parse_answer("CreateMultipartUpload", response).text({"UploadId"});
    if (!id || id->empty()) {
        malformed("CreateMultipartUpload", "no UploadId");
    }
    return *id;
}

UploadedPart S3Client::upload_part(const AwsCredentials& caller, const BucketRef& bucket,
                                   const std::string& key, const std::string& upload_id, int number,
                                   const FileSlice& body) {
    S3Request request;
    request.operation = "UploadPart";
    request.method = "PUT";
    request.key = key;
    request.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
    const auto checksum = checksum_of("UploadPart", body);
    request.headers = {{"x-amz-checksum-sha256", checksum}};
    request.slice = body;
    const auto response = send(caller, bucket, std::move(request));
    const auto etag = response.header("ETag");
    if (!etag || etag->empty()) {
        malformed("UploadPart", "no ETag for part " + std::to_string(number));
    }
    return {number, *etag, response.header("x-amz-checksum-sha256").value_or(checksum)};
}

void S3Client::complete_multipart_upload(const AwsCredentials& caller, const BucketRef& bucket,
                                         const std::string& key, const std::string& upload_id,
                                         const std::vector<UploadedPart>& parts) {
    S3Request request;
    request.operation = "CompleteMultipartUpload";
    request.method = "POST";
    request.key = key;
    request.query = {{"uploadId", upload_id}};
    request.headers = {{"Content-Type", "application/xml"}};
    request.body = complete_document(parts);
    request.error_in_success_body = true;
    send(caller, bucket, std::move(request));
}

void S3Client::abort_multipart_upload(const AwsCredentials& caller, const BucketRef& bucket,
                                      const std::string& key, const std::string& upload_id) {
    S3Request request;
    request.operation = "AbortMultipartUpload";
    request.method = "DELETE";
    request.key = key;
    request.query = {{"uploadId", upload_id}};
    // Ctrl-C is what often leads here: the abort must still go out, or the parts stay billed.
    request.survives_interrupt = true;
    send(caller, bucket, std::move(request));
}

}  // namespace assetctl::aws
