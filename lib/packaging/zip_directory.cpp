#include "packaging/zip_directory.hpp"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include "packaging/pending_file.hpp"
#include "packaging/zip_sources.hpp"
#include "packaging/zip_writer.hpp"
#include "util/error.hpp"

namespace assetctl::packaging {

ZipReport zip_directory(const std::filesystem::path& directory,
                        const std::filesystem::path& zip_file) {
    const std::vector<ZipSource> sources = list_zip_sources(directory);
    PendingFile pending(zip_file);
    ZipWriter writer(pending.fd(), zip_file.string());
    for (const ZipSource& source : sources) {
        writer.add(source);
    }
    writer.finish();
    struct stat info {};
    if (::fstat(pending.fd(), &info) != 0) {
        throw util::Fatal(
            util::ExitCode::assets_failed,
            pending.temporary_path().string() + ": cannot stat it: " + util::errno_message(errno));
    }
    pending.commit();
    spdlog::debug("zipped {} ({} files) into {} ({} bytes)", directory.string(), sources.size(),
                  zip_file.string(), info.st_size);
    return ZipReport{writer.entries(), static_cast<std::uint64_t>(info.st_size)};
}

}  // namespace assetctl::packaging
