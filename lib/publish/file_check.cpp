#include "publish/file_check.hpp"

#include "aws/aws_error.hpp"
#include "publish/destination.hpp"

namespace assetctl::publish {
namespace {

aws::S3Api& s3_of(RunState& run) {
    if (run.deps().aws.s3 == nullptr) {
        throw std::logic_error("no S3 client configured for file assets");
    }
    return *run.deps().aws.s3;
}

}  // namespace

void resolve_file_target(RunState& run, FileTargetState& target) {
    if (target.phase == Phase::finished) {
        return;
    }
    try {
        auto resolved =
            resolve_file_destination(*target.plan->destination, run.deps().aws.default_region,
                                     [&run] { return run.account(); });
        target.bucket.region = std::move(resolved.region);
        target.bucket.bucket = std::move(resolved.bucket);
        target.key = std::move(resolved.key);
        target.role = std::move(resolved.role);
        target.outcome.object_url = "s3://" + target.bucket.bucket + "/" + target.key;
        const auto& caller = *run.caller();
        target.credentials =
            target.role ? run.deps().aws.roles.credentials_for(caller, *target.role) : caller;
        target.bucket.expected_owner =
            destination_account(target.role, [&run] { return run.account(); });
        run.emit(EventType::check, target, "checking " + target.outcome.object_url);
        target.phase = Phase::resolved;
    } catch (const std::exception& e) {
        run.check_failed(target, e.what());
    }
}

void check_file_target(RunState& run, FileTargetState& target) {
    if (target.phase != Phase::resolved) {
        return;
    }
    try {
        const auto found = s3_of(run).find_object(target.credentials, target.bucket, target.key);
        if (found && found->size > k_empty_zip_size) {
            run.emit(EventType::found, target, "found " + target.outcome.object_url);
            run.settle_present(target, "published (already present)");
            return;
        }
        target.phase = Phase::missing;
    } catch (const std::exception& e) {
        run.check_failed(target, describe_s3_error(target, e));
    }
}

std::string describe_s3_error(const FileTargetState& target, const std::exception& error) {
    const auto& bucket = target.bucket.bucket;
    const std::string account = target.bucket.expected_owner.value_or("(unknown)");
    const std::string where = " (" + target.bucket.region + ")";
    if (const auto* aws_error = dynamic_cast<const aws::AwsError*>(&error)) {
        if (aws_error->code() == "NoSuchBucket") {
            return "No bucket named '" + bucket + "' in account " + account + where +
                   ". Is this account bootstrapped? Run `cdk bootstrap aws://" + account + "/" +
                   target.bucket.region + "`.";
        }
        if (aws_error->status() == 403) {
            return "bucket '" + bucket + "'" + where + " refused " + aws_error->operation() + " (" +
                   aws_error->code() + "): it is not owned by account " + account +
                   ", or this identity may not use it. assetctl never writes into a bucket of "
                   "another account; check the destination's bucketName and role";
        }
    }
    return target.outcome.object_url + ": " + error.what();
}

}  // namespace assetctl::publish
