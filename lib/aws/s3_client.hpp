#pragma once

#include <optional>
#include <string>
#include <vector>

#include "aws/endpoints.hpp"
#include "aws/s3.hpp"
#include "aws/service_call.hpp"

namespace assetctl::aws {

// S3 over its REST protocol (XML answers), every call through call_service: SigV4 with
// service `s3`, the path as S3 wants it (not normalised, the key encoded once), the payload's
// SHA-256 in x-amz-content-sha256, and the one retry policy (SlowDown, 5xx, connection
// failures). Addressing (virtual-hosted or path style) comes from s3_address().
class S3Client final : public S3Api {
  public:
    S3Client(AwsRuntime& runtime, EndpointSettings endpoints);

    std::string get_bucket_location(const AwsCredentials& caller, const BucketRef& bucket) override;
    std::optional<S3Object> find_object(const AwsCredentials& caller, const BucketRef& bucket,
                                        const std::string& key) override;
    BucketEncryption get_bucket_encryption(const AwsCredentials& caller,
                                           const BucketRef& bucket) override;
    void put_object(const AwsCredentials& caller, const BucketRef& bucket, const ObjectWrite& write,
                    const FileSlice& body) override;
    std::string create_multipart_upload(const AwsCredentials& caller, const BucketRef& bucket,
                                        const ObjectWrite& write) override;
    UploadedPart upload_part(const AwsCredentials& caller, const BucketRef& bucket,
                             const std::string& key, const std::string& upload_id, int number,
                             const FileSlice& body) override;
    void complete_multipart_upload(const AwsCredentials& caller, const BucketRef& bucket,
                                   const std::string& key, const std::string& upload_id,
                                   const std::vector<UploadedPart>& parts) override;
    void abort_multipart_upload(const AwsCredentials& caller, const BucketRef& bucket,
                                const std::string& key, const std::string& upload_id) override;

  private:
    // One S3 request before addressing and signing.
    struct S3Request {
        std::string operation;
        std::string method = "GET";
        std::string key;  // empty for bucket operations
        std::vector<QueryParameter> query;
        http::Headers headers;
        std::string body;
        std::optional<FileSlice> slice;  // streamed body
        bool error_in_success_body = false;
        bool survives_interrupt = false;
    };

    http::Response send(const AwsCredentials& caller, const BucketRef& bucket, S3Request request);

    AwsRuntime& runtime_;
    EndpointSettings endpoints_;
};

}  // namespace assetctl::aws
