#pragma once

#include <algorithm>
#include <cstdint>
#include <fcntl.h>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "aws/aws_error.hpp"
#include "aws/s3.hpp"
#include "crypto/crypto.hpp"
#include "support/surprises.hpp"
#include "util/fd.hpp"
#include "util/files.hpp"

namespace assetctl::test {

// An in-memory S3: buckets (region, owner, default encryption) holding objects (bytes as
// written, Content-Type, encryption), multipart uploads in progress, and every call recorded.
//
// It answers like S3 where S3 has an answer: an unknown bucket is 404 NoSuchBucket, a bucket
// whose owner is not BucketRef.expected_owner is 403 AccessDenied, a call signed for another
// region than the bucket's is 400 AuthorizationHeaderMalformed (GetBucketLocation answers from any
// region), aborting an unknown upload is 404 NoSuchUpload. What only a bug in the caller would
// do is a surprise (support/surprises.hpp; it fails the test even when caught): a body whose
// bytes do not match its sha256_hex or that runs past the end of the file, a part number
// outside 1..10000, a part of an unknown upload, a Complete whose parts are not in ascending
// order or whose ETag/checksum differ from what UploadPart returned.
//
// Failures are injected per operation and call count (fail_on), or by a hook run before every
// call (before_call), e.g. to raise SIGINT's flag in the middle of an upload. Operation names
// are S3's: GetBucketLocation, ListObjectsV2, GetBucketEncryption, PutObject,
// CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload.
// Safe to call from several threads (UploadPart is).
class FakeS3 final : public aws::S3Api {
  public:
    struct Object {
        std::string bytes;
        std::string content_type;
        aws::BucketEncryption encryption;  // what the write asked for
        bool multipart = false;
        std::size_t parts = 0;
    };
    struct Bucket {
        std::string region = "us-east-1";
        std::string owner = "123456789012";
        // What GetBucketEncryption answers (Kind::access_denied: as if the caller may not read
        // it).
        aws::BucketEncryption encryption;
        std::map<std::string, Object> objects;
    };
    struct Part {
        int number = 0;
        aws::FileSlice body;
        std::string bytes;
        std::string etag;
        std::string checksum_sha256;
    };
    struct Upload {
        std::string bucket;
        std::string key;
        aws::ObjectWrite write;
        std::map<int, Part> parts;
    };
    // One call as the fake saw it.
    struct Call {
        std::string operation;
        std::string caller_access_key_id;
        std::string region;  // BucketRef.region
        std::string bucket;
        std::optional<std::string> expected_owner;
        std::string key;                        // empty for bucket calls
        std::string upload_id;                  // multipart calls
        int part_number = 0;                    // UploadPart
        std::optional<aws::ObjectWrite> write;  // PutObject, CreateMultipartUpload
        std::optional<aws::FileSlice> body;     // PutObject, UploadPart
        std::vector<aws::UploadedPart> parts;   // CompleteMultipartUpload
    };

    // --- scripting -------------------------------------------------------------------------

    Bucket& add_bucket(const std::string& name, std::string region = "us-east-1",
                       std::string owner = "123456789012") {
        std::lock_guard lock(mutex_);
        auto& bucket = buckets_[name];
        bucket.region = std::move(region);
        bucket.owner = std::move(owner);
        return bucket;
    }
    // An object already there (a second run finds it).
    void add_object(const std::string& bucket, const std::string& key, std::string bytes) {
        std::lock_guard lock(mutex_);
        auto& object = buckets_.at(bucket).objects[key];
        object.bytes = std::move(bytes);
        object.content_type = "application/octet-stream";
    }
    // The `nth` call (from 1) of `operation`, and the `times - 1` calls after it, throw `error`
    // (after being recorded; nothing is changed). Every rule counts calls on its own.
    void fail_on(std::string operation, int nth, aws::AwsError error, int times = 1) {
        std::lock_guard lock(mutex_);
        failures_.push_back({std::move(operation), nth, times, std::move(error)});
    }
    // Every call of `operation` throws `error`.
    void fail_always(std::string operation, aws::AwsError error) {
        fail_on(std::move(operation), 1, std::move(error), 1 << 30);
    }
    // Run before every call (after it is recorded, without the fake's lock held): may throw,
    // or change something the code under test polls.
    std::function<void(const Call&)> before_call;

    // Errors as S3 sends them, for fail_on.
    static aws::AwsError error(const std::string& operation, long status, std::string code) {
        return aws::AwsError("s3", operation, status, std::move(code), "injected by FakeS3",
                             "fake-request-id");
    }
    static aws::AwsError slow_down(const std::string& operation) {
        return error(operation, 503, "SlowDown");
    }
    static aws::AwsError internal_error(const std::string& operation) {
        return error(operation, 500, "InternalError");
    }
    static aws::AwsError access_denied(const std::string& operation) {
        return error(operation, 403, "AccessDenied");
    }

    // --- inspection ------------------------------------------------------------------------

    std::vector<Call> calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    std::vector<Call> calls_of(const std::string& operation) const {
        std::vector<Call> out;
        for (auto& call : calls()) {
            if (call.operation == operation) {
                out.push_back(std::move(call));
            }
        }
        return out;
    }
    std::size_t count(const std::string& operation) const { return calls_of(operation).size(); }
    // "PutObject bucket/key", "UploadPart bucket/key #3", "GetBucketLocation bucket", ... in
    // call order (UploadPart's order between threads is whatever it was).
    std::vector<std::string> call_lines() const {
        std::vector<std::string> out;
        for (const auto& call : calls()) {
            std::string line = call.operation + " " + call.bucket;
            if (!call.key.empty()) {
                line += "/" + call.key;
            }
            if (call.part_number != 0) {
                line += " #" + std::to_string(call.part_number);
            }
            out.push_back(std::move(line));
        }
        return out;
    }
    std::optional<Object> object(const std::string& bucket, const std::string& key) const {
        std::lock_guard lock(mutex_);
        const auto found = buckets_.find(bucket);
        if (found == buckets_.end() || !found->second.objects.contains(key)) {
            return std::nullopt;
        }
        return found->second.objects.at(key);
    }
    std::size_t object_count(const std::string& bucket) const {
        std::lock_guard lock(mutex_);
        return buckets_.at(bucket).objects.size();
    }
    // Multipart uploads created and neither completed nor aborted.
    std::map<std::string, Upload> uploads_in_progress() const {
        std::lock_guard lock(mutex_);
        return uploads_;
    }
    const Surprises& surprises() const { return surprises_; }

    // --- S3Api -----------------------------------------------------------------------------

    std::string get_bucket_location(const aws::AwsCredentials& caller,
                                    const aws::BucketRef& bucket) override {
        const auto call = begin(describe("GetBucketLocation", caller, bucket, {}));
        std::lock_guard lock(mutex_);
        return owned_bucket(call, false).region;
    }
    std::optional<aws::S3Object> find_object(const aws::AwsCredentials& caller,
                                             const aws::BucketRef& bucket,
                                             const std::string& key) override {
        const auto call = begin(describe("ListObjectsV2", caller, bucket, key));
        std::lock_guard lock(mutex_);
        const auto& objects = owned_bucket(call, true).objects;
        const auto found = objects.find(key);
        if (found == objects.end()) {
            return std::nullopt;
        }
        return aws::S3Object{key, found->second.bytes.size()};
    }
    aws::BucketEncryption get_bucket_encryption(const aws::AwsCredentials& caller,
                                                const aws::BucketRef& bucket) override {
        const auto call = begin(describe("GetBucketEncryption", caller, bucket, {}));
        std::lock_guard lock(mutex_);
        return owned_bucket(call, true).encryption;
    }
    void put_object(const aws::AwsCredentials& caller, const aws::BucketRef& bucket,
                    const aws::ObjectWrite& write, const aws::FileSlice& body) override {
        auto described = describe("PutObject", caller, bucket, write.key);
        described.write = write;
        described.body = body;
        const auto call = begin(std::move(described));
        auto bytes = read_slice(call, body);
        std::lock_guard lock(mutex_);
        auto& object = owned_bucket(call, true).objects[write.key];
        object = Object{std::move(bytes), write.content_type, write.encryption, false, 0};
    }
    std::string create_multipart_upload(const aws::AwsCredentials& caller,
                                        const aws::BucketRef& bucket,
                                        const aws::ObjectWrite& write) override {
        auto described = describe("CreateMultipartUpload", caller, bucket, write.key);
        described.write = write;
        const auto call = begin(std::move(described));
        std::lock_guard lock(mutex_);
        owned_bucket(call, true);
        const auto id = "upload-" + std::to_string(++upload_counter_);
        uploads_[id] = Upload{bucket.bucket, write.key, write, {}};
        return id;
    }
    aws::UploadedPart upload_part(const aws::AwsCredentials& caller, const aws::BucketRef& bucket,
                                  const std::string& key, const std::string& upload_id, int number,
                                  const aws::FileSlice& body) override {
        auto described = describe("UploadPart", caller, bucket, key);
        described.upload_id = upload_id;
        described.part_number = number;
        described.body = body;
        const auto call = begin(std::move(described));
        if (number < 1 || number > 10000) {
            surprises_.raise("FakeS3: UploadPart number " + std::to_string(number) +
                             " outside 1..10000");
        }
        auto bytes = read_slice(call, body);
        std::lock_guard lock(mutex_);
        owned_bucket(call, true);
        auto& upload = known_upload(call);
        const auto checksum = crypto::base64_encode(crypto::sha256(bytes));
        const auto etag =
            "\"etag-" + std::to_string(number) + "-" + body.sha256_hex.substr(0, 8) + "\"";
        upload.parts[number] = Part{number, body, std::move(bytes), etag, checksum};
        return {number, etag, checksum};
    }
    void complete_multipart_upload(const aws::AwsCredentials& caller, const aws::BucketRef& bucket,
                                   const std::string& key, const std::string& upload_id,
                                   const std::vector<aws::UploadedPart>& parts) override {
        auto described = describe("CompleteMultipartUpload", caller, bucket, key);
        described.upload_id = upload_id;
        described.parts = parts;
        const auto call = begin(std::move(described));
        std::lock_guard lock(mutex_);
        auto& target = owned_bucket(call, true);
        auto& upload = known_upload(call);
        auto object = assemble(upload, parts);
        target.objects[key] = std::move(object);
        uploads_.erase(upload_id);
    }
    void abort_multipart_upload(const aws::AwsCredentials& caller, const aws::BucketRef& bucket,
                                const std::string& key, const std::string& upload_id) override {
        auto described = describe("AbortMultipartUpload", caller, bucket, key);
        described.upload_id = upload_id;
        const auto call = begin(std::move(described));
        std::lock_guard lock(mutex_);
        owned_bucket(call, true);
        const auto found = uploads_.find(upload_id);
        if (found == uploads_.end() || found->second.key != key) {
            throw error(call.operation, 404, "NoSuchUpload");
        }
        uploads_.erase(found);
    }

  private:
    struct Failure {
        std::string operation;
        int nth;
        int times;
        aws::AwsError error;
        int seen = 0;
    };

    static Call describe(std::string operation, const aws::AwsCredentials& caller,
                         const aws::BucketRef& bucket, std::string key) {
        Call call;
        call.operation = std::move(operation);
        call.caller_access_key_id = caller.keys.access_key_id;
        call.region = bucket.region;
        call.bucket = bucket.bucket;
        call.expected_owner = bucket.expected_owner;
        call.key = std::move(key);
        return call;
    }
    // Records the call, runs before_call, throws an injected failure if one is due.
    Call begin(Call call) {
        {
            std::lock_guard lock(mutex_);
            calls_.push_back(call);
        }
        if (before_call) {
            before_call(call);
        }
        throw_injected(call.operation);
        return call;
    }
    void throw_injected(const std::string& operation) {
        std::lock_guard lock(mutex_);
        for (auto& failure : failures_) {
            if (failure.operation != operation) {
                continue;
            }
            ++failure.seen;
            if (failure.seen >= failure.nth && failure.seen < failure.nth + failure.times) {
                throw failure.error;
            }
        }
    }
    // The bucket, if it exists and belongs to the expected owner (and, with check_region, the
    // call was signed for its region). Call with mutex_ held.
    Bucket& owned_bucket(const Call& call, bool check_region) {
        const auto found = buckets_.find(call.bucket);
        if (found == buckets_.end()) {
            throw error(call.operation, 404, "NoSuchBucket");
        }
        if (call.expected_owner && *call.expected_owner != found->second.owner) {
            throw error(call.operation, 403, "AccessDenied");
        }
        if (check_region && call.region != found->second.region) {
            throw error(call.operation, 400, "AuthorizationHeaderMalformed");
        }
        return found->second;
    }
    Upload& known_upload(const Call& call) {
        const auto found = uploads_.find(call.upload_id);
        if (found == uploads_.end() || found->second.key != call.key ||
            found->second.bucket != call.bucket) {
            surprises_.raise("FakeS3: " + call.operation + " of unknown upload " + call.upload_id +
                             " (" + call.bucket + "/" + call.key + ")");
        }
        return found->second;
    }
    Object assemble(const Upload& upload, const std::vector<aws::UploadedPart>& parts) {
        Object object{{}, upload.write.content_type, upload.write.encryption, true, parts.size()};
        int previous = 0;
        for (const auto& part : parts) {
            const auto found = upload.parts.find(part.number);
            if (part.number <= previous || found == upload.parts.end() ||
                found->second.etag != part.etag ||
                found->second.checksum_sha256 != part.checksum_sha256) {
                surprises_.raise("FakeS3: CompleteMultipartUpload with a wrong part #" +
                                 std::to_string(part.number) + " of " + upload.key);
            }
            previous = part.number;
            object.bytes += found->second.bytes;
        }
        if (parts.empty()) {
            surprises_.raise("FakeS3: CompleteMultipartUpload without parts of " + upload.key);
        }
        return object;
    }
    // The slice's bytes, checked against its size and hash as S3 would (BadDigest).
    std::string read_slice(const Call& call, const aws::FileSlice& body) {
        util::Fd fd(::open(body.file.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) {
            surprises_.raise("FakeS3: " + call.operation + " body " + body.file.string() +
                             " cannot be opened");
        }
        std::string bytes(body.size, '\0');
        const auto got = util::read_at(fd.get(), bytes.data(), bytes.size(), body.offset);
        if (got != body.size) {
            surprises_.raise("FakeS3: " + call.operation + " body runs past the end of " +
                             body.file.string());
        }
        if (crypto::sha256_hex(bytes) != body.sha256_hex) {
            surprises_.raise("FakeS3: " + call.operation + " body of " + call.key +
                             " does not match its sha256_hex");
        }
        return bytes;
    }

    Surprises surprises_;
    mutable std::mutex mutex_;
    std::map<std::string, Bucket> buckets_;
    std::map<std::string, Upload> uploads_;
    std::vector<Failure> failures_;
    std::vector<Call> calls_;
    int upload_counter_ = 0;
};

}  // namespace assetctl::test
