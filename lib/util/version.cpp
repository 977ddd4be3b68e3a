#include "util/version.hpp"

namespace assetctl::util {

std::string_view version() {
    return ASSETCTL_VERSION;
}

}  // namespace assetctl::util
