// What registries answer, read by the native push: `WWW-Authenticate` challenges, token
// answers, error bodies and how an answer is classified, upload `Location`s, references and
// digests; and two whole conversations over an HTTP client whose every answer is fuzzed (a
// push of a two-blob image with its manifest last, and a manifest HEAD + GET). The first byte
// picks which. Only the registry module's typed errors may escape: RegistryError,
// ProtocolError, http::TransportError and InvalidReference.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fuzz_support.hpp"
#include "registry/auth.hpp"
#include "registry/blob_source.hpp"
#include "registry/client.hpp"
#include "registry/location.hpp"
#include "registry/push.hpp"
#include "registry/reference.hpp"
#include "registry/registry_error.hpp"
#include "util/clock.hpp"

using namespace assetctl;

namespace {

void parse_answer_fields(fuzz::FuzzInput& input) {
    switch (input.byte() % 4) {
        case 0: {
            const auto response = fuzz::take_response(input);
            (void)registry::challenges_of(response);
            (void)registry::parse_challenges(response.body);
            break;
        }
        case 1:
            (void)registry::parse_token_response(input.rest());
            break;
        case 2: {
            const auto response = fuzz::take_response(input);
            (void)registry::parse_error_body(response.body);
            (void)registry::error_from_response("PUT manifest", response);
            (void)registry::classify_answer(response, registry::RetryScope::upload_session);
            break;
        }
        default: {
            const auto request = input.string(300);
            const auto location = input.string(300);
            (void)registry::resolve_location(request, location);
            (void)registry::add_query_parameter(location, "digest", "sha256:0");
            (void)registry::Digest::parse(location);
            (void)registry::credentials_from_basic_token(location);
            (void)registry::registry_host_of(location);
            (void)registry::parse_reference(request);
            break;
        }
    }
}

registry::RegistryClient make_client(fuzz::ScriptedHttp& http, const http::RetryContext& retry,
                                     const util::Clock& clock) {
    registry::ClientOptions options;
    options.docker_certs_dir.clear();
    return registry::RegistryClient(
        http, retry, clock, "registry.example:5000",
        std::make_shared<registry::StaticCredentials>(registry::Credentials{"AWS", "password"}),
        options);
}

void push_one_image(registry::RegistryClient& client) {
    const auto config = registry::make_memory_blob(R"({"rootfs":{"type":"layers","diff_ids":[]}})");
    const auto layer = registry::make_memory_blob(std::string(1000, 'x'));
    const std::string manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
        R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
        config->digest().str() + R"(","size":)" + std::to_string(config->size()) +
        R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
        layer->digest().str() + R"(","size":1000}]})";
    registry::PushOptions options;
    options.jobs = 1;
    options.mount_from = {"other"};
    (void)registry::push_image(client, "repo", "tag", {config, layer},
                               {"application/vnd.oci.image.manifest.v1+json", manifest}, options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput input(data, size);
    fuzz::ScriptedHttp http(input);
    fuzz::NoSleep no_sleep;
    const http::RetryContext retry{fuzz::k_fuzz_retry, no_sleep, [] { return 0.5; }};
    const util::FixedClock clock(std::chrono::system_clock::time_point(std::chrono::hours(490000)));
    try {
        switch (input.byte() % 3) {
            case 0:
                parse_answer_fields(input);
                break;
            case 1: {
                auto client = make_client(http, retry, clock);
                push_one_image(client);
                break;
            }
            default: {
                auto client = make_client(http, retry, clock);
                (void)client.manifest_exists("repo", "tag");
                (void)client.get_manifest("repo", "tag");
                break;
            }
        }
    } catch (const registry::RegistryError&) {
    } catch (const registry::ProtocolError&) {
    } catch (const http::TransportError&) {
    } catch (const registry::InvalidReference&) {
    }
    return 0;
}
