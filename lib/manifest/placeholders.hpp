#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace assetctl::manifest {

// The values `${AWS::AccountId}`, `${AWS::Region}` and `${AWS::Partition}` stand for.
struct PlaceholderValues {
    std::optional<std::string> account;  // the caller's account (STS GetCallerIdentity)
    std::optional<std::string> region;   // the destination's region, else the default region
};

// The partition a region belongs to: `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b`,
// `aws-iso-e`, `aws-iso-f`, `aws-eusc`.
std::string partition_for_region(std::string_view region);

// Replaces the three placeholders. One whose value is unknown (no account, no region; the
// partition needs the region) stays as written, so callers can tell with has_placeholders().
std::string resolve_placeholders(std::string_view text, const PlaceholderValues& values);

// True when `${AWS::AccountId}`, `${AWS::Region}` or `${AWS::Partition}` occurs in `text`.
bool has_placeholders(std::string_view text);

}  // namespace assetctl::manifest
