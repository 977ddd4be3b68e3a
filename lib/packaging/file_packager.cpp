#include "packaging/file_packager.hpp"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include "crypto/crypto.hpp"
#include "packaging/zip_directory.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/files.hpp"
#include "util/interrupt.hpp"
#include "util/strings.hpp"

namespace assetctl::packaging {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t k_stderr_tail_lines = 5;
constexpr const char* k_zip_type = "application/zip";

std::string asset_name(const manifest::FileAsset& asset) {
    return "file asset " + asset.id;
}

[[noreturn]] void refuse(const manifest::FileAsset& asset, const std::string& what,
                         std::string hint = {}) {
    throw util::Fatal(util::ExitCode::input, asset_name(asset) + ": " + what, std::move(hint));
}

// stat() following symlinks; nullopt when nothing is there.
std::optional<struct stat> stat_of(const fs::path& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        return std::nullopt;
    }
    return info;
}

std::uint64_t size_of(const struct stat& info) {
    return static_cast<std::uint64_t>(info.st_size);
}

PackagedFile regular_file(const manifest::FileAsset& asset, const fs::path& path,
                          std::string content_type) {
    const auto info = stat_of(path);
    const int error = errno;
    if (!info) {
        refuse(asset, "'" + path.string() + "' cannot be read: " + util::errno_message(error),
               "re-synthesize the app (cdk synth) so the cloud assembly holds its assets");
    }
    if (!S_ISREG(info->st_mode)) {
        refuse(asset, "'" + path.string() + "' is not a regular file");
    }
    return PackagedFile{path, std::move(content_type), size_of(*info), false};
}

// Whether the cached zip is the one this tool wrote: its sha256 equals what `checksum_file`
// (written beside it with the zip) says. A zip without one (written by cdk-assets, or before
// checksums were kept) or that changed since (a truncated copy, a disk error) is made again.
bool cached_zip_is_intact(const manifest::FileAsset& asset, const fs::path& zip_file,
                          const fs::path& checksum_file) {
    try {
        const auto expected = util::trim(util::read_file(checksum_file));
        if (crypto::sha256_hex_of_file(zip_file) == expected) {
            return true;
        }
        spdlog::warn("{}: the cached zip {} does not match its checksum; zipping the folder again",
                     asset_name(asset), zip_file.string());
    } catch (const util::FileError&) {
        spdlog::info("{}: the cached zip {} has no checksum; zipping the folder again",
                     asset_name(asset), zip_file.string());
    }
    return false;
}

// `<cache_dir>/<asset id>.zip`, reused when it is there and intact (cdk-assets' cache, plus
// `<asset id>.zip.sha256`), else written now: the zip, then its checksum, each renamed into
// place whole.
PackagedFile cached_zip(const manifest::FileAsset& asset, const fs::path& directory,
                        const fs::path& cache_dir) {
    if (asset.id.find_first_of(std::string("/\0", 2)) != std::string::npos) {
        refuse(asset, "the asset id cannot name a file of the zip cache");
    }
    const fs::path zip_file = cache_dir / (asset.id + ".zip");
    const fs::path checksum_file = cache_dir / (asset.id + ".zip.sha256");
    if (const auto info = stat_of(zip_file)) {
        if (!S_ISREG(info->st_mode)) {
            refuse(asset, "'" + zip_file.string() + "' is in the zip cache but not a file");
        }
        if (cached_zip_is_intact(asset, zip_file, checksum_file)) {
            spdlog::debug("{}: from cache {}", asset_name(asset), zip_file.string());
            return PackagedFile{zip_file, k_zip_type, size_of(*info), false};
        }
    }
    try {
        util::create_private_directories(cache_dir);
        spdlog::debug("{}: zip {} -> {}", asset_name(asset), directory.string(), zip_file.string());
        const ZipReport report = zip_directory(directory, zip_file);
        util::write_file_atomically(checksum_file, crypto::sha256_hex_of_file(zip_file) + "\n",
                                    fs::perms::owner_read | fs::perms::owner_write);
        return PackagedFile{zip_file, k_zip_type, report.bytes, true};
    } catch (const util::FileError& e) {
        throw util::Fatal(util::ExitCode::assets_failed, asset_name(asset) + ": " + e.what());
    }
}

PackagedFile zip_source(const manifest::FileAsset& asset, const fs::path& source,
                        const fs::path& cache_dir) {
    const auto info = stat_of(source);
    if (info && S_ISDIR(info->st_mode)) {
        return cached_zip(asset, source, cache_dir);
    }
    if (info && S_ISREG(info->st_mode) && content_type_for(source) == k_zip_type) {
        return PackagedFile{source, k_zip_type, size_of(*info), false};
    }
    refuse(asset,
           "packaging zip needs a folder or a .zip file, found " +
               (info ? "'" + source.string() + "'" : "nothing at '" + source.string() + "'"),
           "re-synthesize the app (cdk synth) so the cloud assembly holds its assets");
}

PackagedFile path_source(const manifest::FileAsset& asset, const std::string& relative,
                         const fs::path& manifest_dir, const fs::path& cache_dir,
                         const fs::path& assembly_root) {
    const fs::path source = manifest_dir / relative;
    const fs::path& root = assembly_root.empty() ? manifest_dir : assembly_root;
    if (!util::is_within(source, root)) {
        refuse(asset,
               "source path '" + relative + "' is outside the cloud assembly " + root.string(),
               "asset files must be inside the cloud assembly; re-synthesize with asset staging "
               "enabled (the default)");
    }
    if (asset.source.packaging == manifest::FilePackaging::zip) {
        return zip_source(asset, source, cache_dir);
    }
    return regular_file(asset, source, content_type_for(source));
}

[[noreturn]] void command_failed(const manifest::FileAsset& asset, const process::Command& command,
                                 const process::Result& result) {
    if (result.interrupted) {
        throw util::Interrupted(asset_name(asset) + ": interrupted");
    }
    const std::string how = result.timed_out ? "timed out"
                            : result.signal
                                ? "was killed by signal " + std::to_string(result.signal)
                                : "exited with " + std::to_string(result.exit_code);
    const auto tail = util::last_lines(util::split_lines(result.err), k_stderr_tail_lines);
    throw util::Fatal(util::ExitCode::assets_failed,
                      asset_name(asset) + ": command " + util::shell_join(command.argv) + " " +
                          how + (tail.empty() ? "" : ": " + util::join(tail, " | ")));
}

PackagedFile executable_source(const manifest::FileAsset& asset,
                               const std::vector<std::string>& argv, const fs::path& manifest_dir,
                               process::ProcessRunner& processes) {
    if (argv.empty()) {
        refuse(asset, "source.executable is an empty command");
    }
    process::Command command;
    command.argv = argv;
    command.working_directory = manifest_dir;
    process::Result result;
    try {
        result = processes.run(command);
    } catch (const process::SpawnError& e) {
        throw util::Fatal(
            util::ExitCode::assets_failed,
            asset_name(asset) + ": cannot run " + util::shell_join(argv) + ": " + e.what());
    }
    if (!result.ok()) {
        command_failed(asset, command, result);
    }
    const std::string printed = util::trim(result.out);
    if (printed.empty()) {
        refuse(asset, "command " + util::shell_join(argv) + " printed no file name");
    }
    return regular_file(asset, manifest_dir / printed, k_zip_type);
}

}  // namespace

PackagedFile package_file(const manifest::FileAsset& asset, const fs::path& manifest_dir,
                          const fs::path& cache_dir, process::ProcessRunner& processes,
                          const fs::path& assembly_root) {
    if (asset.source.executable) {
        return executable_source(asset, *asset.source.executable, manifest_dir, processes);
    }
    if (!asset.source.path) {
        refuse(asset, "source has neither path nor executable");
    }
    return path_source(asset, *asset.source.path, manifest_dir, cache_dir, assembly_root);
}

}  // namespace assetctl::packaging
