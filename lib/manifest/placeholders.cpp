#include "manifest/placeholders.hpp"

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

std::string resolve_placeholders(std::string_view text, const PlaceholderValues& values) {
    std::string out(text);
    if (values.account) {
        replace_all(out, k_account, *values.account);
    }
    if (values.region) {
        replace_all(out, k_region, *values.region);
    }
    if (values.partition) {
        replace_all(out, k_partition, *values.partition);
    }
    return out;
}

bool has_placeholders(std::string_view text) {
    return text.find(k_account) != std::string_view::npos ||
           text.find(k_region) != std::string_view::npos ||
           text.find(k_partition) != std::string_view::npos;
}

}  // namespace assetctl::manifest
