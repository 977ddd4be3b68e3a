#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace assetctl::util {

// One assetctl process as a later run can recognise it: its pid and its start time (clock
// ticks since boot, field 22 of /proc/<pid>/stat), so a reused pid is not taken for it.
struct RunId {
    long pid = 0;
    std::uint64_t start = 0;
    bool operator==(const RunId&) const = default;
};

// This process.
RunId this_run();
// Whether `run` is still running: /proc/<pid>/stat exists and has that start time.
bool is_running(const RunId& run);

// The private temporary folders of a run (private DOCKER_CONFIG copies, the layer spool, build
// logs) are `<TMPDIR or /tmp>/assetctl-<kind>-r<pid>.<start>-XXXXXX`, exactly 0700 (mkdtemp,
// then chmod). Removing them is their owner's job on every exit path; a run killed with SIGKILL
// cannot, so the next run removes them (remove_stale_run_folders). Throws FileError naming the
// folder and the system's reason.
std::filesystem::path make_run_folder(std::string_view kind);
// The folder make_run_folder(kind) would use as parent: TMPDIR, else /tmp.
std::filesystem::path run_folders_base();
// The run that made `name` (a folder's file name), if it is a run folder's name.
std::optional<RunId> run_of_folder(std::string_view name);
// A run folder's name without its run id (`assetctl-logs-r12.34-Ab3dE9` ->
// `assetctl-logs-Ab3dE9`): what a folder kept for the user is renamed to, so that later runs
// leave it alone. nullopt when `name` is not a run folder's name.
std::optional<std::string> without_run_id(std::string_view name);

// Removes every run folder directly under `base` whose run is gone: only folders (lstat, a
// symlink is never followed) owned by this user whose name carries a run id that `running`
// says has ended. A folder that cannot be removed is left (a warning). Returns what was removed.
std::vector<std::filesystem::path> remove_stale_run_folders(
    const std::filesystem::path& base,
    const std::function<bool(const RunId&)>& running = is_running);

}  // namespace assetctl::util
