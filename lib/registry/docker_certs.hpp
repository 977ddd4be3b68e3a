#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/http_client.hpp"

namespace assetctl::registry {

// Where docker reads a registry's own CA certificates (no daemon restart needed).
inline constexpr std::string_view k_docker_certs_dir = "/etc/docker/certs.d";

// The CA files docker trusts for the registry `host` (`host[:port]`, as written in the image
// name, which is how docker names the folder) on top of the system's: `<certs_dir>/<host>/*.crt`,
// sorted by name. Empty when that folder does not exist. Client certificates (`*.cert` +
// `*.key`) are not looked at. A folder that exists but cannot be listed is an
// http::TransportError of kind tls (docker refuses to push then, too).
std::vector<std::filesystem::path> docker_ca_files(const std::filesystem::path& certs_dir,
                                                   std::string_view host);

// The PEM text of docker_ca_files(certs_dir, host), one after the other; nullptr when there are
// none. Throws util::FileError for a file that cannot be read.
std::shared_ptr<const std::string> docker_ca_pem(const std::filesystem::path& certs_dir,
                                                 std::string_view host);

// Passes every request on to `inner`, adding `extra_ca_pem` (when not null) to those whose URL is
// on `origin` (`scheme://host[:port]`): a registry's own CAs go to that registry only, not to a
// token service or storage redirect elsewhere.
class OriginTrustClient final : public http::HttpClient {
  public:
    OriginTrustClient(http::HttpClient& inner, std::string origin,
                      std::shared_ptr<const std::string> extra_ca_pem);
    http::Response send(const http::Request& request) override;

  private:
    bool on_origin(std::string_view url) const;

    http::HttpClient& inner_;
    const std::string origin_;
    const std::shared_ptr<const std::string> extra_ca_pem_;
};

}  // namespace assetctl::registry
