#include "manifest/placeholders.hpp"

#include <array>
#include <utility>

namespace assetctl::manifest {
namespace {

constexpr std::string_view k_account = "${AWS::AccountId}";
constexpr std::string_view k_region = "${AWS::Region}";
constexpr std::string_view k_partition = "${AWS::Partition}";

void replace_all(std::string& text, std::string_view from, std::string_view to) {
    for (auto pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
    }
}

}  // namespace

std::string partition_for_region(std::string_view region) {
    // Longest prefixes first: `us-isob-` must not be taken for `us-iso-`.
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> prefixes{{
        {"us-isob-", "aws-iso-b"},
        {"us-isof-", "aws-iso-f"},
        {"eu-isoe-", "aws-iso-e"},
        {"us-iso-", "aws-iso"},
        {"us-gov-", "aws-us-gov"},
        {"cn-", "aws-cn"},
        {"eusc-", "aws-eusc"},
    }};
    for (const auto& [prefix, partition] : prefixes) {
        if (region.starts_with(prefix)) {
            return std::string(partition);
        }
    }
    return "aws";
}

std::string resolve_placeholders(std::string_view text, const PlaceholderValues& values) {
    std::string out(text);
    if (values.account) {
        replace_all(out, k_account, *values.account);
    }
    if (values.region) {
        replace_all(out, k_region, *values.region);
        replace_all(out, k_partition, partition_for_region(*values.region));
    }
    return out;
}

bool has_placeholders(std::string_view text) {
    return text.find(k_account) != std::string_view::npos ||
           text.find(k_region) != std::string_view::npos ||
           text.find(k_partition) != std::string_view::npos;
}

}  // namespace assetctl::manifest
