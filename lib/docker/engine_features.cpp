#include "docker/engine_features.hpp"

#include <charconv>
#include <chrono>
#include <optional>
#include <utility>

#include "util/strings.hpp"

namespace assetctl::docker {
namespace {

constexpr std::chrono::milliseconds k_version_timeout{15'000};
constexpr int k_first_docker_with_buildx_build = 23;

// The leading number of `20.10.24+dfsg1` or `v1.2.0`; -1 when there is none.
int major_version(std::string_view version) {
    if (!version.empty() && version.front() == 'v') {
        version.remove_prefix(1);
    }
    int major = -1;
    const auto [end, error] =
        std::from_chars(version.data(), version.data() + version.size(), major);
    return error == std::errc() && end != version.data() ? major : -1;
}

// Runs a short engine query; nullopt when it cannot start, times out or fails.
std::optional<std::string> query(process::ProcessRunner& runner, std::vector<std::string> argv) {
    process::Command command;
    command.argv = std::move(argv);
    command.timeout = k_version_timeout;
    try {
        const auto result = runner.run(command);
        if (result.ok()) {
            return result.out;
        }
    } catch (const process::SpawnError&) {
    }
    return std::nullopt;
}

// The `type=` of an output such as `type=local,dest=out`; without one, what docker makes of it:
// `dest=-` (or `-`) is a tar on stdout, any other destination a local folder.
std::string output_type(std::string_view output) {
    std::string destination;
    while (!output.empty()) {
        const auto comma = output.find(',');
        const std::string item = util::trim(output.substr(0, comma));
        output.remove_prefix(comma == std::string_view::npos ? output.size() : comma + 1);
        if (item.rfind("type=", 0) == 0) {
            return util::to_lower(util::trim(item.substr(5)));
        }
        if (item.rfind("dest=", 0) == 0) {
            destination = item.substr(5);
        } else if (item.find('=') == std::string::npos) {
            destination = item;
        }
    }
    return destination == "-" ? "tar" : "local";
}

}  // namespace

// cdk-assets' cacheOptionToFlag: `type=T` then `,k=v` per param in the manifest's order, no
// quoting. Divergence: for `"params": {}` cdk-assets writes `type=T,` (an empty object is
// truthy in JS); the model cannot tell an empty object from no params, so that is `type=T`.
std::string csv_cache_flag(const manifest::CacheOption& option) {
    std::string flag = "type=" + option.type;
    for (const auto& [key, value] : option.params) {
        flag += "," + key + "=" + value;
    }
    return flag;
}

bool is_plain_registry_reference(const manifest::CacheOption& option) {
    return option.type == "registry" && option.params.size() == 1 &&
           option.params.front().first == "ref";
}

bool names_tag_or_digest(std::string_view reference) {
    if (reference.find('@') != std::string_view::npos) {
        return true;
    }
    const auto slash = reference.rfind('/');
    const auto last = slash == std::string_view::npos ? reference : reference.substr(slash + 1);
    return last.find(':') != std::string_view::npos;
}

EngineIdentity parse_version_line(std::string_view line) {
    const std::string text = util::trim(line);
    const auto marker = util::to_lower(text).find(" version ");
    EngineIdentity identity;
    if (marker == std::string::npos || marker == 0) {
        return identity;
    }
    identity.name = util::to_lower(text.substr(0, marker));
    std::string rest = text.substr(marker + 9);
    identity.version = util::trim(rest.substr(0, rest.find(',')));
    if (identity.name == "docker") {
        identity.backend = major_version(identity.version) < k_first_docker_with_buildx_build
                               ? BuildBackend::builtin_buildkit
                               : BuildBackend::legacy_builder;  // until buildx is found
    } else if (identity.name == "podman") {
        identity.backend = BuildBackend::podman;
    }
    return identity;
}

EngineIdentity identify_engine(process::ProcessRunner& runner, const std::string& executable) {
    const auto version = query(runner, {executable, "--version"});
    if (!version) {
        return {};
    }
    const auto lines = util::split_lines(*version);
    auto identity = parse_version_line(lines.empty() ? std::string() : lines.front());
    if (identity.backend == BuildBackend::builtin_buildkit && major_version(identity.version) < 0) {
        identity.backend = BuildBackend::unknown;  // a docker that does not say its version
    }
    if (identity.backend == BuildBackend::legacy_builder &&
        query(runner, {executable, "buildx", "version"})) {
        identity.backend = BuildBackend::buildx;
    }
    return identity;
}

std::string describe(const EngineIdentity& engine) {
    const std::string name = engine.name.empty() ? std::string("the engine") : engine.name;
    std::string text = engine.version.empty() ? name : name + " " + engine.version;
    switch (engine.backend) {
        case BuildBackend::builtin_buildkit:
            return text + " (BuildKit built into dockerd, no buildx)";
        case BuildBackend::legacy_builder:
            return text + " (no buildx plugin: the classic builder)";
        case BuildBackend::buildx:
            return text + " (buildx)";
        case BuildBackend::podman:
        case BuildBackend::unknown:
            break;
    }
    return text;
}

BuildFeatures build_features(BuildBackend backend) {
    BuildFeatures features;
    switch (backend) {
        case BuildBackend::buildx:
        case BuildBackend::unknown:
            break;
        case BuildBackend::builtin_buildkit:
            features.build_contexts = false;
            features.cache_to = false;
            features.cache_csv = false;
            features.outputs_any_type = false;
            break;
        case BuildBackend::legacy_builder:
            features = BuildFeatures{false, false, false, false, false, false, false};
            break;
        case BuildBackend::podman:
            features.cache_csv = false;
            features.cache_ref_tagged = false;
            features.outputs_any_type = false;
            break;
    }
    return features;
}

std::vector<OptionSupport> engine_dependent_options(const manifest::DockerImageSource& source,
                                                    const BuildFeatures& features) {
    std::vector<OptionSupport> options;
    const auto add = [&options](std::string option, std::string flag, bool supported) {
        options.push_back({std::move(option), std::move(flag), supported});
    };
    for (const auto& [id, value] : source.docker_build_secrets) {
        add("dockerBuildSecrets." + id, "--secret id=" + id + ",...", features.secrets);
    }
    if (source.docker_build_ssh && !source.docker_build_ssh->empty()) {
        add("dockerBuildSsh", "--ssh " + *source.docker_build_ssh, features.ssh);
    }
    for (const auto& [name, value] : source.docker_build_contexts) {
        add("dockerBuildContexts." + name, "--build-context " + name + "=" + value,
            features.build_contexts);
    }
    for (const auto& output : source.docker_outputs) {
        const std::string type = output_type(output);
        const bool basic = type == "local" || type == "tar";
        add("dockerOutputs", "--output=" + output,
            features.outputs && (basic || features.outputs_any_type));
    }
    // The reference as the engine would get it, when it cannot take it (empty: it can).
    const auto refused_cache = [&features](const manifest::CacheOption& cache) -> std::string {
        if (!features.cache_csv && !is_plain_registry_reference(cache)) {
            return csv_cache_flag(cache);
        }
        if (!features.cache_ref_tagged && is_plain_registry_reference(cache) &&
            names_tag_or_digest(cache.params.front().second)) {
            return features.cache_csv ? csv_cache_flag(cache) : cache.params.front().second;
        }
        return {};
    };
    for (const auto& cache : source.cache_from) {
        const auto refused = refused_cache(cache);
        add("cacheFrom", "--cache-from " + (refused.empty() ? csv_cache_flag(cache) : refused),
            refused.empty());
    }
    if (source.cache_to) {
        const auto refused = features.cache_to ? refused_cache(*source.cache_to) : std::string();
        add("cacheTo",
            "--cache-to " + (refused.empty() ? csv_cache_flag(*source.cache_to) : refused),
            features.cache_to && refused.empty());
    }
    return options;
}

std::vector<std::string> unsupported_options(const manifest::DockerImageSource& source,
                                             const BuildFeatures& features) {
    std::vector<std::string> problems;
    for (const auto& option : engine_dependent_options(source, features)) {
        if (!option.supported) {
            problems.push_back(option.option + " (" + option.flag + ")");
        }
    }
    return problems;
}

std::string unsupported_hint(const EngineIdentity& engine) {
    switch (engine.backend) {
        case BuildBackend::builtin_buildkit:
        case BuildBackend::legacy_builder:
            return "install docker 23 or later with the buildx plugin (Debian/Ubuntu: "
                   "docker-buildx), or drop the option from the asset";
        case BuildBackend::podman:
            return "podman takes only a plain registry reference (type=registry with just ref, "
                   "a repository without tag or digest) for the cache options and local/tar "
                   "outputs; use docker with buildx for the others";
        case BuildBackend::buildx:
        case BuildBackend::unknown:
            break;
    }
    return "use an engine that supports the option";
}

}  // namespace assetctl::docker
