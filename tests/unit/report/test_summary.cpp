#include <sstream>

#include <catch2/catch.hpp>

#include "report/labels.hpp"
#include "report/summary.hpp"

using namespace assetctl;
using publish::Outcome;
using State = Outcome::State;

namespace {

Outcome outcome(State state, std::string display_name, std::string destination) {
    Outcome out;
    out.asset = "3c8fa917aa2bb0e5c5b3e1aaf2a1ea7a";
    out.display_name = std::move(display_name);
    out.destination = std::move(destination);
    out.state = state;
    out.image_uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag";
    return out;
}

publish::Summary sample() {
    publish::Summary summary;
    auto published = outcome(State::published, "Api", "prod-eu");
    published.digest = "sha256:abcd";
    summary.outcomes.push_back(published);
    summary.outcomes.push_back(outcome(State::present, "Api", "prod-us-east-1"));
    auto failed = outcome(State::failed, "", "dev");
    failed.error = "push to x: 403 denied | try again";
    summary.outcomes.push_back(failed);
    auto file = outcome(State::skipped, "Site", "dev");
    file.kind = Outcome::Kind::file;
    file.object_url = "s3://bucket/key.zip";
    file.error = "interrupted";
    summary.outcomes.push_back(file);
    summary.builds = 1;
    summary.pushes = 1;
    return summary;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

}  // namespace

TEST_CASE("the summary table says per asset and destination what happened and where") {
    std::ostringstream out;
    report::print_summary_table(sample(), publish::Mode::publish, out);
    const auto lines = lines_of(out.str());
    REQUIRE(lines.size() == 8);
    CHECK(lines[0].rfind("RESULT", 0) == 0);
    CHECK(lines[1].rfind("published ", 0) == 0);
    CHECK_THAT(lines[1], Catch::Contains("Api (3c8fa917)") && Catch::Contains("prod-eu") &&
                             Catch::EndsWith("/repo:tag@sha256:abcd"));
    CHECK(lines[2].rfind("already present ", 0) == 0);
    CHECK(lines[3].rfind("failed ", 0) == 0);
    CHECK(lines[4] == "    reason: push to x: 403 denied | try again");
    CHECK_THAT(lines[5], Catch::StartsWith("skipped") && Catch::EndsWith("s3://bucket/key.zip"));
    CHECK(lines[6] == "    reason: interrupted");
    CHECK(lines[7] ==
          "4 destinations: 1 published, 1 already present, 1 failed, 1 skipped "
          "(1 images built, 1 pushed, 0 files uploaded)");
    // Columns line up: every row's DESTINATION starts where the header's does.
    const auto column = lines[0].find("DESTINATION");
    CHECK(lines[1].substr(column, 7) == "prod-eu");
    CHECK(lines[2].substr(column, 14) == "prod-us-east-1");
}

TEST_CASE("the Markdown summary is a table with escaped cells under a heading with totals") {
    const auto md = report::summary_markdown(sample(), publish::Mode::publish);
    const auto lines = lines_of(md);
    REQUIRE(lines.size() == 8);
    CHECK_THAT(lines[0], Catch::StartsWith("### assetctl publish: 4 destinations: 1 published"));
    CHECK(lines[2] == "| Result | Asset | Destination | Where |");
    CHECK_THAT(lines[4], Catch::Contains("published | Api `3c8fa917` | `prod-eu` |"));
    CHECK_THAT(lines[6],
               Catch::Contains("failed: push to x: 403 denied \\| try again | `3c8fa917` |"));
}

TEST_CASE("GitHub annotations: an error per failed target, a warning per skipped, escaped") {
    auto summary = sample();
    summary.outcomes[2].error = "line one\nline two: 100%";
    const auto lines = report::github_annotations(summary);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] ==
          "::error title=assetctl%3A 3c8fa917 \u2192 dev failed::line one%0Aline two: 100%25");
    CHECK(lines[1] ==
          "::warning title=assetctl%3A Site (3c8fa917) \u2192 dev skipped::interrupted");
}

TEST_CASE("summary JSON carries the display name when there is one") {
    const auto json = report::summary_json(sample());
    CHECK(json["assets"][0]["displayName"] == "Api");
    CHECK_FALSE(json["assets"][2].contains("displayName"));
    CHECK(json["assets"][3]["type"] == "file");
    CHECK(json["ok"] == false);
}

TEST_CASE("labels: short ids, sizes and durations for people") {
    CHECK(report::asset_label("", "0123456789abcdef") == "01234567");
    CHECK(report::asset_label("Web", "0123456789abcdef") == "Web (01234567)");
    CHECK(report::human_bytes(512) == "512 B");
    CHECK(report::human_bytes(1536) == "1.5 KiB");
    CHECK(report::human_bytes(5ull << 30) == "5.0 GiB");
    CHECK(report::human_duration(std::chrono::milliseconds(1234)) == "1.2 s");
    CHECK(report::human_duration(std::chrono::milliseconds(125'000)) == "2m05s");
}
