#include "util/error.hpp"

#include <utility>

namespace assetctl::util {

int to_int(ExitCode code) {
    return static_cast<int>(code);
}

Fatal::Fatal(ExitCode code, const std::string& message, std::string hint)
    : std::runtime_error(message), code_(code), hint_(std::move(hint)) {}

}  // namespace assetctl::util
