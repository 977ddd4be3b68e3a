#include "util/run_folders.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "util/fd.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"

namespace assetctl::util {
namespace {

constexpr std::string_view k_prefix = "assetctl-";
constexpr std::string_view k_run_marker = "-r";
constexpr std::size_t k_random_part = 6;  // mkdtemp's XXXXXX

// Field 22 (starttime) of a /proc/<pid>/stat text; the command (field 2) may hold spaces and
// parentheses, so counting starts after its last ')'.
std::optional<std::uint64_t> start_time_in_stat(const std::string& stat) {
    const auto close = stat.rfind(')');
    if (close == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream fields(stat.substr(close + 1));
    std::string field;
    for (int number = 3; number <= 22; ++number) {
        if (!(fields >> field)) {
            return std::nullopt;
        }
    }
    return parse_whole_number(field);
}

std::optional<std::uint64_t> start_time_of(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    if (!in) {
        return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    return start_time_in_stat(text.str());
}

}  // namespace

RunId this_run() {
    static const RunId run = [] {
        RunId id;
        id.pid = static_cast<long>(::getpid());
        id.start = start_time_of(id.pid).value_or(0);
        return id;
    }();
    return run;
}

bool is_running(const RunId& run) {
    const auto start = start_time_of(run.pid);
    return start && *start == run.start;
}

std::filesystem::path run_folders_base() {
    const char* tmpdir = std::getenv("TMPDIR");
    return tmpdir != nullptr && *tmpdir != '\0' ? std::filesystem::path(tmpdir)
                                                : std::filesystem::path("/tmp");
}

std::filesystem::path make_run_folder(std::string_view kind) {
    const auto base = run_folders_base();
    const auto run = this_run();
    std::string pattern =
        (base / (std::string(k_prefix) + std::string(kind) + std::string(k_run_marker) +
                 std::to_string(run.pid) + "." + std::to_string(run.start) + "-XXXXXX"))
            .string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw FileError("cannot create a private folder in " + base.string() + ": " +
                        errno_message(errno) + "; check TMPDIR");
    }
    if (::chmod(pattern.c_str(), S_IRWXU) != 0) {
        const auto reason = errno_message(errno);
        std::error_code ignored;
        std::filesystem::remove_all(pattern, ignored);
        throw FileError("cannot chmod " + pattern + ": " + reason);
    }
    return pattern;
}

std::optional<std::string> without_run_id(std::string_view name) {
    if (!run_of_folder(name)) {
        return std::nullopt;
    }
    const auto random = name.size() - k_random_part - 1;  // the '-' before mkdtemp's part
    const auto marker = name.substr(0, random).rfind(k_run_marker);
    return std::string(name.substr(0, marker)) + std::string(name.substr(random));
}

std::optional<RunId> run_of_folder(std::string_view name) {
    if (!name.starts_with(k_prefix) || name.size() < k_random_part + 1 ||
        name[name.size() - k_random_part - 1] != '-') {
        return std::nullopt;
    }
    const auto without_random = name.substr(0, name.size() - k_random_part - 1);
    const auto marker = without_random.rfind(k_run_marker);
    if (marker == std::string_view::npos) {
        return std::nullopt;
    }
    const auto id = without_random.substr(marker + k_run_marker.size());
    const auto dot = id.find('.');
    if (dot == std::string_view::npos) {
        return std::nullopt;
    }
    const auto pid = parse_whole_number(id.substr(0, dot));
    const auto start = parse_whole_number(id.substr(dot + 1));
    if (!pid || !start || *pid == 0 ||
        *pid > static_cast<std::uint64_t>(std::numeric_limits<long>::max())) {
        return std::nullopt;
    }
    return RunId{static_cast<long>(*pid), *start};
}

std::vector<std::filesystem::path> remove_stale_run_folders(
    const std::filesystem::path& base, const std::function<bool(const RunId&)>& running) {
    std::vector<std::filesystem::path> removed;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(base, ec), end; !ec && it != end;
         it.increment(ec)) {
        const auto& path = it->path();
        const auto run = run_of_folder(path.filename().string());
        struct stat info {};
        if (!run || ::lstat(path.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) ||
            info.st_uid != ::geteuid() || running(*run)) {
            continue;
        }
        std::error_code remove_error;
        std::filesystem::remove_all(path, remove_error);
        if (remove_error) {
            spdlog::warn("cannot remove {}, left by an assetctl run that ended (pid {}): {}",
                         path.string(), run->pid, remove_error.message());
            continue;
        }
        removed.push_back(path);
    }
    return removed;
}

}  // namespace assetctl::util
