#include "report/labels.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace assetctl::report {

std::string short_id(const std::string& asset_id) {
    constexpr std::size_t k_short = 8;
    return asset_id.size() > k_short ? asset_id.substr(0, k_short) : asset_id;
}

std::string asset_label(const std::string& display_name, const std::string& asset_id) {
    if (display_name.empty()) {
        return short_id(asset_id);
    }
    return display_name + " (" + short_id(asset_id) + ")";
}

std::size_t display_columns(const std::string& text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
    }));
}

std::string human_bytes(std::uint64_t bytes) {
    constexpr std::array<const char*, 4> k_units{"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        return std::to_string(bytes) + " B";
    }
    auto value = static_cast<double>(bytes) / 1024.0;
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < k_units.size()) {
        value /= 1024.0;
        ++unit;
    }
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "%.1f %s", value, k_units[unit]);
    return text.data();
}

std::string human_duration(std::chrono::milliseconds duration) {
    const auto ms = duration.count() < 0 ? 0 : duration.count();
    std::array<char, 32> text{};
    if (ms < 60'000) {
        std::snprintf(text.data(), text.size(), "%.1f s", static_cast<double>(ms) / 1000.0);
    } else {
        const auto seconds = ms / 1000;
        std::snprintf(text.data(), text.size(), "%lldm%02llds",
                      static_cast<long long>(seconds / 60), static_cast<long long>(seconds % 60));
    }
    return text.data();
}

}  // namespace assetctl::report
