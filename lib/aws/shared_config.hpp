#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/credentials.hpp"
#include "util/environment.hpp"

// The shared AWS files (~/.aws/config and ~/.aws/credentials) as the AWS SDKs read them, with
// botocore as the reference (configloader.py, Session.full_config).

namespace assetctl::aws {

// A shared file that cannot be read or parsed, or a profile that was chosen explicitly but
// exists nowhere. A CredentialsError, so it stops the credential chain. Messages name the file
// and line but never quote a line (it may hold a secret).
class SharedConfigError : public CredentialsError {
  public:
    using CredentialsError::CredentialsError;
};

// Keys of one section, lower-cased as botocore's configparser does; values trimmed.
using IniValues = std::map<std::string, std::string, std::less<>>;

struct IniSection {
    std::string name;  // between the brackets, trimmed, case kept
    IniValues values;
};

// The AWS flavour of INI:
// - `[section]` headers, `key = value` properties (only `=` separates; keys are lower-cased);
// - whole-line comments start with `#` or `;`; a `#` or `;` preceded by whitespace starts a
//   comment at the end of a header or a value (as the Java/Go/Rust SDKs do; botocore would keep
//   it in the value);
// - an indented line continues the property above it: after an empty value it is a nested
//   sub-property (`s3 =` / `  addressing_style = path`), which is parsed and dropped; after a
//   non-empty value it is appended to the value on a new line;
// - a section or key that repeats merges, the later value winning.
// Throws SharedConfigError naming `file` and the line number.
std::vector<IniSection> parse_ini(std::string_view text, std::string_view file);

struct SharedConfigFiles {
    std::filesystem::path config;
    std::filesystem::path credentials;
};

// AWS_CONFIG_FILE (default $HOME/.aws/config) and AWS_SHARED_CREDENTIALS_FILE (default
// $HOME/.aws/credentials); a leading `~/` is expanded with HOME.
SharedConfigFiles shared_config_files(const util::Environment& env);

struct ProfileSelection {
    std::string name;
    // Chosen with --profile or AWS_PROFILE (even when "default"): then it must exist.
    bool is_explicit = false;
    // Where the name came from, for messages: "--profile", "AWS_PROFILE" or "default".
    std::string origin;
};

// `profile_override` (--profile), else AWS_PROFILE, else "default". Empty values count as unset.
ProfileSelection select_profile(const util::Environment& env,
                                const std::optional<std::string>& profile_override);

// One profile merged from both files.
struct Profile {
    std::string name;
    IniValues config_values;       // `[profile name]` (or `[default]`) in the config file
    IniValues credentials_values;  // `[name]` in the credentials file

    // The credentials file wins over the config file for the same key (botocore merges the
    // credentials file over the config file).
    std::optional<std::string> get(std::string_view key) const;
    bool has(std::string_view key) const { return get(key).has_value(); }
};

class SharedConfig {
  public:
    // No files at all.
    SharedConfig() = default;

    // Reads both files. A missing file counts as empty; an unreadable or malformed one throws
    // SharedConfigError.
    static SharedConfig load(const SharedConfigFiles& files);
    static SharedConfig load(const util::Environment& env) {
        return load(shared_config_files(env));
    }
    // From the files' contents (std::nullopt: that file does not exist).
    static SharedConfig parse(const std::optional<std::string>& config_text,
                              const std::optional<std::string>& credentials_text,
                              SharedConfigFiles files);

    const SharedConfigFiles& files() const { return files_; }
    bool config_file_exists() const { return config_exists_; }
    bool credentials_file_exists() const { return credentials_exists_; }

    const Profile* find(std::string_view name) const;
    std::vector<std::string> profile_names() const;

    // The selected profile, or nullptr when it does not exist and was not chosen explicitly.
    // Throws SharedConfigError when it was chosen explicitly and exists nowhere.
    const Profile* selected(const ProfileSelection& selection) const;

    // "<credentials file>, <config file>", for messages.
    std::string files_for_message() const;

  private:
    SharedConfigFiles files_;
    bool config_exists_ = false;
    bool credentials_exists_ = false;
    std::map<std::string, Profile, std::less<>> profiles_;
};

}  // namespace assetctl::aws
