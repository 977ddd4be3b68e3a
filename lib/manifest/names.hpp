#pragma once

#include <optional>
#include <string>
#include <string_view>

// The grammars of the names a destination gives (ECR repository, image tag, S3 bucket, object
// key), checked when the manifest is read (placeholders stand for sample values then) and again
// once they are resolved, so a bad name fails early with its JSON path instead of late at ECR,
// the registry or S3. Each returns what is wrong, or nullopt for a valid name.
namespace assetctl::manifest {

// ECR: 2 to 256 characters, `[a-z0-9]+([._-][a-z0-9]+)*` components separated by `/`.
std::optional<std::string> repository_name_problem(std::string_view name);
// The registry's tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
std::optional<std::string> image_tag_problem(std::string_view tag);
// S3: 3 to 63 characters of `a-z0-9.-`, a letter or digit first and last, no `..`.
std::optional<std::string> bucket_name_problem(std::string_view bucket);
// S3: 1 to 1024 bytes, no control characters.
std::optional<std::string> object_key_problem(std::string_view key);

// `text` with `${AWS::AccountId}`, `${AWS::Region}` and `${AWS::Partition}` replaced by sample
// values of their grammar (123456789012, us-east-1, aws): what a check before resolution sees.
std::string with_sample_placeholders(std::string_view text);

}  // namespace assetctl::manifest
