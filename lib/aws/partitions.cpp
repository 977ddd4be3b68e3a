#include "aws/partitions.hpp"

#include <array>
#include <utility>

namespace assetctl::aws {

std::string partition_for_region(std::string_view region) {
    // Longest prefixes first: `us-isob-` must not be taken for `us-iso-`.
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> k_prefixes{{
        {"us-isob-", "aws-iso-b"},
        {"us-isof-", "aws-iso-f"},
        {"eu-isoe-", "aws-iso-e"},
        {"us-iso-", "aws-iso"},
        {"us-gov-", "aws-us-gov"},
        {"cn-", "aws-cn"},
        {"eusc-", "aws-eusc"},
    }};
    for (const auto& [prefix, partition] : k_prefixes) {
        if (region.starts_with(prefix)) {
            return std::string(partition);
        }
    }
    return "aws";
}

}  // namespace assetctl::aws
