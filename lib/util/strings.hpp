#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace assetctl::util {

std::string join(const std::vector<std::string>& parts, std::string_view separator);
std::string trim(std::string_view text);
std::string to_lower(std::string_view text);

// Quotes one argument for display the way a POSIX shell would need it (never executed).
std::string shell_quote(std::string_view arg);
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace assetctl::util
