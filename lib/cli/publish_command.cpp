#include "cli/publish_command.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "cli/assembly_input.hpp"
#include "cli/aws_setup.hpp"
#include "cli/ci_reports.hpp"
#include "cli/credential_helper_command.hpp"
#include "docker/cdk_docker_creds.hpp"
#include "docker/engine.hpp"
#include "docker/engine_client.hpp"
#include "image/layer_cache.hpp"
#include "image/layer_store.hpp"
#include "image/native_pusher.hpp"
#include "manifest/assembly.hpp"
#include "manifest/sources.hpp"
#include "report/json_sink.hpp"
#include "report/summary.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/interrupt.hpp"
#include "util/run_folders.hpp"
#include "util/strings.hpp"

namespace assetctl::cli {
namespace fs = std::filesystem;

namespace {

// The selected assets, their sources checked on disk before any work starts.
manifest::Selection select_and_check(const manifest::Assembly& assembly, const PublishArgs& args) {
    auto selection = select_assets_for(assembly, args.selectors, args.stacks);
    if (args.refine) {
        args.refine(selection);
    }
    for (const auto& selected : selection.docker_images) {
        manifest::check_docker_source(selected.origin, selected.asset, assembly.root);
    }
    for (const auto& selected : selection.files) {
        manifest::check_file_source(selected.origin, selected.asset, assembly.root);
    }
    return selection;
}

// Whether a selected image's build reads or writes a registry cache (cacheFrom, cacheTo of
// type=registry): the engine is then logged in to that destination before the build.
bool uses_registry_cache(const manifest::Selection& selection) {
    const auto is_registry = [](const manifest::CacheOption& option) {
        return option.type == "registry";
    };
    return std::ranges::any_of(selection.docker_images, [&](const auto& selected) {
        const auto& source = selected.asset.source;
        return std::ranges::any_of(source.cache_from, is_registry) ||
               (source.cache_to && is_registry(*source.cache_to));
    });
}

// Publishing logs in: into a private DOCKER_CONFIG that keeps the user's other settings.
void make_private_docker_config(publish::Mode mode, const PublishArgs& args,
                                const manifest::Selection& selection, const util::Environment& env,
                                bool creds_file_logins,
                                std::optional<docker::PrivateDockerConfig>& config) {
    // Native pushes keep the registry login in memory: no docker login, so no config folder,
    // unless a build's registry cache needs one; builds need one for the credential helper of a
    // CDK docker credentials file.
    const bool engine_pushes = args.options.push_mode == publish::PushMode::docker ||
                               args.options.tarball_mode == publish::TarballMode::docker;
    const bool publishing = mode == publish::Mode::publish;
    const bool engine_logins = publishing && (engine_pushes || uses_registry_cache(selection));
    if (args.options.dry_run || !(engine_logins || creds_file_logins)) {
        return;
    }
    std::optional<fs::path> user_config;
    if (auto dir = env.get_non_empty("DOCKER_CONFIG")) {
        user_config = fs::path(*dir);
    }
    config.emplace(user_config);
}

std::unique_ptr<image::NativePusher> make_native_pusher_for(AwsSetup& setup,
                                                            const PublishArgs& args,
                                                            const util::Environment& env,
                                                            const fs::path& spool) {
    image::NativePusherOptions options;
    options.upload_jobs = args.options.upload_jobs;
    options.spool_dir = spool;
    options.cache_dir = image::LayerCache::default_dir(env);
    options.compress_threads = std::max(1U, std::thread::hardware_concurrency());
    return image::make_native_pusher(setup.http(), setup.retry(), setup.clock(), options);
}

// The layer cache's blobs are kept under this many bytes (ASSETCTL_CACHE_MAX_BYTES).
std::uint64_t cache_limit(const util::Environment& env) {
    const auto text = env.get_non_empty("ASSETCTL_CACHE_MAX_BYTES");
    if (!text) {
        return image::k_default_cache_max_bytes;
    }
    if (const auto value = util::parse_whole_number(*text)) {
        return *value;
    }
    throw util::Fatal(util::ExitCode::usage,
                      "ASSETCTL_CACHE_MAX_BYTES=" + *text + " is not a number",
                      "give the layer cache's size limit in bytes, e.g. 10737418240");
}

ProgressOutput::Settings progress_settings(const PublishArgs& args, const util::Environment& env,
                                           const Terminal& terminal) {
    ProgressOutput::Settings settings;
    settings.view =
        args.events ? ProgressView::none
                    : choose_progress_view(args.progress, args.json, terminal.err_is_terminal, env);
    settings.color = terminal.color;
    settings.size = terminal.size;
    // The closing table follows on the same screen: the board's last state would repeat it.
    settings.erase_at_end = terminal.out_is_terminal && !args.json && args.summary;
    return settings;
}

// Called once before the first engine command: an engine that does not answer ends the run;
// one that does is identified, so builds know which options it honours.
std::function<void()> engine_requirement(AwsSetup& setup, docker::EngineClient& engine) {
    return [&setup, &engine] {
        const auto status = docker::probe_engine(setup.processes(), engine.executable());
        if (!status.running) {
            throw util::Fatal(util::ExitCode::assets_failed,
                              "container engine not usable: " + status.problem,
                              "`assetctl doctor` checks the engine, credentials and destinations");
        }
        engine.set_identity(docker::identify_engine(setup.processes(), engine.executable()));
        spdlog::debug("container engine: {}", docker::describe(engine.identity()));
    };
}

// A run killed with SIGKILL (or by a lost machine) could not remove its private folders (the
// private DOCKER_CONFIG may hold a login): this run does.
void remove_folders_of_killed_runs() {
    const auto removed = util::remove_stale_run_folders(util::run_folders_base());
    if (!removed.empty()) {
        spdlog::info("removed {} private folder(s) left by assetctl runs that were killed, e.g. {}",
                     removed.size(), removed.front().string());
    }
}

// The closing report, and the exit code (build logs kept when something failed).
int report(const publish::Summary& summary, publish::Mode mode, const PublishArgs& args,
           const util::Environment& env, util::PrivateDirectory& logs, std::ostream& out) {
    if (args.json) {
        out << report::summary_json(summary).dump() << "\n";
    } else if (args.summary) {
        report::print_summary_table(summary, mode, out);
    }
    // Annotations stay off stdout when it carries JSON (the runner reads stderr too).
    write_ci_reports(summary, mode, args.summary_file, env, args.json ? std::cerr : out);
    if (util::interrupted()) {
        throw util::Fatal(util::ExitCode::interrupted,
                          "interrupted: running builds and pushes were stopped and temporary "
                          "files removed; nothing half-pushed is visible (manifests go last)");
    }
    if (!summary.ok()) {
        std::error_code unreadable;
        if (fs::is_empty(logs.path(), unreadable) && !unreadable) {
            spdlog::error("some assets failed");
        } else {
            logs.keep();
            spdlog::error("some assets failed; full build logs are in {}", logs.path().string());
        }
        return util::to_int(util::ExitCode::assets_failed);
    }
    return util::to_int(util::ExitCode::ok);
}

}  // namespace

int run_publish_command(publish::Mode mode, const PublishArgs& args, const util::Environment& env,
                        std::ostream& out, const Terminal& terminal) {
    util::install_interrupt_handlers();
    const auto cache_max_bytes = cache_limit(env);  // a bad value fails before any work
    const auto assembly = load_assembly_for(args.path, args.selectors);
    const auto selection = select_and_check(assembly, args);

    AwsSetup setup(env, args.profile);
    remove_folders_of_killed_runs();
    // CDK Pipelines' dockerCredentials: base image logins through docker-credential-cdk-assets.
    const auto docker_creds = docker::load_cdk_docker_creds(env);
    std::optional<docker::PrivateDockerConfig> docker_config;
    make_private_docker_config(mode, args, selection, env, docker_creds.has_value(), docker_config);
    docker::EngineClient engine(
        setup.processes(), docker::engine_executable(args.docker, env),
        docker_config ? std::optional(docker_config->path()) : std::nullopt);
    if (docker_creds && docker_config) {
        use_cdk_docker_creds(*docker_creds, *docker_config, engine, env, args.profile);
    }
    // podman logs in to REGISTRY_AUTH_FILE when it is set: that must be the private copy too.
    if (const auto auth_file = env.get_non_empty("REGISTRY_AUTH_FILE");
        auth_file && docker_config) {
        engine.add_environment("REGISTRY_AUTH_FILE",
                               docker_config->take_auth_file(*auth_file).string());
    }
    // Build logs are kept when something failed, so the user can read the full output.
    util::PrivateDirectory logs("logs");
    // Decompressed tarballs and compressed layers.
    util::PrivateDirectory spool("spool");
    const auto native = make_native_pusher_for(setup, args, env, spool.path());
    publish::Options options = args.options;
    options.log_directory = logs.path();

    report::JsonEventSink json_events(out);
    ProgressOutput progress(progress_settings(args, env, terminal), selection, std::cerr);
    publish::FanOutEventSink fan_out;
    if (args.events) {
        fan_out.add(*args.events);
    } else {
        if (args.json) {
            fan_out.add(json_events);
        }
        if (progress.sink()) {
            fan_out.add(*progress.sink());
        }
    }
    publish::EventSink& events = fan_out;
    const auto retry = setup.retry();
    publish::Dependencies deps{.aws = setup.services(),
                               .engine = engine,
                               .processes = setup.processes(),
                               .events = events,
                               .docker_config = docker_config ? &*docker_config : nullptr,
                               .log_in_before_builds = !docker_creds.has_value(),
                               .require_engine = engine_requirement(setup, engine),
                               .native = native.get(),
                               .retry = &retry,
                               .uploads = {.part_jobs = args.options.upload_jobs}};
    if (args.verbose) {
        deps.build_output = [](const std::string& asset, std::string_view line) {
            spdlog::info("[{}] {}", asset.substr(0, 12), line);
        };
    }
    const auto summary = publish::run(mode, selection, deps, options);
    progress.finish();
    native->prune_cache(cache_max_bytes);
    return report(summary, mode, args, env, logs, out);
}

}  // namespace assetctl::cli
