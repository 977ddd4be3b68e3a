#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace assetctl::publish {

// A build's full output, kept on disk for after the run (`<directory>/<asset id>.log`); writes
// nothing when `directory` is empty or cannot be made.
class BuildLog {
  public:
    BuildLog(const std::filesystem::path& directory, const std::string& asset);
    void write(std::string_view line);

  private:
    std::ofstream out_;
};

}  // namespace assetctl::publish
