#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace assetctl::util {

std::string join(const std::vector<std::string>& parts, std::string_view separator);
std::string trim(std::string_view text);
std::string to_lower(std::string_view text);

// The lines of `text` without their `\n` (or `\r\n`); a last line without one counts.
std::vector<std::string> split_lines(std::string_view text);

// The last `limit` lines, dropping trailing blank ones (for "the last lines of the output").
std::vector<std::string> last_lines(std::vector<std::string> lines, std::size_t limit);

// `text` as a whole number in decimal digits only (no sign, no spaces); nullopt when it is not
// one or does not fit 64 bits. The one parser of numeric settings (environment, profiles).
std::optional<std::uint64_t> parse_whole_number(std::string_view text);

// Quotes one argument for display the way a POSIX shell would need it (never executed).
std::string shell_quote(std::string_view arg);
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace assetctl::util
