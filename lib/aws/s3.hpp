#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "aws/credentials.hpp"

namespace assetctl::aws {

// One bucket as a destination names it, with the account that must own it: every call sends
// `x-amz-expected-bucket-owner` when `expected_owner` is set, so S3 refuses (403 AccessDenied)
// a bucket of another account instead of letting us write into it.
struct BucketRef {
    std::string region;  // the destination's region: signing region and endpoint
    std::string bucket;
    std::optional<std::string> expected_owner;  // 12-digit account id
};

// The bucket's default encryption (GetBucketEncryption), mirrored on upload as cdk-assets does.
struct BucketEncryption {
    enum class Kind {
        none,           // ServerSideEncryptionConfigurationNotFoundError: no header
        aes256,         // x-amz-server-side-encryption: AES256
        kms,            // aws:kms (+ the key id when the bucket names one)
        access_denied,  // no s3:GetEncryptionConfiguration: no header (as cdk-assets)
    };
    Kind kind = Kind::none;
    std::string kms_key_id;  // kms only; may be empty (the account's default key)
};

// What ListObjectsV2 said about one key.
struct S3Object {
    std::string key;
    std::uint64_t size = 0;
};

// How a new object is written: its key, Content-Type and server-side encryption.
struct ObjectWrite {
    std::string key;
    std::string content_type = "application/octet-stream";
    BucketEncryption encryption;
};

// Bytes of a file sent as one request body: read from `file` at `offset` for every attempt
// (never held in memory). `sha256_hex` is the SHA-256 of exactly those bytes: it is both the
// signed payload hash (`x-amz-content-sha256`) and, base64, `x-amz-checksum-sha256`.
struct FileSlice {
    std::filesystem::path file;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::string sha256_hex;
};

struct UploadedPart {
    int number = 0;
    std::string etag;
    std::string checksum_sha256;  // base64, as S3 echoed it
};

// The S3 operations assetctl uses. Every call is signed (SigV4, service `s3`) with `caller` for
// the bucket's region and retried through the one retry policy; failures throw AwsError
// (status, S3's error code such as NoSuchBucket, AccessDenied, SlowDown) or
// http::TransportError. Safe to call from several threads.
class S3Api {
  public:
    virtual ~S3Api() = default;
    // GetBucketLocation: the bucket's region ("" from S3 means us-east-1, "EU" eu-west-1).
    // A bucket of another account than bucket.expected_owner fails with 403 AccessDenied.
    virtual std::string get_bucket_location(const AwsCredentials& caller,
                                            const BucketRef& bucket) = 0;
    // ListObjectsV2 with prefix=`key`, max-keys=1: the object named exactly `key`, if any.
    virtual std::optional<S3Object> find_object(const AwsCredentials& caller,
                                                const BucketRef& bucket,
                                                const std::string& key) = 0;
    // GetBucketEncryption; "no configuration" and "access denied" are answers, not errors.
    virtual BucketEncryption get_bucket_encryption(const AwsCredentials& caller,
                                                   const BucketRef& bucket) = 0;
    // PutObject of the whole slice, with x-amz-checksum-sha256.
    virtual void put_object(const AwsCredentials& caller, const BucketRef& bucket,
                            const ObjectWrite& write, const FileSlice& body) = 0;
    // CreateMultipartUpload (x-amz-checksum-algorithm: SHA256): the upload id.
    virtual std::string create_multipart_upload(const AwsCredentials& caller,
                                                const BucketRef& bucket,
                                                const ObjectWrite& write) = 0;
    // UploadPart `number` (1..10000) of `upload_id`, with x-amz-checksum-sha256.
    virtual UploadedPart upload_part(const AwsCredentials& caller, const BucketRef& bucket,
                                     const std::string& key, const std::string& upload_id,
                                     int number, const FileSlice& body) = 0;
    // CompleteMultipartUpload with every part (in number order) and its checksum.
    virtual void complete_multipart_upload(const AwsCredentials& caller, const BucketRef& bucket,
                                           const std::string& key, const std::string& upload_id,
                                           const std::vector<UploadedPart>& parts) = 0;
    // AbortMultipartUpload: the parts are dropped and nothing stays billed or visible.
    virtual void abort_multipart_upload(const AwsCredentials& caller, const BucketRef& bucket,
                                        const std::string& key, const std::string& upload_id) = 0;
};

}  // namespace assetctl::aws
