#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/run.hpp"
#include "manifest/selection.hpp"
#include "publish/events.hpp"
#include "util/environment.hpp"

// assetctl answering the command line of cdk-assets 4.7.3 (the Node.js tool CDK Pipelines
// runs), started as `cdk-assets` (a symlink) or as `assetctl cdk-assets ...`:
//   cdk-assets [--path|-p P] [--profile NAME] [-v|--verbose]... [--version] [--help]
//              ls | publish [ASSET[:DEST]...]
// Its conventions, not assetctl's, apply: --path is one asset manifest (a folder means its
// `assets.json`), selectors match ids exactly, events are `<level> : [<pct>%] <event>: ...`
// lines on stderr, and every failure exits 1.
namespace assetctl::cli {

enum class CdkAssetsCommand { ls, publish };

struct CdkAssetsArgs {
    CdkAssetsCommand command = CdkAssetsCommand::ls;
    std::string path = ".";
    std::optional<std::string> profile;  // publish only, as in cdk-assets
    int verbose = 0;                     // the -v count; any shows `verbose` lines
    std::vector<std::string> assets;     // publish's ASSET[:DEST] operands
};

// What parsing gave: the arguments, or the exit code of a run that parsing already ended
// (help and version printed on `out`, a usage error on `err`).
struct CdkAssetsParse {
    std::optional<CdkAssetsArgs> args;
    int exit_code = 0;
};

// Parses a cdk-assets command line (`args` without the program name).
CdkAssetsParse parse_cdk_assets_arguments(const std::vector<std::string>& args, std::ostream& out,
                                          std::ostream& err);

// `--version`: cdk-assets' version with assetctl's as semver build metadata
// (`4.7.3+assetctl.<version>`), so it compares equal to the release it stands in for.
std::string cdk_assets_version();

// cdk-assets' DestinationPattern: `ASSET[:DEST]`, each part an exact id, `*` or empty for any.
struct DestinationPattern {
    std::optional<std::string> asset;        // nullopt: any asset
    std::optional<std::string> destination;  // nullopt: any destination

    bool matches(std::string_view asset_id, std::string_view destination_id) const;
};

// Throws util::Fatal (usage) for an empty string or more than two parts, as cdk-assets refuses.
DestinationPattern parse_destination_pattern(std::string_view text);

// Keeps the destinations some pattern matches, and the assets left with at least one. A
// pattern that matches nothing is not an error (cdk-assets publishes nothing for it).
void keep_matching(manifest::Selection& selection, const std::vector<DestinationPattern>& patterns);

// The asset manifest `--path` names: the file itself, or `assets.json` inside a folder. A
// cloud assembly's manifest.json is refused (util::Fatal, input): cdk-assets reads one asset
// manifest, and `assetctl publish` is the command for whole assemblies.
std::filesystem::path cdk_assets_manifest_file(const std::filesystem::path& path);

// `cdk-assets ls`: per asset `<id> <file|docker-image> <source JSON>`, then per destination
// `  ├ <id>:<dest> <destination JSON>` (└ for the last), files first, in manifest order, the
// JSON compact and in the file's key order as JSON.stringify writes it.
void print_cdk_assets_listing(const std::filesystem::path& manifest_file, std::ostream& out);

// Events as cdk-assets' console progress prints them: `<level padded to 7>: [<pct>%] <event>:
// <message>`; start and success are `info`, fail is `error`, the rest `verbose` (shown only
// with `verbose`). The percentage is finished targets over started ones, as cdk-assets counts
// (every start comes before the first node runs). Start and success name a target as
// cdk-assets does: `<display name> (<dest>)`, or `<asset>:<dest>` for an asset without one.
class CdkAssetsEventSink final : public publish::EventSink {
  public:
    CdkAssetsEventSink(std::ostream& err, bool verbose);
    // The display names of the selected assets (before the run).
    void name_assets(const manifest::Selection& selection);
    void emit(const publish::Event& event) override;
    // `<asset>:<dest>: <error>` of every failed target, in the order they failed.
    std::vector<std::string> failures() const;

  private:
    void print(std::string_view level, const publish::Event& event, const std::string& message);
    std::string display_name(const publish::Event& event) const;

    mutable std::mutex mutex_;
    std::ostream& err_;
    bool verbose_;
    std::size_t started_ = 0;
    std::size_t finished_ = 0;
    std::vector<std::string> failures_;
    std::map<std::string, std::string, std::less<>> display_names_;
};

// Runs a cdk-assets command line (`args` without the program name); the exit code is 0, 1 for
// any failure, 130 when interrupted. Never throws.
int run_cdk_assets(const std::vector<std::string>& args, Streams streams,
                   const util::Environment& env);

}  // namespace assetctl::cli
