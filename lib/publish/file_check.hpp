#pragma once

#include "publish/run_state.hpp"

namespace assetctl::publish {

// An object this small or smaller is an empty zip, and counts as missing (cdk-assets' rule: an
// empty zip uploaded by a failed bundling must be replaced).
inline constexpr std::uint64_t k_empty_zip_size = 22;

// The resolve_file node: placeholders, region, the destination's role (one AssumeRole per
// role), and the account that must own the bucket - the role's account, else the caller's.
void resolve_file_target(RunState& run, FileTargetState& target);

// The check_file node: ListObjectsV2 with the key as prefix (not HeadObject: S3's negative
// cache would make a later upload invisible for a while). Present and larger than an empty
// zip: final. Otherwise the target moves to Phase::missing.
void check_file_target(RunState& run, FileTargetState& target);

// A readable sentence for an S3 error about `target`'s bucket: no such bucket (not
// bootstrapped?), another account's bucket, or the service's own words.
std::string describe_s3_error(const FileTargetState& target, const std::exception& error);

}  // namespace assetctl::publish
