#include "manifest/errors.hpp"

#include <algorithm>
#include <cctype>
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

std::string json_path_child(const std::string& parent, const std::string& key) {
    const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
    if (!plain) {
        std::string quoted = "[\"";
        for (char c : key) {
            if (c == '"' || c == '\\') {
                quoted += '\\';
            }
            quoted += c;
        }
        return parent + quoted + "\"]";
    }
    return parent.empty() ? key : parent + "." + key;
}

std::string json_path_index(const std::string& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

}  // namespace assetctl::manifest
