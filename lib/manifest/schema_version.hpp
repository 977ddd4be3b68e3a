#pragma once

#include <optional>
#include <string_view>

namespace assetctl::manifest {

// The newest cloud-assembly schema major version this assetctl understands. Schema majors only
// grow when CDK changes the format; anything newer is refused rather than half understood.
inline constexpr int k_newest_schema_major = 55;

// The major number of a semver string such as "55.0.0", or nullopt when malformed.
std::optional<int> schema_major(std::string_view version);

}  // namespace assetctl::manifest
