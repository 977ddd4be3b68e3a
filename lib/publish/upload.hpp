#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "publish/run_state.hpp"
#include "util/per_key.hpp"

namespace assetctl::publish {

// The upload node: puts one packaged file into one bucket. Before the first upload into a
// bucket (once per bucket and identity, however many assets go there) it checks that the
// destination's account owns the bucket (GetBucketLocation with ExpectedBucketOwner) and reads
// its default encryption (GetBucketEncryption), which every upload then mirrors: AES256, or
// aws:kms with the bucket's key - pipelines whose SCPs deny unencrypted puts need the header.
// No permission to read the encryption means no header, as cdk-assets does.
class FileUpload {
  public:
    explicit FileUpload(RunState& run) : run_(run) {}

    void upload(FileTargetState& target, const FileState& file);

  private:
    struct BucketFacts {
        std::mutex mutex;
        bool known = false;
        std::string error;  // the owner check failed: every upload into it fails so
        aws::BucketEncryption encryption;
    };

    std::shared_ptr<BucketFacts> facts_for(const FileTargetState& target);
    void learn(BucketFacts& facts, const FileTargetState& target);
    void put(FileTargetState& target, const packaging::PackagedFile& packaged,
             const aws::BucketEncryption& encryption);

    RunState& run_;
    util::PerKey<BucketFacts> buckets_;
};

}  // namespace assetctl::publish
