#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "publish/publisher.hpp"

// The closing report of build and publish: what happened per asset and destination.
namespace assetctl::report {

// How many targets ended in each state.
struct Totals {
    std::size_t published = 0;
    std::size_t present = 0;
    std::size_t built = 0;
    std::size_t planned = 0;
    std::size_t skipped = 0;
    std::size_t failed = 0;
};

Totals totals_of(const publish::Summary& summary);

// The words a reader scans: "published", "already present", "built", "would publish",
// "skipped", "failed".
std::string_view result_word(publish::Outcome::State state);

// The image URI (with the digest once pushed) or the S3 URL of an outcome; empty before it
// was resolved.
std::string where_of(const publish::Outcome& outcome);

// `--json`'s last line and `--summary-file x.json`.
nlohmann::ordered_json summary_json(const publish::Summary& summary);

// A table for terminals and logs (RESULT, ASSET, DESTINATION, WHERE), each failure's or
// skip's reason on the line under it, then one line of totals.
void print_summary_table(const publish::Summary& summary, publish::Mode mode, std::ostream& out);

// The same as Markdown: a heading with the totals and a table (GITHUB_STEP_SUMMARY,
// `--summary-file x.md`).
std::string summary_markdown(const publish::Summary& summary, publish::Mode mode);

// GitHub Actions workflow commands: `::error title=...::reason` per failed target and
// `::warning` per skipped one, values escaped as the runner expects.
std::vector<std::string> github_annotations(const publish::Summary& summary);

}  // namespace assetctl::report
