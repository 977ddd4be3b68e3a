#include "cli/ci_reports.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "report/summary.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace assetctl::cli {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& text, std::string_view suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string summary_text_for(const std::string& path, const publish::Summary& summary,
                             publish::Mode mode) {
    if (ends_with(path, ".md") || ends_with(path, ".markdown")) {
        return report::summary_markdown(summary, mode);
    }
    if (ends_with(path, ".json")) {
        return report::summary_json(summary).dump(2) + "\n";
    }
    std::ostringstream text;
    report::print_summary_table(summary, mode, text);
    return text.str();
}

void write_summary_file(const std::string& path, const publish::Summary& summary,
                        publish::Mode mode) {
    try {
        util::write_file_atomically(fs::path(path), summary_text_for(path, summary, mode),
                                    fs::perms::owner_read | fs::perms::owner_write |
                                        fs::perms::group_read | fs::perms::others_read);
    } catch (const std::exception& e) {
        throw util::Fatal(util::ExitCode::usage,
                          "--summary-file " + path + ": cannot write it: " + e.what(),
                          "give a path in a folder that exists and is writable");
    }
}

void append_step_summary(const std::string& path, const publish::Summary& summary,
                         publish::Mode mode) {
    std::ofstream file(path, std::ios::app | std::ios::binary);
    file << report::summary_markdown(summary, mode) << "\n";
    file.flush();
    if (!file) {
        spdlog::warn("GITHUB_STEP_SUMMARY={}: cannot append the summary there", path);
    }
}

}  // namespace

void write_ci_reports(const publish::Summary& summary, publish::Mode mode,
                      const std::optional<std::string>& summary_file, const util::Environment& env,
                      std::ostream& annotations) {
    if (env.get("GITHUB_ACTIONS") == "true") {
        for (const auto& line : report::github_annotations(summary)) {
            annotations << line << "\n";
        }
        annotations << std::flush;
    }
    if (const auto step_summary = env.get_non_empty("GITHUB_STEP_SUMMARY")) {
        append_step_summary(*step_summary, summary, mode);
    }
    if (summary_file) {
        write_summary_file(*summary_file, summary, mode);
    }
}

}  // namespace assetctl::cli
