#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>

#include "aws/s3.hpp"

namespace assetctl::aws {

// Files of at least this size go up as a multipart upload, in parts of k_default_part_size.
// (Chosen by measurement: bench/README.md, "S3 multipart threshold".)
inline constexpr std::uint64_t k_default_multipart_threshold = 64ull << 20;
inline constexpr std::uint64_t k_default_part_size = 16ull << 20;
inline constexpr std::size_t k_default_part_jobs = 4;

struct UploadSettings {
    std::uint64_t multipart_threshold = k_default_multipart_threshold;
    std::uint64_t part_size = k_default_part_size;  // grown when 10,000 parts would not do
    std::size_t part_jobs = k_default_part_jobs;    // parts of one upload in flight at once
    // Polled between parts: true (SIGINT) aborts the multipart upload and throws
    // util::Interrupted. Null: util::interrupted().
    std::function<bool()> stopping = {};
    // When set, hears the bytes sent so far after each part (or the PutObject), from the
    // thread that sent it.
    std::function<void(std::uint64_t total)> moved = {};
};

struct UploadResult {
    bool multipart = false;
    std::size_t parts = 0;  // 0 for a PutObject
    std::uint64_t bytes = 0;
};

// Puts `file` at bucket/write.key: one PutObject below the threshold, otherwise a multipart
// upload whose parts are read from the file (never the whole file in memory), hashed, and sent
// `part_jobs` at a time. Any failure, and stopping(), aborts the multipart upload
// (AbortMultipartUpload) before the error is rethrown, so no partial object is ever visible
// or billed. Throws what S3Api throws, util::Interrupted, or util::Fatal for an unreadable file.
UploadResult upload_file(S3Api& s3, const AwsCredentials& caller, const BucketRef& bucket,
                         const ObjectWrite& write, const std::filesystem::path& file,
                         const UploadSettings& settings = {});

}  // namespace assetctl::aws
