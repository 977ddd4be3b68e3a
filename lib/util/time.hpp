#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace assetctl::util {

// The years parse_iso8601 takes: what system_clock holds, with a margin.
inline constexpr int k_earliest_year = 1700;
inline constexpr int k_latest_year = 2200;

// ISO 8601 / RFC 3339 UTC timestamps as AWS writes them: `2026-11-27T12:00:00Z`, with optional
// fractional seconds and `Z`, `+00:00` or another numeric offset. nullopt when malformed or
// when the year is outside [k_earliest_year, k_latest_year].
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

// `2026-11-27T12:00:00Z`
std::string format_iso8601(std::chrono::system_clock::time_point time);

}  // namespace assetctl::util
