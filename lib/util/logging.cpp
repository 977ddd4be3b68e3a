#include "util/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace assetctl::util {

Verbosity verbosity_from_flags(int verbose_count, bool quiet) {
    if (quiet) {
        return Verbosity::quiet;
    }
    if (verbose_count >= 2) {
        return Verbosity::trace;
    }
    return verbose_count == 1 ? Verbosity::verbose : Verbosity::normal;
}

bool color_wanted(const Environment& env, bool stderr_is_terminal) {
    if (env.get_non_empty("NO_COLOR")) {
        return false;
    }
    if (env.get("TERM") == "dumb") {
        return false;
    }
    return stderr_is_terminal;
}

void configure_logging(const LogSettings& settings) {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
        settings.color ? spdlog::color_mode::always : spdlog::color_mode::never);
    auto logger = std::make_shared<spdlog::logger>("assetctl", std::move(sink));
    switch (settings.verbosity) {
        case Verbosity::quiet:
            logger->set_level(spdlog::level::warn);
            break;
        case Verbosity::normal:
            logger->set_level(spdlog::level::info);
            break;
        case Verbosity::verbose:
            logger->set_level(spdlog::level::debug);
            break;
        case Verbosity::trace:
            logger->set_level(spdlog::level::trace);
            break;
    }
    if (settings.verbosity >= Verbosity::verbose) {
        logger->set_pattern("%H:%M:%S.%e %^%l%$ %v");
    } else {
        logger->set_pattern("%^%l%$: %v");
    }
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace assetctl::util
