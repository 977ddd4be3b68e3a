// Credentials documents from outside the process: the ECS container endpoint's JSON, EC2
// instance metadata (IMDSv2: token, role name, credentials JSON), each answer fuzzed through
// the HTTP client; and the small texts they carry or configure: ISO 8601 expirations (which
// must survive format -> parse unchanged) and credential_process command lines. The first byte
// picks which. Only CredentialsError may escape the providers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "aws/credential_providers.hpp"
#include "fuzz_support.hpp"
#include "util/environment.hpp"
#include "util/time.hpp"

using namespace assetctl;

namespace {

void resolve_quietly(aws::CredentialsProvider& provider) {
    try {
        (void)provider.resolve();
    } catch (const aws::CredentialsError&) {
    }
}

void parse_time(std::string_view text) {
    const auto time = util::parse_iso8601(text);
    if (time && util::parse_iso8601(util::format_iso8601(*time)) !=
                    std::chrono::time_point_cast<std::chrono::seconds>(*time)) {
        std::abort();  // format_iso8601 wrote something parse_iso8601 reads differently
    }
}

void split_command(std::string_view text) {
    try {
        (void)aws::split_command_line(text);
    } catch (const std::invalid_argument&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput input(data, size);
    const auto which = input.byte() % 4;
    fuzz::ScriptedHttp http(input);
    fuzz::NoSleep no_sleep;
    switch (which) {
        case 0: {
            const util::MapEnvironment env{
                {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/fuzz"},
                {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "token"}};
            aws::ContainerProvider provider(env, http, no_sleep);
            resolve_quietly(provider);
            break;
        }
        case 1: {
            const util::MapEnvironment env{
                {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1"}};
            aws::InstanceMetadataProvider provider(env, http);
            resolve_quietly(provider);
            break;
        }
        case 2:
            parse_time(input.rest());
            break;
        default:
            split_command(input.rest());
            break;
    }
    return 0;
}
