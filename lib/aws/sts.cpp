#include "aws/sts.hpp"

#include <cctype>

namespace assetctl::aws {

std::string sts_session_name(std::string_view user) {
    // RoleSessionName: [\w+=,.@-]{2,64}
    std::string name = "assetctl-";
    for (char c : user) {
        const bool allowed = std::isalnum(static_cast<unsigned char>(c)) != 0 ||
                             std::string_view("_+=,.@-").find(c) != std::string_view::npos;
        name += allowed ? c : '-';
    }
    if (name.size() > 64) {
        name.resize(64);
    }
    return name;
}

}  // namespace assetctl::aws
