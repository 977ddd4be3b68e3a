#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/progress_output.hpp"
#include "image/native_pusher.hpp"
#include "publish/publisher.hpp"
#include "report/live_view.hpp"
#include "util/environment.hpp"

namespace assetctl::cli {

struct PublishArgs {
    std::string path = "cdk.out";
    std::vector<std::string> selectors;
    std::vector<std::string> stacks;
    std::optional<std::string> profile;
    std::optional<std::string> docker;
    publish::Options options;
    bool json = false;
    bool verbose = false;  // stream build output with an asset prefix
    ProgressMode progress = ProgressMode::automatic;
    std::optional<std::string> summary_file;  // --summary-file
    // For front ends with conventions of their own (`assetctl cdk-assets`): `refine` narrows
    // the selection after `selectors`/`stacks` and before the source checks; `events`, when
    // set, replaces the text and JSON sinks; `summary` false leaves the closing report out.
    std::function<void(manifest::Selection&)> refine;
    publish::EventSink* events = nullptr;
    bool summary = true;
};

// What the command knows of where its output goes.
struct Terminal {
    bool err_is_terminal = false;
    bool out_is_terminal = false;
    bool color = false;  // on stderr (util::color_wanted)
    report::TerminalSize size;
};

// `assetctl build` / `assetctl publish`: the exit code (0 all done, 1 some asset failed, 130
// interrupted). Results (summary, or JSON events) go to `out`; progress to stderr.
int run_publish_command(publish::Mode mode, const PublishArgs& args, const util::Environment& env,
                        std::ostream& out, const Terminal& terminal);

}  // namespace assetctl::cli
