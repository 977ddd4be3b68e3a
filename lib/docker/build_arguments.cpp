#include "docker/build_arguments.hpp"

#include <optional>

#include "util/strings.hpp"

namespace assetctl::docker {
namespace {

// The cache flag in the form the engine takes: the bare reference when it lacks the CSV form.
std::string cache_flag(const manifest::CacheOption& option, const BuildFeatures& features) {
    return !features.cache_csv && is_plain_registry_reference(option) ? option.params.front().second
                                                                      : csv_cache_flag(option);
}

// cdk-assets tests options with JS truthiness, so an empty string is the same as absent.
void add_option(std::vector<std::string>& args, const char* flag,
                const std::optional<std::string>& value) {
    if (value && !value->empty()) {
        args.emplace_back(flag);
        args.push_back(*value);
    }
}

}  // namespace

std::string local_image_tag(std::string_view asset_id) {
    return "cdkasset-" + util::to_lower(asset_id);
}

// The order and spelling follow cdk-assets' Docker.build (aws/aws-cdk-cli,
// packages/@aws-cdk/cdk-assets-lib/lib/private/docker.ts). Maps follow the manifest's key order;
// JS Object.entries would put integer-like keys (`"1"`) first in numeric order, which only a
// manifest with such build-arg names could tell apart. cdk-assets adds each output as a
// one-element array (`outputs.map(o => [`--output=${o}`])`, not flattened), which Node turns
// back into the string `--output=O`: the same argv.
std::vector<std::string> build_arguments(const manifest::DockerImageSource& source,
                                         const std::string& local_tag,
                                         const BuildFeatures& features) {
    std::vector<std::string> args = {"build"};
    for (const auto& [key, value] : source.docker_build_args) {
        args.emplace_back("--build-arg");
        args.push_back(key + "=" + value);
    }
    for (const auto& [key, value] : source.docker_build_contexts) {
        args.emplace_back("--build-context");
        args.push_back(key + "=" + value);
    }
    for (const auto& [key, value] : source.docker_build_secrets) {
        args.emplace_back("--secret");
        args.push_back("id=" + key + "," + value);
    }
    add_option(args, "--ssh", source.docker_build_ssh);
    args.emplace_back("--tag");
    args.push_back(local_tag);
    add_option(args, "--target", source.docker_build_target);
    add_option(args, "--file", source.docker_file);
    add_option(args, "--network", source.network_mode);
    add_option(args, "--platform", source.platform);
    for (const auto& output : source.docker_outputs) {
        args.push_back("--output=" + output);
    }
    for (const auto& cache : source.cache_from) {
        args.emplace_back("--cache-from");
        args.push_back(cache_flag(cache, features));
    }
    if (source.cache_to) {
        args.emplace_back("--cache-to");
        args.push_back(cache_flag(*source.cache_to, features));
    }
    if (source.cache_disabled.value_or(false)) {
        args.emplace_back("--no-cache");
    }
    args.emplace_back(".");
    return args;
}

std::string redacted_command_line(const std::vector<std::string>& argv) {
    constexpr std::string_view k_redacted = "<redacted>";
    std::vector<std::string> shown;
    shown.reserve(argv.size());
    for (std::size_t i = 0; i < argv.size(); ++i) {
        shown.push_back(argv[i]);
        if (i + 1 >= argv.size()) {
            break;
        }
        if (argv[i] == "--build-arg") {
            const auto& value = argv[++i];
            const auto equals = value.find('=');
            shown.push_back(equals == std::string::npos
                                ? value
                                : value.substr(0, equals + 1) + std::string(k_redacted));
        } else if (argv[i] == "--secret") {
            ++i;
            shown.emplace_back(k_redacted);
        }
    }
    return util::shell_join(shown);
}

}  // namespace assetctl::docker
