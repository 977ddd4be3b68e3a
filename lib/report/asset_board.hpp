#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "manifest/selection.hpp"
#include "publish/events.hpp"

// The live view's model: one row per asset, moved on by the run's events. Pure (time comes
// in as an argument), so what the terminal shows is unit-tested line by line.
namespace assetctl::report {

using SteadyTime = std::chrono::steady_clock::time_point;

struct BoardAsset {
    std::string id;
    std::string display_name;
    bool file = false;
    std::set<std::string> destinations;  // destination ids
};

// The selected assets in selection order (images, then files), one per asset id.
std::vector<BoardAsset> board_assets(const manifest::Selection& selection);

enum class RowPhase { waiting, checking, building, pushing, uploading, done, failed };

std::string_view to_string(RowPhase phase);

struct BoardRow {
    BoardAsset asset;
    RowPhase phase = RowPhase::waiting;
    std::set<std::string> settled;  // destinations with a final outcome
    std::set<std::string> failed;
    std::map<std::string, std::uint64_t> bytes;  // per destination, moved so far
    std::optional<SteadyTime> started;
    std::optional<SteadyTime> ended;

    std::uint64_t bytes_moved() const;
    bool finished() const { return phase == RowPhase::done || phase == RowPhase::failed; }
};

class AssetBoard {
  public:
    explicit AssetBoard(std::vector<BoardAsset> assets);

    // Moves the event's asset on. Not synchronised: the live view holds a lock around it.
    void apply(const publish::Event& event, SteadyTime now);
    const std::vector<BoardRow>& rows() const { return rows_; }

    // The lines to show: a header (assets done, bytes, time), then one line per asset, each
    // cut to `width` columns. With more assets than `max_rows`, unfinished and failed ones
    // are shown first and the rest summed up in one line.
    std::vector<std::string> render(SteadyTime now, std::size_t width, std::size_t max_rows) const;

  private:
    BoardRow* row_of(const std::string& asset);
    void settle(BoardRow& row, const std::string& destination, bool failed, SteadyTime now);

    std::vector<BoardRow> rows_;
    std::map<std::string, std::size_t> index_;  // asset id -> row
    std::optional<SteadyTime> started_;
};

// Cuts `text` to at most `width` columns (UTF-8 aware: one column per code point), ending
// in "…" when it had to cut.
std::string fit_to_width(const std::string& text, std::size_t width);

}  // namespace assetctl::report
