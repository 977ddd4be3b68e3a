#include "publish/upload.hpp"

#include "publish/file_check.hpp"
#include "util/interrupt.hpp"

namespace assetctl::publish {
namespace {

std::string describe(const aws::BucketEncryption& encryption) {
    switch (encryption.kind) {
        case aws::BucketEncryption::Kind::none:
            return "no default encryption";
        case aws::BucketEncryption::Kind::aes256:
            return "AES256";
        case aws::BucketEncryption::Kind::kms:
            return "aws:kms" + (encryption.kms_key_id.empty() ? "" : " " + encryption.kms_key_id);
        case aws::BucketEncryption::Kind::access_denied:
            return "encryption not readable (no s3:GetEncryptionConfiguration): no header";
    }
    return "?";
}

std::string megabytes(std::uint64_t bytes) {
    return std::to_string((bytes + (1 << 19)) >> 20) + " MiB";
}

}  // namespace

void FileUpload::upload(FileTargetState& target, const FileState& file) {
    // Still missing after its package node: the file is there (a failed or skipped package
    // has finished its targets).
    if (target.phase != Phase::missing || !file.packaged) {
        return;
    }
    const auto facts = facts_for(target);
    if (!facts->error.empty()) {
        run_.fail(target, facts->error);
        return;
    }
    put(target, *file.packaged, facts->encryption);
}

std::shared_ptr<FileUpload::BucketFacts> FileUpload::facts_for(const FileTargetState& target) {
    const auto facts = buckets_.get(target.bucket.bucket + "\n" + target.bucket.region + "\n" +
                                    target.bucket.expected_owner.value_or("") + "\n" +
                                    target.credentials.keys.access_key_id);
    std::lock_guard lock(facts->mutex);
    if (!facts->known) {
        learn(*facts, target);
        facts->known = true;
    }
    return facts;
}

void FileUpload::learn(BucketFacts& facts, const FileTargetState& target) {
    auto& s3 = *run_.deps().aws.s3;
    try {
        s3.get_bucket_location(target.credentials, target.bucket);
        facts.encryption = s3.get_bucket_encryption(target.credentials, target.bucket);
        run_.emit_asset(EventType::debug, target.outcome.asset,
                        "bucket " + target.bucket.bucket + ": " + describe(facts.encryption));
    } catch (const util::Interrupted&) {
        throw;
    } catch (const std::exception& e) {
        facts.error = describe_s3_error(target, e);
    }
}

void FileUpload::put(FileTargetState& target, const packaging::PackagedFile& packaged,
                     const aws::BucketEncryption& encryption) {
    const auto started = Clock::now();
    const aws::ObjectWrite write{target.key, packaged.content_type, encryption};
    run_.emit(EventType::upload, target,
              "uploading " + packaged.path.filename().string() + " (" + megabytes(packaged.size) +
                  ") to " + target.outcome.object_url);
    try {
        auto settings = run_.deps().uploads;
        settings.moved = [this, &target](std::uint64_t sent) { run_.report_bytes(target, sent); };
        const auto result = aws::upload_file(*run_.deps().aws.s3, target.credentials, target.bucket,
                                             write, packaged.path, settings);
        target.outcome.method = result.multipart ? "multipart" : "put";
        target.outcome.file_upload = FileUploadReport{result.multipart, result.parts, result.bytes};
        target.phase = Phase::finished;
        target.outcome.state = Outcome::State::published;
        run_.count_upload();
        run_.emit(EventType::success, target,
                  "published " + target.outcome.object_url +
                      (result.multipart ? " (" + std::to_string(result.parts) + " parts)" : ""),
                  since(started));
    } catch (const util::Interrupted& e) {
        run_.skip(target, std::string(e.what()) + "; nothing was left in the bucket");
    } catch (const std::exception& e) {
        run_.fail(target, describe_s3_error(target, e));
    }
}

}  // namespace assetctl::publish
