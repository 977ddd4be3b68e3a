#pragma once

#include <functional>
#include <string_view>

#include "util/environment.hpp"

namespace assetctl::util {

// Logs and progress go to stderr through spdlog; results go to stdout (see ARCHITECTURE.md).
enum class Verbosity { quiet, normal, verbose, trace };

struct LogSettings {
    Verbosity verbosity = Verbosity::normal;
    bool color = false;
};

// Verbosity from the -v count and -q flag (-q wins).
Verbosity verbosity_from_flags(int verbose_count, bool quiet);

// Colour only on a terminal, and never when NO_COLOR is set to anything non-empty
// (https://no-color.org) or TERM is "dumb".
bool color_wanted(const Environment& env, bool stderr_is_terminal);

// Installs the process-wide stderr logger. Safe to call more than once.
void configure_logging(const LogSettings& settings);

// While alive, every log line (formatted as configured, without colour) goes to `write`
// instead of stderr: the live terminal view prints it above itself. One at a time.
class LogRedirect {
  public:
    explicit LogRedirect(std::function<void(std::string_view line)> write);
    ~LogRedirect();
    LogRedirect(const LogRedirect&) = delete;
    LogRedirect& operator=(const LogRedirect&) = delete;
};

}  // namespace assetctl::util
