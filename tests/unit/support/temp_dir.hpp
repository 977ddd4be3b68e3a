#pragma once

#include <filesystem>
#include <string_view>

namespace assetctl::test {

// A fresh private folder under $TMPDIR, removed with everything in it on destruction.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    // Writes `content` to `relative` (creating parent folders) and returns the full path.
    std::filesystem::path write(const std::filesystem::path& relative,
                                std::string_view content) const;
    std::filesystem::path mkdir(const std::filesystem::path& relative) const;

  private:
    std::filesystem::path path_;
};

// The committed fixtures folder (tests/fixtures).
std::filesystem::path fixtures_dir();

}  // namespace assetctl::test
