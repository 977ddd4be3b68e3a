#pragma once

#include <string_view>

namespace assetctl::util {

// The assetctl version (the CMake project version).
std::string_view version();

}  // namespace assetctl::util
