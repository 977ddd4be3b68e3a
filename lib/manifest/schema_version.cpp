#include "manifest/schema_version.hpp"

#include <charconv>

namespace assetctl::manifest {

std::optional<int> schema_major(std::string_view version) {
    // MAJOR.MINOR.PATCH with an optional -prerelease / +build suffix.
    int parts[3] = {0, 0, 0};
    const char* cursor = version.data();
    const char* end = version.data() + version.size();
    for (int i = 0; i < 3; ++i) {
        auto [next, ec] = std::from_chars(cursor, end, parts[i]);
        if (ec != std::errc() || next == cursor || parts[i] < 0) {
            return std::nullopt;
        }
        cursor = next;
        if (i < 2) {
            if (cursor == end || *cursor != '.') {
                return std::nullopt;
            }
            ++cursor;
        }
    }
    if (cursor != end && *cursor != '-' && *cursor != '+') {
        return std::nullopt;
    }
    return parts[0];
}

}  // namespace assetctl::manifest
