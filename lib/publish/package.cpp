#include "publish/package.hpp"

#include "util/interrupt.hpp"
#include "util/strings.hpp"

namespace assetctl::publish {
namespace {

std::string source_of(const SelectedFile& selected) {
    const auto& source = selected.asset.source;
    if (source.executable) {
        return "running " + util::shell_join(*source.executable);
    }
    return std::string(source.packaging == manifest::FilePackaging::zip ? "zipping " : "taking ") +
           source.path.value_or("");
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
        run.emit_asset(EventType::build, selected.asset.id, source_of(selected));
        file.packaged = packaging::package_file(selected.asset, selected.origin.directory,
                                                selected.origin.directory / ".cache",
                                                run.deps().processes, run.plan().root);
        run.emit_asset(
            file.packaged->zipped ? EventType::build : EventType::cached, selected.asset.id,
            (file.packaged->zipped ? "zipped " : "using ") + file.packaged->path.string() + " (" +
                std::to_string(file.packaged->size) + " bytes)",
            since(started));
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
