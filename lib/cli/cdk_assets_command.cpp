#include "cli/cdk_assets_command.hpp"

#include <algorithm>
#include <utility>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli/publish_command.hpp"
#include "manifest/asset_manifest.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/logging.hpp"
#include "util/version.hpp"

namespace assetctl::cli {
namespace {

namespace fs = std::filesystem;
using util::ExitCode;

constexpr std::string_view k_cdk_assets_version = "4.7.3";
constexpr std::string_view k_default_manifest_name =
    "assets.json";            // AssetManifest.DEFAULT_FILENAME
constexpr int k_failure = 1;  // cdk-assets' exit code for every failure, usage errors included

// The options and commands, in cdk-assets' words. --profile is global here so that it may
// come before the command as yargs allows; `ls` refuses it afterwards as cdk-assets does.
struct CdkAssetsApp {
    CLI::App app{"cdk-assets 4.7.3 command line, answered by assetctl", "cdk-assets"};
    CLI::App* ls = nullptr;
    CLI::App* publish = nullptr;
    CLI::Option* profile = nullptr;
};

void define_cdk_assets_app(CdkAssetsApp& app, CdkAssetsArgs& args,
                           std::optional<std::string>& profile) {
    auto& root = app.app;
    root.set_version_flag("--version", cdk_assets_version());
    root.require_subcommand(1);
    root.fallthrough();
    root.add_flag("-v,--verbose", args.verbose, "Increase logging verbosity");
    root.add_option("-p,--path", args.path,
                    "The path (file or directory) to load the assets from. If a directory, "
                    "the file 'assets.json' will be loaded from it.")
        ->capture_default_str();
    app.profile =
        root.add_option("--profile", profile, "Profile to use from AWS Credentials file (publish)");
    app.ls = root.add_subcommand("ls", "List assets from the given manifest");
    app.publish = root.add_subcommand("publish", "Publish assets in the given manifest");
    app.publish
        ->add_option("ASSET", args.assets,
                     "Assets to publish (format: \"ASSET[:DEST]\"), default all")
        ->type_name("ASSET[:DEST]");
}

int usage_error(const std::string& what, std::ostream& err) {
    err << "cdk-assets: usage error: " << what << "\n"
        << "cdk-assets: hint: run `cdk-assets --help` for the commands and options\n";
    return k_failure;
}

// Runs CLI11 over the arguments; an exit code when that ends the run.
std::optional<int> parse_with(CdkAssetsApp& app, const std::vector<std::string>& args,
                              std::ostream& out, std::ostream& err) {
    try {
        // CLI11 takes the arguments in reverse order.
        std::vector<std::string> reversed(args.rbegin(), args.rend());
        app.app.parse(reversed);
    } catch (const CLI::CallForHelp& e) {
        return app.app.exit(e, out, err);
    } catch (const CLI::CallForAllHelp& e) {
        return app.app.exit(e, out, err);
    } catch (const CLI::CallForVersion& e) {
        return app.app.exit(e, out, err);
    } catch (const CLI::ParseError& e) {
        return usage_error(e.what(), err);
    }
    return std::nullopt;
}

// The source and destinations JSON of one section ("files", "dockerImages") as `ls` prints it.
void list_section(const nlohmann::ordered_json& manifest, const char* section, const char* type,
                  std::vector<std::string>& lines) {
    const auto assets = manifest.find(section);
    if (assets == manifest.end() || !assets->is_object()) {
        return;
    }
    const auto dump = [](const nlohmann::ordered_json& value) {
        return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    };
    for (const auto& [id, asset] : assets->items()) {
        lines.push_back(id + " " + type + " " +
                        dump(asset.value("source", nlohmann::ordered_json())));
        const auto destinations = asset.value("destinations", nlohmann::ordered_json::object());
        std::size_t index = 0;
        for (const auto& [destination_id, destination] : destinations.items()) {
            const bool last = ++index == destinations.size();
            lines.push_back(std::string("  ") + (last ? "\u2514" : "\u251c") + " " + id + ":" +
                            destination_id + " " + dump(destination));
        }
    }
}

std::string target_label(const publish::Event& event) {
    return event.destination.empty() ? event.asset : event.asset + ":" + event.destination;
}

// cdk-assets' level of each event type (EVENT_TO_LEVEL in its bin/publish.ts).
std::string_view level_of(publish::EventType type) {
    switch (type) {
        case publish::EventType::start:
        case publish::EventType::success:
            return "info";
        case publish::EventType::fail:
            return "error";
        default:
            return "verbose";
    }
}

// What cdk-assets calls the number of assets: targets (asset x destination).
std::size_t target_count(const manifest::Selection& selection) {
    std::size_t count = 0;
    for (const auto& image : selection.docker_images) {
        count += image.asset.destinations.size();
    }
    for (const auto& file : selection.files) {
        count += file.asset.destinations.size();
    }
    return count;
}

// cdk-assets' own `verbose` lines (no percentage), shown with -v.
void log_verbose(std::ostream& err, int verbose, const std::string& message) {
    if (verbose > 0) {
        err << "verbose: " << message << "\n" << std::flush;
    }
}

int run_ls(const CdkAssetsArgs& args, std::ostream& out) {
    print_cdk_assets_listing(cdk_assets_manifest_file(args.path), out);
    return util::to_int(ExitCode::ok);
}

int run_publish(const CdkAssetsArgs& args, std::ostream& out, std::ostream& err,
                const util::Environment& env) {
    std::vector<DestinationPattern> patterns;
    for (const auto& text : args.assets) {
        patterns.push_back(parse_destination_pattern(text));
    }
    PublishArgs publish_args;
    publish_args.path = cdk_assets_manifest_file(args.path).string();
    publish_args.profile = args.profile;
    publish_args.verbose = args.verbose > 0;
    publish_args.summary = false;  // cdk-assets prints no report on stdout
    CdkAssetsEventSink events(err, args.verbose > 0);
    publish_args.events = &events;
    publish_args.refine = [&](manifest::Selection& selection) {
        log_verbose(err, args.verbose,
                    "Loaded manifest from " + args.path + ": " +
                        std::to_string(target_count(selection)) + " assets found");
        if (!patterns.empty()) {
            keep_matching(selection, patterns);
            log_verbose(err, args.verbose,
                        "Applied selection: " + std::to_string(target_count(selection)) +
                            " assets selected.");
        }
        events.name_assets(selection);
    };
    const int code =
        run_publish_command(publish::Mode::publish, publish_args, env, out, Terminal{});
    for (const auto& failure : events.failures()) {
        err << "Failure: " << failure << "\n";
    }
    return code;
}

// Verbosity of assetctl's own log lines: warnings and errors only by default, as cdk-assets
// prints no more than its events; each -v a step more.
util::Verbosity log_verbosity(int verbose) {
    switch (std::clamp(verbose, 0, 3)) {
        case 0:
            return util::Verbosity::quiet;
        case 1:
            return util::Verbosity::normal;
        case 2:
            return util::Verbosity::verbose;
        default:
            return util::Verbosity::trace;
    }
}

// cdk-assets exits 1 for every failure; an interruption keeps 130 (what a signal's death
// reports through a shell).
int cdk_assets_exit_code(int code) {
    if (code == util::to_int(ExitCode::ok) || code == util::to_int(ExitCode::interrupted)) {
        return code;
    }
    return k_failure;
}

int dispatch(const CdkAssetsArgs& args, Streams& streams, const util::Environment& env) {
    try {
        if (args.command == CdkAssetsCommand::ls) {
            return run_ls(args, streams.out);
        }
        return run_publish(args, streams.out, streams.err, env);
    } catch (const util::Fatal& e) {
        streams.err << "Error: " << e.what() << "\n";
        if (!e.hint().empty()) {
            streams.err << "assetctl: hint: " << e.hint() << "\n";
        }
        return util::to_int(e.exit_code());
    } catch (const std::exception& e) {
        streams.err << "Error: internal error in assetctl: " << e.what() << "\n"
                    << "assetctl: hint: this is a bug in assetctl; please report it with the "
                       "command line and -v output\n";
        return util::to_int(ExitCode::internal);
    }
}

}  // namespace

CdkAssetsParse parse_cdk_assets_arguments(const std::vector<std::string>& args, std::ostream& out,
                                          std::ostream& err) {
    CdkAssetsApp app;
    CdkAssetsArgs parsed;
    std::optional<std::string> profile;
    define_cdk_assets_app(app, parsed, profile);
    if (const auto exit_code = parse_with(app, args, out, err)) {
        return {std::nullopt, *exit_code};
    }
    if (app.ls->parsed()) {
        if (app.profile->count() > 0) {
            return {std::nullopt, usage_error("ls takes no --profile (only publish does)", err)};
        }
        parsed.command = CdkAssetsCommand::ls;
    } else {
        parsed.command = CdkAssetsCommand::publish;
        parsed.profile = std::move(profile);
    }
    return {std::move(parsed), 0};
}

std::string cdk_assets_version() {
    return std::string(k_cdk_assets_version) + "+assetctl." + std::string(util::version());
}

bool DestinationPattern::matches(std::string_view asset_id, std::string_view destination_id) const {
    return (!asset || *asset == asset_id) && (!destination || *destination == destination_id);
}

DestinationPattern parse_destination_pattern(std::string_view text) {
    if (text.empty()) {
        throw util::Fatal(ExitCode::usage, "Empty string is not a valid destination identifier",
                          "give ASSET or ASSET:DEST (`cdk-assets ls` lists them)");
    }
    const auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
        throw util::Fatal(ExitCode::usage,
                          "Asset identifier must contain at most 2 ':'-separated parts, got '" +
                              std::string(text) + "'",
                          "give ASSET or ASSET:DEST (`cdk-assets ls` lists them)");
    }
    const auto part = [](std::string_view value) -> std::optional<std::string> {
        if (value.empty() || value == "*") {
            return std::nullopt;
        }
        return std::string(value);
    };
    if (colon == std::string_view::npos) {
        return {part(text), std::nullopt};
    }
    return {part(text.substr(0, colon)), part(text.substr(colon + 1))};
}

namespace {

template <typename Asset>
void keep_matching_assets(std::vector<manifest::Selected<Asset>>& assets,
                          const std::vector<DestinationPattern>& patterns) {
    for (auto& selected : assets) {
        auto& destinations = selected.asset.destinations;
        std::erase_if(destinations, [&](const auto& destination) {
            return std::none_of(patterns.begin(), patterns.end(), [&](const auto& pattern) {
                return pattern.matches(selected.asset.id, destination.id);
            });
        });
    }
    std::erase_if(assets, [](const auto& selected) { return selected.asset.destinations.empty(); });
}

}  // namespace

void keep_matching(manifest::Selection& selection,
                   const std::vector<DestinationPattern>& patterns) {
    keep_matching_assets(selection.docker_images, patterns);
    keep_matching_assets(selection.files, patterns);
}

fs::path cdk_assets_manifest_file(const fs::path& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        return path / k_default_manifest_name;
    }
    if (path.filename() == "manifest.json") {
        throw util::Fatal(ExitCode::input,
                          path.string() +
                              " is a cloud assembly manifest; cdk-assets reads one asset "
                              "manifest (an *.assets.json file, or a folder holding assets.json)",
                          "pass --path cdk.out/<Stack>.assets.json, or publish the whole assembly "
                          "with `assetctl publish --path " +
                              (path.has_parent_path() ? path.parent_path().string() : ".") + "`");
    }
    return path;
}

void print_cdk_assets_listing(const fs::path& manifest_file, std::ostream& out) {
    // Validated as publish would read it; listed from the text, so keys keep the file's order.
    manifest::load_asset_manifest(manifest_file);
    const auto manifest = nlohmann::ordered_json::parse(util::read_file(manifest_file));
    std::vector<std::string> lines;
    list_section(manifest, "files", "file", lines);
    list_section(manifest, "dockerImages", "docker-image", lines);
    // console.log(lines.join("\n")): one line even when there is nothing to list.
    for (std::size_t i = 0; i < lines.size(); ++i) {
        out << (i == 0 ? "" : "\n") << lines[i];
    }
    out << "\n";
}

CdkAssetsEventSink::CdkAssetsEventSink(std::ostream& err, bool verbose)
    : err_(err), verbose_(verbose) {}

void CdkAssetsEventSink::name_assets(const manifest::Selection& selection) {
    std::lock_guard lock(mutex_);
    const auto name = [this](const auto& asset) {
        if (asset.display_name) {
            display_names_[asset.id] = *asset.display_name;
        }
    };
    for (const auto& image : selection.docker_images) {
        name(image.asset);
    }
    for (const auto& file : selection.files) {
        name(file.asset);
    }
}

std::string CdkAssetsEventSink::display_name(const publish::Event& event) const {
    const auto found = display_names_.find(event.asset);
    if (found == display_names_.end() || event.destination.empty()) {
        return target_label(event);
    }
    return found->second + " (" + event.destination + ")";
}

void CdkAssetsEventSink::emit(const publish::Event& event) {
    std::lock_guard lock(mutex_);
    const bool per_target = !event.destination.empty();
    if (event.type == publish::EventType::start && per_target) {
        ++started_;
    }
    const bool finishes =
        event.type == publish::EventType::success || event.type == publish::EventType::fail;
    if (finishes && per_target) {
        finished_ = std::min(finished_ + 1, started_);
    }
    if (event.type == publish::EventType::fail) {
        failures_.push_back(target_label(event) + ": " + event.message);
    }
    const auto level = level_of(event.type);
    if (level == "verbose" && !verbose_) {
        return;
    }
    std::string message;
    switch (event.type) {
        case publish::EventType::start:
            message = "Publishing " + display_name(event);
            break;
        case publish::EventType::success:
            message = "Published " + display_name(event);
            break;
        case publish::EventType::fail:
            message = event.message;
            break;
        default:
            message = "[" + target_label(event) + "] " + event.message;
    }
    print(level, event, message);
}

void CdkAssetsEventSink::print(std::string_view level, const publish::Event& event,
                               const std::string& message) {
    const std::size_t percent = started_ == 0 ? 100 : finished_ * 100 / started_;
    std::string padded(level);
    padded.resize(std::max<std::size_t>(padded.size(), 7), ' ');
    err_ << padded << ": [" << percent << "%] " << publish::to_string(event.type) << ": " << message
         << "\n";
    for (const auto& line : event.details) {
        err_ << padded << ":     | " << line << "\n";
    }
    err_ << std::flush;
}

std::vector<std::string> CdkAssetsEventSink::failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
}

int run_cdk_assets(const std::vector<std::string>& args, Streams streams,
                   const util::Environment& env) {
    const auto parsed = parse_cdk_assets_arguments(args, streams.out, streams.err);
    if (!parsed.args) {
        return cdk_assets_exit_code(parsed.exit_code);
    }
    util::configure_logging(
        {log_verbosity(parsed.args->verbose), util::color_wanted(env, streams.err_is_terminal)});
    return cdk_assets_exit_code(dispatch(*parsed.args, streams, env));
}

}  // namespace assetctl::cli
