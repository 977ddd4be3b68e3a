#include "manifest/errors.hpp"

#include <utility>

namespace assetctl::manifest {
namespace {

std::string render(const std::filesystem::path& file, const std::string& json_path,
                   const std::string& detail) {
    // Appended piece by piece: `out += ": " + x` makes GCC 12 at -O3 (the Release build) warn
    // -Wrestrict about the temporary (a false positive, GCC bug 105329).
    std::string out = file.string();
    if (!json_path.empty()) {
        out.append(": ").append(json_path);
    }
    out.append(": ").append(detail);
    return out;
}

}  // namespace

ManifestError::ManifestError(std::filesystem::path file, std::string json_path, std::string detail,
                             std::string hint)
    : util::Fatal(util::ExitCode::input, render(file, json_path, detail), std::move(hint)),
      file_(std::move(file)),
      json_path_(std::move(json_path)),
      detail_(std::move(detail)) {}

}  // namespace assetctl::manifest
