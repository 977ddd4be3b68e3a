#pragma once

#include <filesystem>
#include <string>

#include "util/error.hpp"
#include "util/json_node.hpp"

namespace assetctl::manifest {

// Bad input in a manifest or cloud assembly. The message is one line:
//   `<file>: <json path>: <what is wrong>`
// and the fields are kept apart so callers and tests need not parse it.
class ManifestError : public util::Fatal {
  public:
    ManifestError(std::filesystem::path file, std::string json_path, std::string detail,
                  std::string hint = {});

    const std::filesystem::path& file() const noexcept { return file_; }
    const std::string& json_path() const noexcept { return json_path_; }
    const std::string& detail() const noexcept { return detail_; }

  private:
    std::filesystem::path file_;
    std::string json_path_;
    std::string detail_;
};

// JSON paths are util's (`parent.key`, `parent["key"]`, `parent[3]`).
using util::json_path_child;
using util::json_path_index;

}  // namespace assetctl::manifest
