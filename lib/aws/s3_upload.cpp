#include "aws/s3_upload.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <system_error>

#include <spdlog/spdlog.h>

#include "crypto/crypto.hpp"
#include "http/http_client.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/interrupt.hpp"
#include "util/thread_pool.hpp"

namespace assetctl::aws {
namespace {

constexpr std::uint64_t k_max_parts = 10'000;

std::uint64_t size_of(const std::filesystem::path& file) {
    std::error_code error;
    const auto size = std::filesystem::file_size(file, error);
    if (error) {
        throw util::Fatal(util::ExitCode::input,
                          "cannot read " + file.string() + ": " + error.message());
    }
    return size;
}

// The slice's bytes read once from the file (never the whole range in memory) and hashed.
FileSlice hashed_slice(const std::filesystem::path& file, std::uint64_t offset,
                       std::uint64_t size) {
    try {
        return {file, offset, size, crypto::sha256_hex_of_file(file, offset, size)};
    } catch (const util::FileError& e) {
        throw util::Fatal(util::ExitCode::input, e.what());
    }
}

// The part size actually used: the wanted one, grown so that no more than 10,000 parts are
// needed (S3's limit).
std::uint64_t effective_part_size(std::uint64_t file_size, std::uint64_t wanted) {
    const std::uint64_t least = (file_size + k_max_parts - 1) / k_max_parts;
    return std::max({wanted, least, std::uint64_t{1}});
}

struct Plan {
    std::uint64_t file_size = 0;
    std::uint64_t part_size = 0;
    std::size_t parts = 0;
};

// Shared by the part uploads of one multipart upload: the first failure, and whether to go on.
class PartRun {
  public:
    explicit PartRun(std::function<bool()> stopping) : stopping_(std::move(stopping)) {}

    // False once a part failed or the run is stopping; then no new part starts.
    bool go_on() {
        std::lock_guard lock(mutex_);
        if (!error_ && !stopped_ && stopping_()) {
            stopped_ = true;
        }
        return !error_ && !stopped_;
    }
    void fail(std::exception_ptr error) {
        std::lock_guard lock(mutex_);
        if (!error_) {
            error_ = std::move(error);
        }
    }
    // Rethrows the first failure, or util::Interrupted when stopped.
    void rethrow() {
        std::lock_guard lock(mutex_);
        if (error_) {
            std::rethrow_exception(error_);
        }
        if (stopped_) {
            throw util::Interrupted("interrupted during a multipart upload");
        }
    }

  private:
    std::function<bool()> stopping_;
    std::mutex mutex_;
    std::exception_ptr error_;
    bool stopped_ = false;
};

struct UploadTarget {
    S3Api& s3;
    const AwsCredentials& caller;
    const BucketRef& bucket;
    const std::string& key;
    const std::string& upload_id;
};

// Every part, `part_jobs` at a time, each hashed and streamed from the file; in number order.
std::vector<UploadedPart> upload_parts(const UploadTarget& target,
                                       const std::filesystem::path& file, const Plan& plan,
                                       const UploadSettings& settings, PartRun& run) {
    std::vector<UploadedPart> parts(plan.parts);
    std::atomic<std::uint64_t> sent{0};
    {
        util::ThreadPool pool(std::clamp<std::size_t>(settings.part_jobs, 1, plan.parts));
        for (std::size_t index = 0; index < plan.parts; ++index) {
            pool.submit([&, index] {
                if (!run.go_on()) {
                    return;
                }
                try {
                    const std::uint64_t offset = index * plan.part_size;
                    const auto size = std::min(plan.part_size, plan.file_size - offset);
                    const int number = static_cast<int>(index + 1);
                    parts[index] = target.s3.upload_part(target.caller, target.bucket, target.key,
                                                         target.upload_id, number,
                                                         hashed_slice(file, offset, size));
                    if (settings.moved) {
                        settings.moved(sent += size);
                    }
                } catch (...) {
                    run.fail(std::current_exception());
                }
            });
        }
        pool.wait();
    }
    run.rethrow();
    return parts;
}

// Best effort: a failing abort is logged, never thrown over the error that caused it.
void abort_quietly(const UploadTarget& target) {
    try {
        target.s3.abort_multipart_upload(target.caller, target.bucket, target.key,
                                         target.upload_id);
        spdlog::debug("s3 aborted multipart upload of {}/{}", target.bucket.bucket, target.key);
    } catch (const std::exception& e) {
        spdlog::warn("s3 could not abort the multipart upload of {}/{} (id {}): {}",
                     target.bucket.bucket, target.key, target.upload_id, e.what());
    }
}

UploadResult upload_multipart(S3Api& s3, const AwsCredentials& caller, const BucketRef& bucket,
                              const ObjectWrite& write, const std::filesystem::path& file,
                              const Plan& plan, const UploadSettings& settings) {
    PartRun run(settings.stopping ? settings.stopping : [] { return util::interrupted(); });
    if (!run.go_on()) {
        run.rethrow();
    }
    const auto upload_id = s3.create_multipart_upload(caller, bucket, write);
    const UploadTarget target{s3, caller, bucket, write.key, upload_id};
    try {
        const auto parts = upload_parts(target, file, plan, settings, run);
        if (!run.go_on()) {
            run.rethrow();
        }
        s3.complete_multipart_upload(caller, bucket, write.key, upload_id, parts);
    } catch (...) {
        abort_quietly(target);
        throw;
    }
    return {true, plan.parts, plan.file_size};
}

}  // namespace

UploadResult upload_file(S3Api& s3, const AwsCredentials& caller, const BucketRef& bucket,
                         const ObjectWrite& write, const std::filesystem::path& file,
                         const UploadSettings& settings) {
    const auto file_size = size_of(file);
    if (file_size < settings.multipart_threshold) {
        s3.put_object(caller, bucket, write, hashed_slice(file, 0, file_size));
        if (settings.moved) {
            settings.moved(file_size);
        }
        return {false, 0, file_size};
    }
    Plan plan;
    plan.file_size = file_size;
    plan.part_size = effective_part_size(file_size, settings.part_size);
    plan.parts = static_cast<std::size_t>((file_size + plan.part_size - 1) / plan.part_size);
    if (plan.parts == 0) {  // an empty file at a threshold of 0: one empty part
        plan.parts = 1;
    }
    spdlog::debug("s3 multipart upload of {} ({} bytes) to {}/{}: {} parts of {} bytes",
                  file.string(), file_size, bucket.bucket, write.key, plan.parts, plan.part_size);
    return upload_multipart(s3, caller, bucket, write, file, plan, settings);
}

}  // namespace assetctl::aws
