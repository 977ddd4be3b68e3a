#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "manifest/model.hpp"
#include "process/process_runner.hpp"

namespace assetctl::docker {

// Which engine CLI runs `build`, told apart by its `--version` line, and so which of the
// manifest's build options it can honour (docs/engines.md).
enum class BuildBackend {
    buildx,            // docker 23+ with the buildx plugin: every option
    builtin_buildkit,  // docker before 23: BuildKit inside dockerd, no buildx flags
    legacy_builder,    // docker 23+ without buildx: the classic builder, no BuildKit flags
    podman,            // podman (buildah): bare references for the cache options
    unknown,           // finch, nerdctl, anything else: given cdk-assets' argv unchanged
};

struct EngineIdentity {
    BuildBackend backend = BuildBackend::unknown;
    std::string name;     // docker, podman, finch, ... as the version line says
    std::string version;  // the client version, e.g. 20.10.24+dfsg1
};

// `docker version 20.10.24+dfsg1, build 297e128` / `podman version 4.3.1` /
// `finch version v1.2.0`: the name and version (a line not of that shape: unknown).
EngineIdentity parse_version_line(std::string_view line);

// Runs `<executable> --version` and, for docker 23+, `<executable> buildx version`, with
// timeouts. An engine that does not answer is `unknown` (no option is refused for it).
EngineIdentity identify_engine(process::ProcessRunner& runner, const std::string& executable);

// `docker 20.10.24+dfsg1 (BuildKit built into dockerd, no buildx)`: for messages.
std::string describe(const EngineIdentity& engine);

// What a backend can do with the options cdk-assets passes to `build`.
struct BuildFeatures {
    bool ssh = true;
    bool secrets = true;
    bool build_contexts = true;
    bool cache_to = true;
    // `--cache-from type=T,k=v` (BuildKit's CSV form); without it only a plain image reference
    // is understood, so `type=registry,ref=R` is passed as `R`.
    bool cache_csv = true;
    // A registry cache reference may name a tag or digest (BuildKit's `ref=repo:cache`). podman
    // 4.3 (buildah) takes a repository only: it stores one tag per cached layer there, and
    // refuses `repo:tag` / `repo@digest` before building ("repository must contain neither a tag
    // nor digest", exit 125).
    bool cache_ref_tagged = true;
    bool outputs = true;           // `--output type=local|tar,dest=...`
    bool outputs_any_type = true;  // every other output type (docker, oci, image, registry)
};

BuildFeatures build_features(BuildBackend backend);

// One manifest option whose support depends on the engine, as a source uses it.
struct OptionSupport {
    std::string option;  // the manifest's field: dockerBuildSsh, cacheTo, dockerOutputs, ...
    std::string flag;    // the build flag it becomes: `--ssh default`, `--cache-to type=...`
    bool supported = true;
};

// The engine-dependent options the source uses (ssh, secrets, build contexts, outputs, cache
// options), in cdk-assets' argv order, each with whether `features` honour it.
std::vector<OptionSupport> engine_dependent_options(const manifest::DockerImageSource& source,
                                                    const BuildFeatures& features);

// BuildKit's CSV form of a cache option, as cdk-assets writes it: `type=T,k=v,...`.
std::string csv_cache_flag(const manifest::CacheOption& option);

// `type=registry` with `ref` as its only parameter: the one cache option an engine without the
// CSV form can take (as the bare reference).
bool is_plain_registry_reference(const manifest::CacheOption& option);

// Whether an image reference names a tag or digest: `repo:tag`, `host:5000/repo:tag`,
// `repo@sha256:...` (a port, `host:5000/repo`, is not a tag).
bool names_tag_or_digest(std::string_view reference);

// The options of `source` that the engine cannot honour, one line each naming the manifest
// field and the flag, e.g. "cacheTo (--cache-to type=local,dest=x)". Empty when the build can
// run.
std::vector<std::string> unsupported_options(const manifest::DockerImageSource& source,
                                             const BuildFeatures& features);

// What to tell the user to do about unsupported options on this engine.
std::string unsupported_hint(const EngineIdentity& engine);

}  // namespace assetctl::docker
