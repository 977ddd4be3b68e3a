#pragma once

#include <span>
#include <string_view>

namespace assetctl::cli {

struct EnvironmentVariable {
    std::string_view name;
    std::string_view meaning;
};

// Every environment variable assetctl reads (or that its HTTP client honours), in the order the
// manual page's ENVIRONMENT section lists them. The one list: the e2e test
// tests/e2e/test_completion.py fails when lib/ reads a variable this does not name.
std::span<const EnvironmentVariable> documented_environment();

}  // namespace assetctl::cli
