#include "cli/run.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/assembly_input.hpp"
#include "cli/aws_setup.hpp"
#include "cli/cdk_assets_command.hpp"
#include "cli/completion.hpp"
#include "cli/credential_helper_command.hpp"
#include "cli/definition.hpp"
#include "cli/doctor_command.hpp"
#include "cli/ls_command.hpp"
#include "cli/man_page.hpp"
#include "cli/publish_command.hpp"
#include "docker/engine.hpp"
#include "manifest/assembly.hpp"
#include "manifest/selection.hpp"
#include "manifest/sources.hpp"
#include "util/error.hpp"
#include "util/logging.hpp"
#include "util/version.hpp"

namespace assetctl::cli {
namespace {

using util::ExitCode;

constexpr const char* k_default_input = "cdk.out";
constexpr const char* k_description =
    "Build and publish the container image assets of AWS CDK cloud assemblies.";

// What every command that reads an assembly takes.
struct SelectionArgs {
    std::string path = k_default_input;
    std::vector<std::string> selectors;
    std::vector<std::string> stacks;
};

// A `--*-jobs` option: how many of something run at once, 1 to 64.
template <typename Count>
void add_job_count(CLI::App& command, const std::string& name, Count& count,
                   const std::string& help) {
    command.add_option(name, count, help)->check(CLI::Range(1, 64));
}

void add_selection_options(CLI::App& command, SelectionArgs& args) {
    command
        .add_option("selectors", args.selectors,
                    "ASSET[:DEST] globs; ASSET matches an asset id or display name, an empty "
                    "part or * matches all")
        ->type_name("SELECTOR");
    command
        .add_option("-p,--path", args.path,
                    "cloud assembly folder, its manifest.json, or one *.assets.json")
        ->capture_default_str();
    // One value per --stack, so a following selector is not taken for a second stack.
    command
        .add_option("--stack", args.stacks,
                    "only assets of stacks whose display name or artifact id matches this glob "
                    "(repeatable)")
        ->type_name("GLOB")
        ->allow_extra_args(false);
}

// Loads the assembly and applies the selection.
manifest::Selection select_from_args(const SelectionArgs& args) {
    const auto assembly = load_assembly_for(args.path, args.selectors);
    return select_assets_for(assembly, args.selectors, args.stacks);
}

// The selection, with every selected image source checked on disk (doctor).
manifest::Selection load_selection(const SelectionArgs& args) {
    auto selection = select_from_args(args);
    for (const auto& selected : selection.docker_images) {
        manifest::check_docker_source(selected.origin, selected.asset, selection.root);
    }
    return selection;
}

// A missing source does not fail `ls` (exit 0): listing an incomplete cloud assembly is how one
// finds out what it lacks. The warning says that build and publish would stop.
int run_ls(const SelectionArgs& args, bool json, std::ostream& out) {
    const auto listing = make_listing(select_from_args(args));
    if (json) {
        out << listing_json(listing).dump(2) << "\n";
    } else {
        print_listing(listing, out);
    }
    if (const auto missing = listing.missing_count(); missing > 0) {
        spdlog::warn(
            "{} of {} listed assets have a missing source (marked `missing:`); build and "
            "publish refuse them (exit code {}) until the cloud assembly is complete",
            missing, listing.selection.docker_images.size() + listing.selection.files.size(),
            util::to_int(ExitCode::input));
    }
    return util::to_int(ExitCode::ok);
}

struct DoctorArgs {
    SelectionArgs selection;
    std::optional<std::string> profile;
    std::optional<std::string> docker;
    bool no_engine = false;
    bool json = false;
    publish::PushMode push_mode = publish::PushMode::native;
    publish::TarballMode tarball_mode = publish::TarballMode::native;
};

int run_doctor_command(const DoctorArgs& args, bool path_given, const util::Environment& env,
                       std::ostream& out) {
    // Without an assembly doctor still checks credentials, identity and the engine; a missing
    // default cdk.out is fine, a --path that does not work is an input error.
    std::optional<manifest::Selection> selection;
    if (path_given || std::filesystem::exists(args.selection.path) ||
        !args.selection.selectors.empty() || !args.selection.stacks.empty()) {
        selection = load_selection(args.selection);
    }
    AwsSetup setup(env, args.profile);
    docker::EngineStatus engine;
    docker::EngineIdentity identity;
    if (args.no_engine) {
        engine.running = true;
        engine.version = "not checked (--no-engine)";
        engine.executable = docker::engine_executable(args.docker, env);
    } else if (selection && !selection->docker_images.empty() &&
               !manifest::needs_engine(*selection)) {
        engine.running = true;
        engine.version = "not needed (every selected image is a tarball pushed without it)";
        engine.executable = docker::engine_executable(args.docker, env);
    } else {
        engine =
            docker::probe_engine(setup.processes(), docker::engine_executable(args.docker, env));
        if (engine.running) {
            identity = docker::identify_engine(setup.processes(), engine.executable);
        }
    }
    DoctorInputs inputs{.aws = setup.services(),
                        .engine = std::move(engine),
                        .engine_identity = std::move(identity),
                        .region_source = setup.region_source(),
                        .selection = std::move(selection),
                        .push_mode = args.push_mode,
                        .tarball_mode = args.tarball_mode};
    const auto report = run_doctor(inputs);
    if (args.json) {
        out << report.json.dump(2) << "\n";
    } else {
        print_doctor(report, out);
    }
    return util::to_int(report.ok ? ExitCode::ok : ExitCode::assets_failed);
}

void print_fatal(const util::Fatal& e, std::ostream& err) {
    err << "assetctl: error: " << e.what() << "\n";
    if (!e.hint().empty()) {
        err << "assetctl: hint: " << e.hint() << "\n";
    }
}

// build and publish share these; publishing adds the push job counts, building --force.
// --push-mode and --tarball-mode: how images get to the registry (publish and doctor).
void add_mode_options(CLI::App& command, publish::PushMode& push_mode,
                      publish::TarballMode& tarball_mode) {
    command
        .add_option("--push-mode", push_mode,
                    "images the engine builds: `native` exports each once and pushes it with "
                    "assetctl's registry client, compressed once for every destination (default); "
                    "`docker` uses docker login, tag and push")
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, publish::PushMode>{{"native", publish::PushMode::native},
                                                     {"docker", publish::PushMode::docker}},
            CLI::ignore_case))
        ->type_name("MODE");
    command
        .add_option("--tarball-mode", tarball_mode,
                    "image tarballs and OCI layouts: `native` pushes them without a "
                    "container engine (default), `docker` loads them into the engine")
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, publish::TarballMode>{{"native", publish::TarballMode::native},
                                                        {"docker", publish::TarballMode::docker}},
            CLI::ignore_case))
        ->type_name("MODE");
}

void add_publish_options(CLI::App& command, PublishArgs& publish_args, bool publishing) {
    command
        .add_option("selectors", publish_args.selectors,
                    "ASSET[:DEST] globs; ASSET matches an asset id or display name")
        ->type_name("SELECTOR");
    command
        .add_option("-p,--path", publish_args.path,
                    "cloud assembly folder, its manifest.json, or one *.assets.json")
        ->capture_default_str();
    command.add_option("--stack", publish_args.stacks, "only assets of matching stacks")
        ->type_name("GLOB")
        ->allow_extra_args(false);
    command.add_option("--profile", publish_args.profile, "AWS profile");
    command.add_option("--docker", publish_args.docker,
                       "container engine executable (default: CDK_DOCKER, else docker)");
    add_job_count(command, "--build-jobs", publish_args.options.build_jobs,
                  "images built at once (default 1: not every builder is "
                  "concurrency-safe)");
    add_mode_options(command, publish_args.options.push_mode, publish_args.options.tarball_mode);
    command.add_flag("--fail-fast", publish_args.options.fail_fast,
                     "stop starting new work after the first failure");
    command.add_flag("--dry-run", publish_args.options.dry_run,
                     "check ECR and print the plan; build and push nothing");
    command.add_flag("--json", publish_args.json,
                     "newline-delimited JSON events and a final summary on stdout");
    command
        .add_option("--progress", publish_args.progress,
                    "progress on stderr: `auto` (a live view on a terminal, plain lines "
                    "otherwise, none with --json), `tty`, `plain` or `json` (events as "
                    "NDJSON)")
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, ProgressMode>{{"auto", ProgressMode::automatic},
                                                {"tty", ProgressMode::tty},
                                                {"plain", ProgressMode::plain},
                                                {"json", ProgressMode::json}},
            CLI::ignore_case))
        ->type_name("MODE");
    command
        .add_option("--summary-file", publish_args.summary_file,
                    "also write the summary to this file: Markdown (.md), JSON (.json) or the "
                    "text table")
        ->type_name("PATH");
    if (publishing) {
        add_job_count(command, "--publish-jobs", publish_args.options.publish_jobs,
                      "checks and pushes at once (default 4)");
        add_job_count(command, "--upload-jobs", publish_args.options.upload_jobs,
                      "blobs uploaded (and layers compressed) at once per native push, and "
                      "parts in flight per multipart S3 upload (default 4)");
    } else {
        command.add_flag("--force", publish_args.options.force,
                         "build without consulting ECR and without reusing local images");
    }
}

// Every command's arguments and whether it was chosen.
struct Commands {
    int verbose = 0;
    bool quiet = false;
    SelectionArgs ls_args;
    bool ls_json = false;
    DoctorArgs doctor_args;
    PublishArgs build_args;
    PublishArgs publish_args;
    CLI::App* ls = nullptr;
    CLI::App* doctor = nullptr;
    CLI::App* build = nullptr;
    CLI::App* publish = nullptr;
    // The commands that print the definition itself, and the definition.
    Shell completion_shell = Shell::bash;
    CLI::App* completion = nullptr;
    CLI::App* man = nullptr;
    const CLI::App* root = nullptr;
};

// `assetctl completion SHELL` and `assetctl man`: text generated from `app` as it is defined.
void define_documentation_commands(CLI::App& app, Commands& commands) {
    commands.root = &app;
    commands.completion = app.add_subcommand(
        "completion", "Print the completion script of a shell (see docs/completion.md)");
    commands.completion->add_option("shell", commands.completion_shell, "bash, zsh or fish")
        ->required()
        ->transform(CLI::CheckedTransformer(
            std::map<std::string, Shell>{
                {"bash", Shell::bash}, {"zsh", Shell::zsh}, {"fish", Shell::fish}},
            CLI::ignore_case))
        ->type_name("SHELL");
    commands.man = app.add_subcommand("man", "Print the assetctl(1) manual page (roff)");
}

// What `completion` or `man` prints, when one of them was chosen.
std::optional<std::string> documentation_output(const Commands& commands) {
    if (commands.completion->parsed()) {
        return completion_script(*commands.root, commands.completion_shell);
    }
    if (commands.man->parsed()) {
        return man_page(*commands.root, util::version());
    }
    return std::nullopt;
}

void define_commands(CLI::App& app, Commands& commands) {
    app.set_version_flag("--version", std::string(util::version()));
    app.require_subcommand(1);
    app.fallthrough();  // global flags may come after the command too
    app.add_flag("-v,--verbose", commands.verbose, "more detail on stderr (-vv: trace)");
    app.add_flag("-q,--quiet", commands.quiet, "only warnings and errors on stderr");

    commands.ls = app.add_subcommand("ls", "List the selected assets and their destinations");
    add_selection_options(*commands.ls, commands.ls_args);
    commands.ls->add_flag("--json", commands.ls_json,
                          "print one JSON document instead of the tree");

    auto& doctor_args = commands.doctor_args;
    auto* doctor = commands.doctor = app.add_subcommand(
        "doctor",
        "Check credentials, identity, region, the container engine and, for the selected "
        "assets, each destination's role, repository and registry login");
    add_selection_options(*doctor, doctor_args.selection);
    doctor->add_option("--profile", doctor_args.profile, "AWS profile (overrides AWS_PROFILE)");
    doctor->add_option("--docker", doctor_args.docker,
                       "container engine executable (default: CDK_DOCKER, else docker)");
    doctor->add_flag("--no-engine", doctor_args.no_engine, "skip the container engine check");
    doctor->add_flag("--json", doctor_args.json, "print one JSON document");
    add_mode_options(*doctor, doctor_args.push_mode, doctor_args.tarball_mode);

    commands.build = app.add_subcommand(
        "build", "Build the selected image assets (consulting ECR when credentials allow)");
    add_publish_options(*commands.build, commands.build_args, false);
    commands.publish = app.add_subcommand(
        "publish", "Build what ECR lacks and push every selected image asset to its destinations");
    add_publish_options(*commands.publish, commands.publish_args, true);
    define_documentation_commands(app, commands);
}

// Parses the command line; an exit code when that already ends the run (help, version, a
// usage error).
std::optional<int> parse_arguments(CLI::App& app, const std::vector<std::string>& args,
                                   Streams& streams) {
    try {
        // CLI11 takes the arguments in reverse order, without the program name.
        std::vector<std::string> reversed(args.rbegin(), args.rend());
        if (!reversed.empty()) {
            reversed.pop_back();
        }
        app.parse(reversed);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e, streams.out, streams.err);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e, streams.out, streams.err);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e, streams.out, streams.err);
    } catch (const CLI::ParseError& e) {
        streams.err << "assetctl: usage error: " << e.what() << "\n"
                    << "assetctl: hint: run `assetctl --help` for the commands and options\n";
        return util::to_int(ExitCode::usage);
    }
    return std::nullopt;
}

Terminal terminal_of(const Streams& streams, const util::Environment& env) {
    Terminal terminal;
    terminal.err_is_terminal = streams.err_is_terminal;
    terminal.out_is_terminal = streams.out_is_terminal;
    terminal.color = util::color_wanted(env, streams.err_is_terminal);
    if (streams.columns > 0) {
        terminal.size.columns = streams.columns;
    }
    if (streams.rows > 0) {
        terminal.size.rows = streams.rows;
    }
    return terminal;
}

int dispatch(Commands& commands, const util::Environment& env, Streams& streams) {
    if (const auto documentation = documentation_output(commands)) {
        streams.out << *documentation;
        return util::to_int(ExitCode::ok);
    }
    if (commands.ls->parsed()) {
        return run_ls(commands.ls_args, commands.ls_json, streams.out);
    }
    const bool building = commands.build->parsed();
    if (building || commands.publish->parsed()) {
        auto& chosen = building ? commands.build_args : commands.publish_args;
        chosen.verbose = commands.verbose > 0;
        return run_publish_command(building ? publish::Mode::build : publish::Mode::publish, chosen,
                                   env, streams.out, terminal_of(streams, env));
    }
    if (commands.doctor->parsed()) {
        const bool path_given = commands.doctor->get_option("--path")->count() > 0;
        return run_doctor_command(commands.doctor_args, path_given, env, streams.out);
    }
    return util::to_int(ExitCode::usage);
}

// The cdk-assets command line, when started under that name (a `cdk-assets` symlink) or as
// `assetctl cdk-assets ...`: its arguments, after the program name and that word.
std::optional<std::vector<std::string>> cdk_assets_arguments(const std::vector<std::string>& args) {
    constexpr std::string_view k_cdk_assets = "cdk-assets";
    if (!args.empty() && std::filesystem::path(args[0]).filename() == k_cdk_assets) {
        return std::vector<std::string>(args.begin() + 1, args.end());
    }
    if (args.size() > 1 && args[1] == k_cdk_assets) {
        return std::vector<std::string>(args.begin() + 2, args.end());
    }
    return std::nullopt;
}

}  // namespace

int run(const std::vector<std::string>& args, Streams streams, const util::Environment& env) {
    if (const auto cdk_assets_args = cdk_assets_arguments(args)) {
        return run_cdk_assets(*cdk_assets_args, streams, env);
    }
    // Started as docker-credential-cdk-assets (a symlink): docker's credential-helper protocol.
    if (!args.empty() && started_as_credential_helper(args[0])) {
        return run_credential_helper(args, std::cin, streams.out, streams.err, env);
    }
    CLI::App app{k_description, "assetctl"};
    Commands commands;
    define_commands(app, commands);
    if (const auto exit_code = parse_arguments(app, args, streams)) {
        return *exit_code;
    }
    util::configure_logging({util::verbosity_from_flags(commands.verbose, commands.quiet),
                             util::color_wanted(env, streams.err_is_terminal)});
    try {
        return dispatch(commands, env, streams);
    } catch (const util::Fatal& e) {
        print_fatal(e, streams.err);
        return util::to_int(e.exit_code());
    } catch (const std::exception& e) {
        streams.err << "assetctl: internal error: " << e.what() << "\n"
                    << "assetctl: hint: this is a bug in assetctl; please report it with the "
                       "command line and -v output\n";
        return util::to_int(ExitCode::internal);
    }
}

void with_cli_definition(const std::function<void(const CLI::App&)>& use) {
    CLI::App app{k_description, "assetctl"};
    Commands commands;
    define_commands(app, commands);
    use(app);
}

int run(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    util::SystemEnvironment env;
    Streams streams{std::cout, std::cerr, ::isatty(STDERR_FILENO) == 1,
                    ::isatty(STDOUT_FILENO) == 1};
    winsize size{};
    if (streams.err_is_terminal && ::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0) {
        streams.columns = size.ws_col;
        streams.rows = size.ws_row;
    }
    return run(args, streams, env);
}

}  // namespace assetctl::cli
