#pragma once

#include <string>
#include <string_view>

namespace assetctl::image {

// 'text', for naming files and entries in messages. Built by appending: the shorter
// `"'" + std::string(text) + "'"` made GCC 12 report a false -Wrestrict in Release builds
// (operator+(const char*, std::string&&) inlined into an overlapping memcpy).
inline std::string quote(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '\'';
    out += text;
    out += '\'';
    return out;
}

}  // namespace assetctl::image
