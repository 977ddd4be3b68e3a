#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli/ci_reports.hpp"
#include "support/temp_dir.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

using namespace assetctl;

namespace {

publish::Summary one_failure() {
    publish::Summary summary;
    publish::Outcome outcome;
    outcome.asset = "3c8fa917aa2bb0e5";
    outcome.display_name = "Api";
    outcome.destination = "prod";
    outcome.state = publish::Outcome::State::failed;
    outcome.error = "denied";
    summary.outcomes.push_back(outcome);
    return summary;
}

std::string read(const std::filesystem::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("the summary file is Markdown, JSON or the table by the file's extension") {
    test::TempDir dir;
    const util::MapEnvironment env;
    std::ostringstream annotations;
    const auto md = dir.path() / "summary.md";
    const auto json = dir.path() / "summary.json";
    const auto text = dir.path() / "summary.txt";
    for (const auto& path : {md, json, text}) {
        cli::write_ci_reports(one_failure(), publish::Mode::publish, path.string(), env,
                              annotations);
    }
    CHECK_THAT(read(md), Catch::StartsWith("### assetctl publish: 1 destinations: 1 failed"));
    CHECK(nlohmann::json::parse(read(json))["assets"][0]["error"] == "denied");
    CHECK_THAT(read(text), Catch::StartsWith("RESULT"));
    CHECK(annotations.str().empty());  // not on GitHub Actions
}

TEST_CASE("an unwritable summary file is a usage error naming it") {
    const util::MapEnvironment env;
    std::ostringstream annotations;
    try {
        cli::write_ci_reports(one_failure(), publish::Mode::publish,
                              std::string("/nonexistent-folder/summary.md"), env, annotations);
        FAIL("no error");
    } catch (const util::Fatal& e) {
        CHECK(e.exit_code() == util::ExitCode::usage);
        CHECK_THAT(e.what(), Catch::Contains("/nonexistent-folder/summary.md"));
    }
}

TEST_CASE("on GitHub Actions: annotations, and the Markdown summary appended to the step's") {
    test::TempDir dir;
    const auto step = dir.write("step-summary.md", "earlier step\n");
    const util::MapEnvironment env{{"GITHUB_ACTIONS", "true"},
                                   {"GITHUB_STEP_SUMMARY", step.string()}};
    std::ostringstream annotations;
    cli::write_ci_reports(one_failure(), publish::Mode::publish, std::nullopt, env, annotations);
    CHECK(annotations.str() ==
          "::error title=assetctl%3A Api (3c8fa917) \u2192 prod failed::denied\n");
    const auto written = read(step);
    CHECK_THAT(written, Catch::StartsWith("earlier step\n### assetctl publish"));
    CHECK_THAT(written, Catch::Contains("| \u274c failed: denied | Api `3c8fa917` | `prod` |  |"));
}
