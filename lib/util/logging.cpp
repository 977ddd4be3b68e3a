#include "util/logging.hpp"

#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace assetctl::util {
namespace {

// The pattern configure_logging chose, for sinks installed later.
std::string& current_pattern() {
    static std::string pattern = "%^%l%$: %v";
    return pattern;
}

// The sinks a LogRedirect replaced, put back when it ends.
std::vector<spdlog::sink_ptr>& saved_sinks() {
    static std::vector<spdlog::sink_ptr> sinks;
    return sinks;
}

class FunctionSink final : public spdlog::sinks::base_sink<std::mutex> {
  public:
    explicit FunctionSink(std::function<void(std::string_view)> write) : write_(std::move(write)) {}

  protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
        spdlog::memory_buf_t formatted;
        formatter_->format(message, formatted);
        write_(std::string_view(formatted.data(), formatted.size()));
    }
    void flush_() override {}

  private:
    std::function<void(std::string_view)> write_;
};

}  // namespace

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
    current_pattern() =
        settings.verbosity >= Verbosity::verbose ? "%H:%M:%S.%e %^%l%$ %v" : "%^%l%$: %v";
    logger->set_pattern(current_pattern());
    spdlog::set_default_logger(std::move(logger));
}

LogRedirect::LogRedirect(std::function<void(std::string_view line)> write) {
    auto& sinks = spdlog::default_logger()->sinks();
    saved_sinks() = sinks;
    auto sink = std::make_shared<FunctionSink>(std::move(write));
    sink->set_pattern(current_pattern());
    sinks.assign({std::move(sink)});
}

LogRedirect::~LogRedirect() {
    spdlog::default_logger()->sinks() = saved_sinks();
    saved_sinks().clear();
}

}  // namespace assetctl::util
