#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "docker/engine_features.hpp"
#include "manifest/model.hpp"

namespace assetctl::docker {

// The local tag cdk-assets gives a directory asset's build: `cdkasset-<asset id lowercased>`.
std::string local_image_tag(std::string_view asset_id);

// The arguments after the executable for `docker build` of a directory source, in the order
// cdk-assets writes them (its Docker.build, lib/private/docker.ts):
//   build [--build-arg K=V]... [--build-context K=V]... [--secret id=K,V]... [--ssh S]
//   --tag <local_tag> [--target T] [--file F] [--network N] [--platform P] [--output=O]...
//   [--cache-from type=T,k=v...]... [--cache-to type=T,k=v...] [--no-cache] .
// (`--file` is passed as written in the manifest; the process runs in the build context.)
// Like cdk-assets, an optional string option that is empty is left out. For an engine without
// BuildKit's CSV cache form (`features.cache_csv` false: docker before 23, podman), a
// `type=registry` cache option whose only parameter is `ref` is passed as that bare reference,
// which is what such an engine takes (others are refused earlier, by unsupported_options).
std::vector<std::string> build_arguments(const manifest::DockerImageSource& source,
                                         const std::string& local_tag,
                                         const BuildFeatures& features = {});

// `argv` (a build command) as logs show it, shell-quoted, with the value of every
// `--build-arg NAME=VALUE` replaced by `<redacted>` (the name stays: it says which one) and every
// `--secret` spec replaced whole, as cdk-assets redacts them: build arguments carry tokens more
// often than they should. Only logs get this; the engine gets the real values.
std::string redacted_command_line(const std::vector<std::string>& argv);

}  // namespace assetctl::docker
