#include "registry/docker_certs.hpp"

#include <algorithm>
#include <system_error>
#include <utility>

#include "util/files.hpp"
#include "util/strings.hpp"

namespace assetctl::registry {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void cannot_list(const fs::path& folder, const std::error_code& error) {
    throw http::TransportError(
        http::TransportErrorKind::tls,
        "cannot read docker's certificates folder " + folder.string() + ": " + error.message());
}

}  // namespace

std::vector<fs::path> docker_ca_files(const fs::path& certs_dir, std::string_view host) {
    const fs::path folder = certs_dir / std::string(host);
    std::error_code error;
    if (!fs::is_directory(folder, error)) {
        if (error && error != std::errc::no_such_file_or_directory) {
            cannot_list(folder, error);
        }
        return {};
    }
    std::vector<fs::path> files;
    fs::directory_iterator entries(folder, error);
    for (; !error && entries != fs::directory_iterator(); entries.increment(error)) {
        const auto& path = entries->path();
        if (path.extension() == ".crt" && entries->is_regular_file(error)) {
            files.push_back(path);
        }
    }
    if (error) {
        cannot_list(folder, error);
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::shared_ptr<const std::string> docker_ca_pem(const fs::path& certs_dir, std::string_view host) {
    const auto files = docker_ca_files(certs_dir, host);
    if (files.empty()) {
        return nullptr;
    }
    std::string pem;
    for (const auto& file : files) {
        pem += util::read_file(file);
        if (!pem.empty() && pem.back() != '\n') {
            pem += '\n';
        }
    }
    return std::make_shared<const std::string>(std::move(pem));
}

OriginTrustClient::OriginTrustClient(http::HttpClient& inner, std::string origin,
                                     std::shared_ptr<const std::string> extra_ca_pem)
    : inner_(inner), origin_(std::move(origin)), extra_ca_pem_(std::move(extra_ca_pem)) {}

http::Response OriginTrustClient::send(const http::Request& request) {
    if (!extra_ca_pem_ || !on_origin(request.url)) {
        return inner_.send(request);
    }
    http::Request trusted = request;
    trusted.extra_ca_pem = extra_ca_pem_;
    return inner_.send(trusted);
}

bool OriginTrustClient::on_origin(std::string_view url) const {
    if (!util::to_lower(url.substr(0, origin_.size())).starts_with(util::to_lower(origin_))) {
        return false;
    }
    const auto rest = url.substr(origin_.size());
    return rest.empty() || rest.front() == '/' || rest.front() == '?';
}

}  // namespace assetctl::registry
