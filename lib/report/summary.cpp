#include "report/summary.hpp"

#include <algorithm>
#include <array>

#include "report/labels.hpp"

namespace assetctl::report {
namespace {

using publish::Outcome;
using State = Outcome::State;

void add_image_fields(const Outcome& outcome, nlohmann::ordered_json& entry) {
    if (!outcome.image_uri.empty()) {
        entry["imageUri"] = outcome.image_uri;
    }
    if (!outcome.digest.empty()) {
        entry["digest"] = outcome.digest;
    }
    if (outcome.upload) {
        entry["blobs"] = {{"uploaded", outcome.upload->blobs_uploaded},
                          {"mounted", outcome.upload->blobs_mounted},
                          {"present", outcome.upload->blobs_present}};
        entry["bytesUploaded"] = outcome.upload->bytes_uploaded;
    }
}

void add_file_fields(const Outcome& outcome, nlohmann::ordered_json& entry) {
    if (!outcome.object_url.empty()) {
        entry["objectUrl"] = outcome.object_url;
    }
    if (outcome.file_upload) {
        entry["parts"] = outcome.file_upload->parts;
        entry["bytesUploaded"] = outcome.file_upload->bytes;
    }
}

nlohmann::ordered_json outcome_json(const Outcome& outcome) {
    const bool file = outcome.kind == Outcome::Kind::file;
    nlohmann::ordered_json entry{{"asset", outcome.asset}};
    if (!outcome.display_name.empty()) {
        entry["displayName"] = outcome.display_name;
    }
    entry["destination"] = outcome.destination;
    entry["stack"] = outcome.stack;
    entry["type"] = file ? "file" : "image";
    entry["state"] = publish::to_string(outcome.state);
    if (file) {
        add_file_fields(outcome, entry);
    } else {
        add_image_fields(outcome, entry);
    }
    if (!outcome.error.empty()) {
        entry["error"] = outcome.error;
    }
    if (!outcome.method.empty()) {
        entry["method"] = outcome.method;
    }
    return entry;
}

std::string label_of(const Outcome& outcome) {
    return asset_label(outcome.display_name, outcome.asset);
}

bool has_reason(const Outcome& outcome) {
    return (outcome.state == State::failed || outcome.state == State::skipped) &&
           !outcome.error.empty();
}

std::string totals_line(const Totals& totals, const publish::Summary& summary, publish::Mode mode) {
    std::vector<std::string> parts;
    const auto add = [&parts](std::size_t n, const char* word) {
        if (n > 0) {
            parts.push_back(std::to_string(n) + " " + word);
        }
    };
    add(totals.published, "published");
    add(totals.present, "already present");
    add(totals.built, "built");
    add(totals.planned, "would publish");
    add(totals.failed, "failed");
    add(totals.skipped, "skipped");
    std::string line = std::to_string(summary.outcomes.size()) +
                       (mode == publish::Mode::publish ? " destinations" : " targets");
    line += parts.empty() ? "" : ": ";
    for (std::size_t i = 0; i < parts.size(); ++i) {
        line += (i == 0 ? "" : ", ") + parts[i];
    }
    line += " (" + std::to_string(summary.builds) + " images built, " +
            std::to_string(summary.pushes) + " pushed, " + std::to_string(summary.uploads) +
            " files uploaded)";
    return line;
}

std::string markdown_cell(const std::string& text) {
    std::string out;
    for (const char c : text) {
        if (c == '|') {
            out += "\\|";
        } else if (c == '\n' || c == '\r') {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

std::string code_cell(const std::string& text) {
    return text.empty() ? "" : "`" + markdown_cell(text) + "`";
}

const char* markdown_mark(State state) {
    switch (state) {
        case State::published:
        case State::built:
            return "\u2705 ";  // ✅
        case State::present:
            return "\u2714\ufe0f ";  // ✔️
        case State::planned:
            return "\U0001F4DD ";  // 📝
        case State::skipped:
            return "\u26a0\ufe0f ";  // ⚠️
        case State::failed:
            return "\u274c ";  // ❌
    }
    return "";
}

// A workflow command's message: %, CR and LF escaped; properties also escape : and ,.
std::string escape_command(const std::string& text, bool property) {
    std::string out;
    for (const char c : text) {
        switch (c) {
            case '%':
                out += "%25";
                break;
            case '\r':
                out += "%0D";
                break;
            case '\n':
                out += "%0A";
                break;
            case ':':
                out += property ? "%3A" : ":";
                break;
            case ',':
                out += property ? "%2C" : ",";
                break;
            default:
                out += c;
        }
    }
    return out;
}

}  // namespace

Totals totals_of(const publish::Summary& summary) {
    Totals totals;
    for (const auto& outcome : summary.outcomes) {
        switch (outcome.state) {
            case State::published:
                ++totals.published;
                break;
            case State::present:
                ++totals.present;
                break;
            case State::built:
                ++totals.built;
                break;
            case State::planned:
                ++totals.planned;
                break;
            case State::skipped:
                ++totals.skipped;
                break;
            case State::failed:
                ++totals.failed;
                break;
        }
    }
    return totals;
}

std::string_view result_word(State state) {
    switch (state) {
        case State::published:
            return "published";
        case State::present:
            return "already present";
        case State::built:
            return "built";
        case State::planned:
            return "would publish";
        case State::skipped:
            return "skipped";
        case State::failed:
            return "failed";
    }
    return "failed";
}

std::string where_of(const Outcome& outcome) {
    if (outcome.kind == Outcome::Kind::file) {
        return outcome.object_url;
    }
    if (outcome.image_uri.empty() || outcome.digest.empty()) {
        return outcome.image_uri;
    }
    return outcome.image_uri + "@" + outcome.digest;
}

nlohmann::ordered_json summary_json(const publish::Summary& summary) {
    auto outcomes = nlohmann::ordered_json::array();
    for (const auto& outcome : summary.outcomes) {
        outcomes.push_back(outcome_json(outcome));
    }
    auto images = nlohmann::ordered_json::array();
    for (const auto& image : summary.images) {
        const auto& report = image.report;
        images.push_back({{"asset", image.asset},
                          {"imageId", report.image_id},
                          {"exported", report.exported},
                          {"compressedBytes", report.compressed_bytes},
                          {"layers", report.layers},
                          {"layersCompressed", report.layers_compressed},
                          {"layersFromCache", report.layers_from_cache}});
    }
    auto files = nlohmann::ordered_json::array();
    for (const auto& file : summary.files) {
        files.push_back({{"asset", file.asset},
                         {"path", file.path},
                         {"zipped", file.zipped},
                         {"bytes", file.bytes}});
    }
    return {{"event", "summary"},          {"ok", summary.ok()},
            {"builds", summary.builds},    {"pushes", summary.pushes},
            {"uploads", summary.uploads},  {"assets", std::move(outcomes)},
            {"images", std::move(images)}, {"files", std::move(files)}};
}

void print_summary_table(const publish::Summary& summary, publish::Mode mode, std::ostream& out) {
    using Row = std::array<std::string, 4>;
    std::vector<Row> rows{{"RESULT", "ASSET", "DESTINATION", "WHERE"}};
    for (const auto& outcome : summary.outcomes) {
        rows.push_back({std::string(result_word(outcome.state)), label_of(outcome),
                        outcome.destination, where_of(outcome)});
    }
    std::array<std::size_t, 3> widths{};
    for (const auto& row : rows) {
        for (std::size_t column = 0; column < widths.size(); ++column) {
            widths[column] = std::max(widths[column], display_columns(row[column]));
        }
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
        std::string line;
        for (std::size_t column = 0; column < widths.size(); ++column) {
            line += rows[i][column] +
                    std::string(widths[column] - display_columns(rows[i][column]) + 2, ' ');
        }
        line += rows[i][3];
        while (!line.empty() && line.back() == ' ') {
            line.pop_back();
        }
        out << line << "\n";
        if (i > 0 && has_reason(summary.outcomes[i - 1])) {
            out << "    reason: " << summary.outcomes[i - 1].error << "\n";
        }
    }
    out << totals_line(totals_of(summary), summary, mode) << "\n";
}

std::string summary_markdown(const publish::Summary& summary, publish::Mode mode) {
    std::string md = std::string("### assetctl ") +
                     (mode == publish::Mode::publish ? "publish" : "build") + ": " +
                     totals_line(totals_of(summary), summary, mode) + "\n\n";
    md += "| Result | Asset | Destination | Where |\n|---|---|---|---|\n";
    for (const auto& outcome : summary.outcomes) {
        std::string result = markdown_mark(outcome.state) + std::string(result_word(outcome.state));
        if (has_reason(outcome)) {
            result += ": " + markdown_cell(outcome.error);
        }
        std::string asset = code_cell(short_id(outcome.asset));
        if (!outcome.display_name.empty()) {
            asset = markdown_cell(outcome.display_name) + " " + asset;
        }
        md += "| " + result + " | " + asset + " | " + code_cell(outcome.destination) + " | " +
              code_cell(where_of(outcome)) + " |\n";
    }
    return md;
}

std::vector<std::string> github_annotations(const publish::Summary& summary) {
    std::vector<std::string> lines;
    for (const auto& outcome : summary.outcomes) {
        if (outcome.state != State::failed && outcome.state != State::skipped) {
            continue;
        }
        const bool failed = outcome.state == State::failed;
        const std::string title = "assetctl: " + label_of(outcome) + " \u2192 " +
                                  outcome.destination + (failed ? " failed" : " skipped");
        lines.push_back(std::string(failed ? "::error" : "::warning") +
                        " title=" + escape_command(title, true) + "::" +
                        escape_command(outcome.error.empty()
                                           ? std::string(result_word(outcome.state))
                                           : outcome.error,
                                       false));
    }
    return lines;
}

}  // namespace assetctl::report
