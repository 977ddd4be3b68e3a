#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace assetctl::manifest {

// The values `${AWS::AccountId}`, `${AWS::Region}` and `${AWS::Partition}` stand for. The
// caller supplies all three: the partition of a region is AWS knowledge
// (aws::partition_for_region), not the manifest's.
struct PlaceholderValues {
    std::optional<std::string> account;    // the caller's account (STS GetCallerIdentity)
    std::optional<std::string> region;     // the destination's region, else the default region
    std::optional<std::string> partition;  // the region's partition ("aws", "aws-cn", ...)
};

// Replaces the three placeholders. One whose value is unknown stays as written, so callers can
// tell with has_placeholders().
std::string resolve_placeholders(std::string_view text, const PlaceholderValues& values);

// True when `${AWS::AccountId}`, `${AWS::Region}` or `${AWS::Partition}` occurs in `text`.
bool has_placeholders(std::string_view text);

}  // namespace assetctl::manifest
