#include "support/temp_dir.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace assetctl::test {

TempDir::TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "assetctl-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::filesystem::path& relative,
                                     std::string_view content) const {
    const auto full = path_ / relative;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream out(full, std::ios::binary);
    out << content;
    if (!out) {
        throw std::runtime_error("cannot write " + full.string());
    }
    return full;
}

std::filesystem::path TempDir::mkdir(const std::filesystem::path& relative) const {
    const auto full = path_ / relative;
    std::filesystem::create_directories(full);
    return full;
}

std::filesystem::path fixtures_dir() {
    return ASSETCTL_FIXTURES_DIR;
}

}  // namespace assetctl::test
