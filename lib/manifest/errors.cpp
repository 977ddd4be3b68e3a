#include "manifest/errors.hpp"

#include <utility>

namespace assetctl::manifest {
namespace {

std::string render(const std::filesystem::path& file, const std::string& json_path,
                   const std::string& detail) {
    std::string out = file.string();
    if (!json_path.empty()) {
        out += ": " + json_path;
    }
    out += ": " + detail;
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
