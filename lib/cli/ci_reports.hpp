#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "publish/publisher.hpp"
#include "util/environment.hpp"

namespace assetctl::cli {

// After build/publish, for CI systems:
//  - `--summary-file PATH`: Markdown when PATH ends in .md or .markdown, JSON when it ends in
//    .json, the text table otherwise (written atomically; a failure to write is an error);
//  - GITHUB_STEP_SUMMARY set: the Markdown summary appended to that file (a warning if it
//    cannot be written);
//  - GITHUB_ACTIONS=true: one `::error` annotation per failed target (`::warning` per skipped
//    one) on `annotations`.
void write_ci_reports(const publish::Summary& summary, publish::Mode mode,
                      const std::optional<std::string>& summary_file, const util::Environment& env,
                      std::ostream& annotations);

}  // namespace assetctl::cli
