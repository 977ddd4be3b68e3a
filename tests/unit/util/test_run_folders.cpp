// Run folders: named after the run that made them, so a later run removes those of killed runs
// and nothing else.
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "util/run_folders.hpp"

using namespace assetctl;
namespace fs = std::filesystem;

TEST_CASE("a run folder's name carries its run, which parses back") {
    const auto run = util::run_of_folder("assetctl-docker-r4242.987654-Ab3dE9");
    REQUIRE(run.has_value());
    CHECK(run->pid == 4242);
    CHECK(run->start == 987654);
    for (const char* name : {"assetctl-docker-Ab3dE9", "assetctl-logs-r12-Ab3dE9", "assetctl-r1.2",
                             "other-docker-r1.2-Ab3dE9", "assetctl-docker-r0.5-Ab3dE9",
                             "assetctl-docker-rx.5-Ab3dE9", "assetctl-docker-r1.5x-Ab3dE9"}) {
        CAPTURE(name);
        CHECK_FALSE(util::run_of_folder(name).has_value());
    }
}

TEST_CASE("a kept folder's name loses its run id, whatever its random part") {
    CHECK(util::without_run_id("assetctl-logs-r12.34-Ab3dE9") == "assetctl-logs-Ab3dE9");
    // mkdtemp's part may start with 'r': the run id is found before it, not in it.
    CHECK(util::without_run_id("assetctl-logs-r12.34-rAbcde") == "assetctl-logs-rAbcde");
    CHECK_FALSE(util::without_run_id("assetctl-logs-Ab3dE9").has_value());
}

TEST_CASE("this run is running; the same pid with another start time is not") {
    const auto run = util::this_run();
    CHECK(run.pid == static_cast<long>(::getpid()));
    CHECK(run.start > 0);
    CHECK(util::is_running(run));
    CHECK_FALSE(util::is_running({run.pid, run.start + 1}));
}

TEST_CASE("make_run_folder: 0700, in TMPDIR, named after this run") {
    test::TempDir tmp;
    ::setenv("TMPDIR", tmp.path().c_str(), 1);
    const auto folder = util::make_run_folder("spool");
    ::unsetenv("TMPDIR");
    CHECK(folder.parent_path() == tmp.path());
    CHECK((fs::status(folder).permissions() & fs::perms::all) == fs::perms::owner_all);
    CHECK(util::run_of_folder(folder.filename().string()) == util::this_run());
}

TEST_CASE("only folders of ended runs are removed; symlinks, files and other names stay") {
    test::TempDir tmp;
    const auto dead = tmp.mkdir("assetctl-docker-r111.1-aaaaaa");
    tmp.write("assetctl-docker-r111.1-aaaaaa/config.json", "{\"auths\":{}}");
    const auto alive = tmp.mkdir("assetctl-spool-r222.2-bbbbbb");
    const auto kept_logs = tmp.mkdir("assetctl-logs-cccccc");
    const auto file = tmp.write("assetctl-docker-r111.1-dddddd", "not a folder");
    const auto target = tmp.mkdir("elsewhere");
    tmp.write("elsewhere/precious", "x");
    const auto link = tmp.path() / "assetctl-docker-r111.1-eeeeee";
    fs::create_directory_symlink(target, link);

    const auto removed = util::remove_stale_run_folders(
        tmp.path(), [](const util::RunId& run) { return run.pid == 222; });

    CHECK(removed == std::vector<fs::path>{dead});
    CHECK_FALSE(fs::exists(dead));
    CHECK(fs::exists(alive));
    CHECK(fs::exists(kept_logs));
    CHECK(fs::exists(file));
    CHECK(fs::is_symlink(link));
    CHECK(fs::exists(target / "precious"));
}

TEST_CASE("a missing base folder removes nothing") {
    CHECK(util::remove_stale_run_folders("/nonexistent/assetctl-test").empty());
}
