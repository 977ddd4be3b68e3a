// What AWS answers, as assetctl's own clients read it: STS (query protocol, XML), ECR (JSON
// 1.1), S3 (REST, XML, errors in 200 answers) and Secrets Manager, every answer of a call
// fuzzed (status, a few headers, body; retries included). The first byte picks the call. Only
// the typed errors a user sees may escape: AwsError (an error answer, or a success answer that
// lacks what it must hold) and http::TransportError.
#include <cstddef>
#include <cstdint>

#include "aws/aws_error.hpp"
#include "aws/ecr_client.hpp"
#include "aws/s3_client.hpp"
#include "aws/secrets_manager_client.hpp"
#include "aws/sts_client.hpp"
#include "fuzz_support.hpp"
#include "util/clock.hpp"

using namespace assetctl;

namespace {

aws::AwsCredentials caller() {
    aws::AwsCredentials credentials;
    credentials.keys = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token"};
    credentials.source = "fuzz";
    return credentials;
}

void call_sts(aws::AwsRuntime& runtime, int which) {
    aws::StsClient sts(runtime, {}, "us-east-1");
    if (which == 0) {
        aws::AssumeRoleRequest request;
        request.role_arn = "arn:aws:iam::123456789012:role/publisher";
        request.session_name = "assetctl";
        (void)sts.assume_role(caller(), request);
    } else if (which == 1) {
        (void)sts.assume_role_with_web_identity(
            {"arn:aws:iam::123456789012:role/oidc", "assetctl", "jwt", std::nullopt, "eu-west-1"});
    } else {
        (void)sts.get_caller_identity(caller(), "eu-west-1");
    }
}

void call_ecr(aws::AwsRuntime& runtime, int which) {
    aws::EcrClient ecr(runtime, {});
    const auto who = caller();
    switch (which) {
        case 0:
            (void)ecr.get_authorization_token(who, "eu-west-1");
            break;
        case 1:
            (void)ecr.describe_repository(who, "eu-west-1", "repo");
            break;
        case 2:
            (void)ecr.describe_image(who, "eu-west-1", "repo", "tag");
            break;
        case 3:
            (void)ecr.batch_get_image(who, "eu-west-1", "repo", {"a", "b", "c"});
            break;
        case 4:
            (void)ecr.batch_check_layer_availability(
                who, "eu-west-1", "repo",
                {"sha256:0000000000000000000000000000000000000000000000000000000000000000"});
            break;
        default:
            (void)ecr.create_repository(who, "eu-west-1", "repo");
            break;
    }
}

void call_s3(aws::AwsRuntime& runtime, int which) {
    aws::S3Client s3(runtime, {});
    const auto who = caller();
    const aws::BucketRef bucket{"eu-west-1", "bucket-b", "123456789012"};
    const auto slice_file = fuzz::write_scratch_file("part", "0123456789");
    const aws::FileSlice slice{slice_file, 0, 10,
                               "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882"};
    aws::ObjectWrite write;
    write.key = "key.zip";
    switch (which) {
        case 0:
            (void)s3.get_bucket_location(who, bucket);
            break;
        case 1:
            (void)s3.find_object(who, bucket, "key.zip");
            break;
        case 2:
            (void)s3.get_bucket_encryption(who, bucket);
            break;
        case 3:
            s3.put_object(who, bucket, write, slice);
            break;
        case 4:
            (void)s3.create_multipart_upload(who, bucket, write);
            break;
        case 5:
            (void)s3.upload_part(who, bucket, "key.zip", "upload-1", 1, slice);
            break;
        case 6:
            s3.complete_multipart_upload(who, bucket, "key.zip", "upload-1",
                                         {{1, "\"etag\"", "checksum"}});
            break;
        default:
            s3.abort_multipart_upload(who, bucket, "key.zip", "upload-1");
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput input(data, size);
    const auto which = input.byte();
    fuzz::ScriptedHttp http(input);
    const util::FixedClock clock(std::chrono::system_clock::time_point(std::chrono::hours(490000)));
    fuzz::NoSleep no_sleep;
    aws::AwsRuntime runtime{http, clock, no_sleep, fuzz::k_fuzz_retry, [] { return 0.5; }};
    try {
        switch (which % 4) {
            case 0:
                call_sts(runtime, (which / 4) % 3);
                break;
            case 1:
                call_ecr(runtime, (which / 4) % 6);
                break;
            case 2:
                call_s3(runtime, (which / 4) % 8);
                break;
            default: {
                aws::SecretsManagerClient secrets(runtime, {});
                (void)secrets.get_secret_value(caller(), "eu-west-1", "docker-login");
                break;
            }
        }
    } catch (const aws::AwsError&) {
    } catch (const http::TransportError&) {
    }
    return 0;
}
