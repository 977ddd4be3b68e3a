// The user's docker configuration and the files beside it, as assetctl takes them in: the
// DOCKER_CONFIG config.json copied into the private folder (credsStore dropped, credHelpers
// and auths kept), a host forgotten before a login, the CDK Pipelines credential helper added;
// podman's REGISTRY_AUTH_FILE taken in; and CDK_DOCKER_CREDS_FILE
// (~/.cdk/cdk-docker-creds.json) parsed. The input is three parts cut at k_part_separator:
// config.json, the auth file, the cdk-docker-creds file. Only EngineError (what the private
// config raises) and CdkDockerCredsError may escape.
#include <cstddef>
#include <cstdint>

#include "docker/cdk_docker_creds.hpp"
#include "docker/engine_error.hpp"
#include "docker/private_docker_config.hpp"
#include "fuzz_support.hpp"

using namespace assetctl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 3);
    const auto user_dir = fuzz::fresh_scratch_folder("docker");
    fuzz::write_scratch_file("docker/config.json", parts[0]);
    const auto auth_file = fuzz::write_scratch_file("auth.json", parts[1]);
    try {
        docker::PrivateDockerConfig config(user_dir);
        config.forget_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com");
        (void)config.take_auth_file(auth_file);
        (void)config.add_credential_helper({"registry.example:5000"}, "cdk-assets",
                                           "/usr/bin/assetctl");
    } catch (const docker::EngineError&) {
    }
    try {
        const auto creds = docker::parse_cdk_docker_creds(parts[2], "cdk-docker-creds.json");
        (void)docker::cred_helper_keys(creds);
        (void)docker::find_domain(creds, "https://registry.example:5000/v1/");
    } catch (const docker::CdkDockerCredsError&) {
    }
    return 0;
}
