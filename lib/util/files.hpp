#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace assetctl::util {

// A file could not be read; what() names the file and the system's reason.
class FileError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The whole file as bytes. Throws FileError.
std::string read_file(const std::filesystem::path& path);

// True when `inner` is `outer` or lies below it once both are made absolute, `.`/`..` are
// removed and existing symlinks are followed.
bool is_within(const std::filesystem::path& inner, const std::filesystem::path& outer);

}  // namespace assetctl::util
