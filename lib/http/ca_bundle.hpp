#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace assetctl::http {

// Where Linux distributions keep the system's PEM CA bundle, in the order they are tried.
// libcurl knows only the one compiled into it (Debian's: the first), so a libcurl built on
// Debian (the self-contained tarball bundles one) finds no CAs on Amazon Linux or Fedora
// without this list.
inline constexpr std::array<std::string_view, 5> k_known_ca_bundles = {
    "/etc/ssl/certs/ca-certificates.crt",                 // Debian, Ubuntu, Alpine, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",                   // Amazon Linux, Fedora, RHEL, CentOS
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // RHEL and Fedora (the extracted file)
    "/etc/ssl/ca-bundle.pem",                             // openSUSE, SLES
    "/etc/ssl/cert.pem",                                  // Alpine, OpenWrt
};

// Whether a path names a readable regular file (or a link to one).
using FileCheck = std::function<bool(const std::string& path)>;

struct CaBundleHints {
    std::optional<std::string> ssl_cert_file;     // SSL_CERT_FILE, as OpenSSL tools read it
    std::optional<std::string> compiled_default;  // libcurl's own CAINFO default, if any
};

// The CA bundle to trust when none is configured (AWS_CA_BUNDLE or a profile's ca_bundle
// come first, as ClientOptions::ca_bundle): SSL_CERT_FILE as given; else libcurl's compiled-in
// bundle when it exists; else the first of k_known_ca_bundles that exists. nullopt when none
// exists: libcurl keeps its default and its TLS error names the missing file.
std::optional<std::string> discover_ca_bundle(const CaBundleHints& hints, const FileCheck& exists);

// The real FileCheck: a readable regular file.
bool is_readable_file(const std::string& path);

}  // namespace assetctl::http
