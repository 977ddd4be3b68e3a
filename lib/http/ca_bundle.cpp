#include "http/ca_bundle.hpp"

#include <filesystem>
#include <system_error>
#include <unistd.h>

namespace assetctl::http {

std::optional<std::string> discover_ca_bundle(const CaBundleHints& hints, const FileCheck& exists) {
    if (hints.ssl_cert_file) {
        return hints.ssl_cert_file;
    }
    if (hints.compiled_default && exists(*hints.compiled_default)) {
        return hints.compiled_default;
    }
    for (const auto candidate : k_known_ca_bundles) {
        std::string path(candidate);
        if (exists(path)) {
            return path;
        }
    }
    return std::nullopt;
}

bool is_readable_file(const std::string& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec) && ::access(path.c_str(), R_OK) == 0;
}

}  // namespace assetctl::http
