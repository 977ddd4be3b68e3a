#pragma once

#include <chrono>
#include <cstdint>
#include <string>

// How assets, sizes and durations are written for people, in every view and summary.
namespace assetctl::report {

// The first 8 characters of an asset id (a content hash): enough to tell assets apart.
std::string short_id(const std::string& asset_id);

// `Name (3c8fa917)` with a display name, else the short id alone.
std::string asset_label(const std::string& display_name, const std::string& asset_id);

// The terminal columns `text` takes: one per UTF-8 code point.
std::size_t display_columns(const std::string& text);

// 512 B, 1.5 KiB, 12.3 MiB, 2.0 GiB.
std::string human_bytes(std::uint64_t bytes);

// 0.4 s, 12.3 s, 2m05s.
std::string human_duration(std::chrono::milliseconds duration);

}  // namespace assetctl::report
