#pragma once

#include <string>
#include <string_view>

namespace assetctl::aws {

// The partition a region belongs to: `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b`,
// `aws-iso-e`, `aws-iso-f`, `aws-eusc`. A region of no known prefix is in `aws`.
std::string partition_for_region(std::string_view region);

}  // namespace assetctl::aws
