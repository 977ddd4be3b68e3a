// URLs from outside: endpoint settings (AWS_ENDPOINT_URL*, container credential URIs), token
// realms and upload Locations of registries. parse_url, then what assetctl does with a parsed
// URL or a raw one: the redacted form for logs, the container-URI policy, form encoding.
// Nothing may throw.
#include <cstddef>
#include <cstdint>

#include "aws/credential_providers.hpp"
#include "fuzz_support.hpp"
#include "http/redact.hpp"
#include "http/url.hpp"

using namespace assetctl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (const auto url = http::parse_url(text)) {
        (void)url->authority();
        (void)url->origin();
    }
    (void)http::url_for_log(text);
    (void)http::form_encode(text);
    (void)aws::is_allowed_container_uri(text);
    return 0;
}
