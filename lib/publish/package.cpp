#include "publish/package.hpp"

#include "util/interrupt.hpp"
#include "util/strings.hpp"

namespace assetctl::publish {
namespace {

std::string describe_source(const SelectedFile& selected) {
    return "running " +
           util::shell_join(selected.asset.source.executable.value_or(std::vector<std::string>{}));
}

// As cdk-assets reports packaging: `build` for a zip written now, `cached` for a zip made by
// an earlier run; a file taken as it is is no event of its own (debug).
void report_package(RunState& run, const SelectedFile& selected,
                    const packaging::PackagedFile& packaged, std::chrono::milliseconds took) {
    const bool zip = selected.asset.source.packaging == manifest::FilePackaging::zip &&
                     !selected.asset.source.executable;
    const std::string what =
        packaged.path.string() + " (" + std::to_string(packaged.size) + " bytes)";
    if (packaged.zipped) {
        run.emit_asset(EventType::build, selected.asset.id,
                       "zipped " + *selected.asset.source.path + " -> " + what, took);
    } else if (zip) {
        run.emit_asset(EventType::cached, selected.asset.id, "from cache " + what);
    } else {
        run.emit_asset(EventType::debug, selected.asset.id, "uploading " + what, took);
    }
}

// --dry-run: what would happen, as events; the targets are planned.
void plan_uploads(RunState& run, const SelectedFile& selected,
                  const std::vector<FileTargetState*>& waiting) {
    const std::string what =
        "would package (" + std::string(package_kind(selected.asset.source)) + ")";
    for (auto* target : waiting) {
        target->phase = Phase::finished;
        target->outcome.state = Outcome::State::planned;
        run.emit(EventType::upload, *target,
                 run.mode() == Mode::publish ? what + " and upload to " + target->outcome.object_url
                                             : what);
    }
}

}  // namespace

void package_file_asset(RunState& run, FileState& file) {
    const auto waiting = run.missing_targets(*file.plan);
    if (waiting.empty()) {
        return;
    }
    const auto& selected = *file.plan->selected;
    if (run.options().dry_run) {
        plan_uploads(run, selected, waiting);
        return;
    }
    const auto started = Clock::now();
    try {
        if (selected.asset.source.executable) {
            run.emit_asset(EventType::build, selected.asset.id, describe_source(selected));
        }
        file.packaged = packaging::package_file(selected.asset, selected.origin.directory,
                                                selected.origin.directory / ".cache",
                                                run.deps().processes, run.plan().root);
        report_package(run, selected, *file.packaged, since(started));
    } catch (const util::Interrupted& e) {
        for (auto* target : waiting) {
            run.skip(*target, e.what());
        }
        return;
    } catch (const std::exception& e) {
        for (auto* target : waiting) {
            run.fail(*target, e.what());
        }
        return;
    }
    if (run.mode() == Mode::build) {
        for (auto* target : waiting) {
            run.mark_built(*target);
        }
    }
}

}  // namespace assetctl::publish
