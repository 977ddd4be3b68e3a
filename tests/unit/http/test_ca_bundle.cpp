// CA bundle discovery: which file libcurl is told to trust when nothing is configured, over a
// scripted set of existing files.
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "http/ca_bundle.hpp"
#include "support/temp_dir.hpp"

using namespace assetctl;

namespace {

const std::string k_debian = "/etc/ssl/certs/ca-certificates.crt";
const std::string k_amazon = "/etc/pki/tls/certs/ca-bundle.crt";

// A FileCheck answering from a fixed set, recording every path it was asked about.
struct Files {
    std::set<std::string> present;
    std::vector<std::string> asked;

    http::FileCheck check() {
        return [this](const std::string& path) {
            asked.push_back(path);
            return present.count(path) > 0;
        };
    }
};

}  // namespace

TEST_CASE("SSL_CERT_FILE is taken as given, without looking at any file") {
    Files files{{k_debian}, {}};
    const auto found = http::discover_ca_bundle({"/my/ca.pem", k_debian}, files.check());
    CHECK(found == std::optional<std::string>("/my/ca.pem"));
    CHECK(files.asked.empty());
}

TEST_CASE("libcurl's compiled-in bundle is kept when it exists") {
    Files files{{k_debian, k_amazon}, {}};
    CHECK(http::discover_ca_bundle({std::nullopt, k_debian}, files.check()) == k_debian);
}

TEST_CASE("on Amazon Linux (no Debian bundle) the Red Hat path is found") {
    Files files{{k_amazon}, {}};
    CHECK(http::discover_ca_bundle({std::nullopt, k_debian}, files.check()) == k_amazon);
    CHECK(files.asked.front() == k_debian);
}

TEST_CASE("known bundles are tried in order; the first that exists wins") {
    Files files{{"/etc/ssl/cert.pem", "/etc/ssl/ca-bundle.pem"}, {}};
    CHECK(http::discover_ca_bundle({std::nullopt, std::nullopt}, files.check()) ==
          "/etc/ssl/ca-bundle.pem");
}

TEST_CASE("no bundle anywhere: nullopt, libcurl keeps its default") {
    Files files;
    CHECK_FALSE(http::discover_ca_bundle({std::nullopt, "/opt/curl/ca.crt"}, files.check()));
    CHECK(files.asked.size() == 1 + http::k_known_ca_bundles.size());
}

TEST_CASE("is_readable_file: a regular file yes, a folder or a missing path no") {
    test::TempDir dir;
    const auto file = dir.write("ca.pem", "pem");
    CHECK(http::is_readable_file(file.string()));
    CHECK_FALSE(http::is_readable_file(dir.path().string()));
    CHECK_FALSE(http::is_readable_file((dir.path() / "missing.pem").string()));
}
