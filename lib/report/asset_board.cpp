#include "report/asset_board.hpp"

#include <algorithm>

#include "report/labels.hpp"

namespace assetctl::report {
namespace {

using publish::EventType;

template <typename Asset>
void add_assets(const std::vector<manifest::Selected<Asset>>& selected, bool file,
                std::vector<BoardAsset>& out, std::map<std::string, std::size_t>& index) {
    for (const auto& entry : selected) {
        const auto& asset = entry.asset;
        auto [it, added] = index.emplace(asset.id, out.size());
        if (added) {
            out.push_back({asset.id, asset.display_name.value_or(""), file, {}});
        }
        for (const auto& destination : asset.destinations) {
            out[it->second].destinations.insert(destination.id);
        }
    }
}

std::string padded(const std::string& text, std::size_t columns) {
    const auto have = display_columns(text);
    return have >= columns ? text : text + std::string(columns - have, ' ');
}

const char* mark_of(RowPhase phase) {
    switch (phase) {
        case RowPhase::waiting:
            return "\u00b7";  // ·
        case RowPhase::done:
            return "\u2713";  // ✓
        case RowPhase::failed:
            return "\u2717";  // ✗
        default:
            return "\u25b8";  // ▸
    }
}

// The phase an event moves an unfinished row to (or its phase as it is).
RowPhase phase_after(const BoardRow& row, EventType type) {
    switch (type) {
        case EventType::start:
        case EventType::check:
            return row.phase == RowPhase::waiting ? RowPhase::checking : row.phase;
        case EventType::build:
        case EventType::cached:
            return RowPhase::building;
        case EventType::upload:
        case EventType::progress:
            return row.asset.file ? RowPhase::uploading : RowPhase::pushing;
        default:
            return row.phase;
    }
}

std::string elapsed_of(const BoardRow& row, SteadyTime now) {
    if (!row.started) {
        return "";
    }
    const auto end = row.ended.value_or(now);
    return human_duration(
        std::chrono::duration_cast<std::chrono::milliseconds>(end - *row.started));
}

std::string row_line(const BoardRow& row, std::size_t label_columns, SteadyTime now) {
    std::string line = std::string(" ") + mark_of(row.phase) + " ";
    line += padded(fit_to_width(asset_label(row.asset.display_name, row.asset.id), label_columns),
                   label_columns) +
            "  ";
    line += padded(std::string(to_string(row.phase)), 9) + "  ";
    line += padded(std::to_string(row.settled.size()) + "/" +
                       std::to_string(row.asset.destinations.size()),
                   5) +
            "  ";
    const auto moved = row.bytes_moved();
    line += padded(moved > 0 ? human_bytes(moved) : "", 10) + "  ";
    line += elapsed_of(row, now);
    if (!row.failed.empty()) {
        line += "  (" + std::to_string(row.failed.size()) + " failed)";
    }
    return line;
}

// Unfinished rows first, then failed, then done; manifest order within each.
int display_rank(const BoardRow& row) {
    if (!row.finished()) {
        return 0;
    }
    return row.phase == RowPhase::failed ? 1 : 2;
}

}  // namespace

std::vector<BoardAsset> board_assets(const manifest::Selection& selection) {
    std::vector<BoardAsset> out;
    std::map<std::string, std::size_t> index;
    add_assets(selection.docker_images, false, out, index);
    add_assets(selection.files, true, out, index);
    return out;
}

std::string_view to_string(RowPhase phase) {
    switch (phase) {
        case RowPhase::waiting:
            return "waiting";
        case RowPhase::checking:
            return "checking";
        case RowPhase::building:
            return "building";
        case RowPhase::pushing:
            return "pushing";
        case RowPhase::uploading:
            return "uploading";
        case RowPhase::done:
            return "done";
        case RowPhase::failed:
            return "failed";
    }
    return "waiting";
}

std::uint64_t BoardRow::bytes_moved() const {
    std::uint64_t total = 0;
    for (const auto& [destination, moved] : bytes) {
        total += moved;
    }
    return total;
}

AssetBoard::AssetBoard(std::vector<BoardAsset> assets) {
    for (auto& asset : assets) {
        index_.emplace(asset.id, rows_.size());
        rows_.push_back(BoardRow{std::move(asset), RowPhase::waiting, {}, {}, {}, {}, {}});
    }
}

BoardRow* AssetBoard::row_of(const std::string& asset) {
    const auto found = index_.find(asset);
    return found == index_.end() ? nullptr : &rows_[found->second];
}

void AssetBoard::settle(BoardRow& row, const std::string& destination, bool failed,
                        SteadyTime now) {
    row.settled.insert(destination);
    if (failed) {
        row.failed.insert(destination);
    }
    if (row.settled.size() >= row.asset.destinations.size()) {
        row.phase = row.failed.empty() ? RowPhase::done : RowPhase::failed;
        row.ended = now;
    }
}

void AssetBoard::apply(const publish::Event& event, SteadyTime now) {
    if (!started_) {
        started_ = now;
    }
    auto* row = row_of(event.asset);
    if (row == nullptr || event.type == EventType::debug) {
        return;
    }
    if (!row->started) {
        row->started = now;
    }
    if (event.type == EventType::progress && event.bytes) {
        row->bytes[event.destination] = *event.bytes;
    }
    if (row->finished()) {
        return;
    }
    const bool final_event = event.type == EventType::success || event.type == EventType::found ||
                             event.type == EventType::fail;
    if (final_event && !event.destination.empty()) {
        settle(*row, event.destination, event.type == EventType::fail, now);
        return;
    }
    row->phase = phase_after(*row, event.type);
}

std::vector<std::string> AssetBoard::render(SteadyTime now, std::size_t width,
                                            std::size_t max_rows) const {
    std::size_t done = 0;
    std::size_t failed = 0;
    std::uint64_t moved = 0;
    std::size_t label_columns = 0;
    for (const auto& row : rows_) {
        done += row.phase == RowPhase::done ? 1U : 0U;
        failed += row.phase == RowPhase::failed ? 1U : 0U;
        moved += row.bytes_moved();
        label_columns = std::max(
            label_columns, display_columns(asset_label(row.asset.display_name, row.asset.id)));
    }
    label_columns = std::min<std::size_t>(label_columns, 40);
    std::string header = std::to_string(done) + "/" + std::to_string(rows_.size()) + " assets done";
    if (failed > 0) {
        header += ", " + std::to_string(failed) + " failed";
    }
    header += ", " + human_bytes(moved) + " moved";
    if (started_) {
        header +=
            ", " +
            human_duration(std::chrono::duration_cast<std::chrono::milliseconds>(now - *started_));
    }
    std::vector<std::string> lines{fit_to_width(header, width)};

    std::vector<const BoardRow*> order;
    for (const auto& row : rows_) {
        order.push_back(&row);
    }
    std::stable_sort(order.begin(), order.end(), [](const BoardRow* a, const BoardRow* b) {
        return display_rank(*a) < display_rank(*b);
    });
    const bool cut = order.size() > max_rows;
    const std::size_t shown = cut ? (max_rows > 0 ? max_rows - 1 : 0) : order.size();
    for (std::size_t i = 0; i < shown; ++i) {
        lines.push_back(fit_to_width(row_line(*order[i], label_columns, now), width));
    }
    if (cut) {
        std::size_t hidden_done = 0;
        for (std::size_t i = shown; i < order.size(); ++i) {
            hidden_done += order[i]->phase == RowPhase::done ? 1U : 0U;
        }
        lines.push_back(fit_to_width("   \u2026 and " + std::to_string(order.size() - shown) +
                                         " more (" + std::to_string(hidden_done) + " done)",
                                     width));
    }
    return lines;
}

std::string fit_to_width(const std::string& text, std::size_t width) {
    if (display_columns(text) <= width) {
        return text;
    }
    if (width == 0) {
        return "";
    }
    std::string out;
    std::size_t columns = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool starts_code_point = (static_cast<unsigned char>(text[i]) & 0xC0U) != 0x80U;
        if (starts_code_point) {
            if (columns + 1 == width) {
                break;
            }
            ++columns;
        }
        out += text[i];
    }
    return out + "\u2026";
}

}  // namespace assetctl::report
