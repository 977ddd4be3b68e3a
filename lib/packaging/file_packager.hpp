#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "manifest/model.hpp"
#include "process/process_runner.hpp"

// Turning a file asset's source into the one file that is uploaded, as cdk-assets does it.
namespace assetctl::packaging {

struct PackagedFile {
    std::filesystem::path path;  // the file to upload
    std::string content_type;    // application/zip for zips, else from the extension
    std::uint64_t size = 0;
    bool zipped = false;  // a zip was written by this call (false: cached or no zip)
};

// `source.path` with packaging `file`: that file. Packaging `zip`: the directory zipped
// deterministically into `<cache_dir>/<asset id>.zip` unless that file exists (cdk-assets'
// cache: cdk.out/.cache); a file with packaging zip is uploaded as is when it is already a
// zip. `source.path` must stay inside `assembly_root` (the top cloud assembly: a nested stage's
// manifest names `../asset.<hash>`); empty means `manifest_dir`. `source.executable`: run in
// `manifest_dir`, its trimmed stdout is the file (relative to manifest_dir), sent as
// application/zip whatever its name (cdk-assets 4.7.3 does so). Throws util::Fatal naming the
// asset on a missing source, a failing command or an unreadable directory.
PackagedFile package_file(const manifest::FileAsset& asset,
                          const std::filesystem::path& manifest_dir,
                          const std::filesystem::path& cache_dir, process::ProcessRunner& processes,
                          const std::filesystem::path& assembly_root = {});

}  // namespace assetctl::packaging
