#include "aws/shared_config.hpp"

#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

#include "util/files.hpp"
#include "util/strings.hpp"

namespace assetctl::aws {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim_view(std::string_view text) {
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

bool is_comment_start(char c) {
    return c == '#' || c == ';';
}

// A `#` or `;` after whitespace starts a trailing comment.
std::string_view strip_trailing_comment(std::string_view text) {
    for (std::size_t i = 1; i < text.size(); ++i) {
        if (is_comment_start(text[i]) && is_space(text[i - 1])) {
            return text.substr(0, i);
        }
    }
    return text;
}

std::string at(std::string_view file, std::size_t line) {
    return std::string(file) + ":" + std::to_string(line) + ": ";
}

struct KeyValue {
    std::string key;
    std::string value;
};

// `key = value` or nothing; the caller reports the error (without quoting the line).
std::optional<KeyValue> split_property(std::string_view line) {
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
        return std::nullopt;
    }
    KeyValue kv{util::to_lower(trim_view(line.substr(0, eq))),
                std::string(trim_view(strip_trailing_comment(line.substr(eq + 1))))};
    if (kv.key.empty()) {
        return std::nullopt;
    }
    return kv;
}

// The profile a config-file section defines: `[default]` or `[profile name]`; other sections
// (`[sso-session x]`, `[services x]`, ...) define none.
std::optional<std::string> config_profile_name(std::string_view section) {
    if (section == "default") {
        return std::string(section);
    }
    constexpr std::string_view k_prefix = "profile";
    if (section.substr(0, k_prefix.size()) != k_prefix || section.size() == k_prefix.size() ||
        !is_space(section[k_prefix.size()])) {
        return std::nullopt;
    }
    std::string_view name = trim_view(section.substr(k_prefix.size()));
    // botocore splits the header like a shell, so `[profile "my name"]` names `my name`.
    if (name.size() >= 2 && (name.front() == '"' || name.front() == '\'') &&
        name.back() == name.front()) {
        name = name.substr(1, name.size() - 2);
    }
    if (name.empty()) {
        return std::nullopt;
    }
    return std::string(name);
}

void merge_into(IniValues& target, const IniValues& source) {
    for (const auto& [key, value] : source) {
        target.insert_or_assign(key, value);
    }
}

std::optional<std::string> read_if_exists(const std::filesystem::path& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found) {
        spdlog::debug("shared config: {} does not exist", path.string());
        return std::nullopt;
    }
    try {
        return util::read_file(path);
    } catch (const util::FileError& e) {
        throw SharedConfigError(e.what());
    }
}

std::filesystem::path expand_home(const util::Environment& env, const std::string& path) {
    if (path == "~" || path.rfind("~/", 0) == 0) {
        if (auto home = env.get_non_empty("HOME")) {
            return std::filesystem::path(*home) / path.substr(path.size() == 1 ? 1 : 2);
        }
    }
    return path;
}

// parse_ini's state from line to line.
class IniParser {
  public:
    explicit IniParser(std::string_view file) : file_(file) {}

    void add_line(std::string_view raw, std::size_t line_number) {
        const std::string_view line = trim_view(raw);
        if (line.empty() || is_comment_start(line.front())) {
            return;
        }
        line_number_ = line_number;
        if (is_space(raw.front()) && last_value_ != nullptr) {
            continue_property(line);
        } else if (line.front() == '[') {
            open_section(line);
        } else {
            add_property(line);
        }
    }

    std::vector<IniSection> take_sections() { return std::move(sections_); }

  private:
    [[noreturn]] void fail(const std::string& what) const {
        throw SharedConfigError(at(file_, line_number_) + what);
    }

    // An indented line after a property: more of its value, or a sub-property of a nested
    // block.
    void continue_property(std::string_view line) {
        if (nested_block_) {
            // A sub-property (`s3 =` / `  addressing_style = path`): nothing assetctl reads
            // lives there, but it must be well formed.
            if (!split_property(line)) {
                fail("expected `key = value` in a nested block");
            }
            return;
        }
        *last_value_ += "\n";
        *last_value_ += trim_view(strip_trailing_comment(line));
    }

    // `[name]`: a repeated section continues the earlier one.
    void open_section(std::string_view line) {
        const auto close = line.find(']');
        if (close == std::string_view::npos) {
            fail("section header without a closing `]`");
        }
        const std::string_view rest = trim_view(line.substr(close + 1));
        if (!rest.empty() && !is_comment_start(rest.front())) {
            fail("unexpected text after a section header");
        }
        const std::string name(trim_view(line.substr(1, close - 1)));
        if (name.empty()) {
            fail("empty section name");
        }
        if (auto it = index_.find(name); it != index_.end()) {
            current_ = &sections_[it->second];
        } else {
            index_.emplace(name, sections_.size());
            sections_.push_back(IniSection{name, {}});
            current_ = &sections_.back();
        }
        last_value_ = nullptr;
    }

    void add_property(std::string_view line) {
        if (current_ == nullptr) {
            fail("property outside of a [section] (expected a header first)");
        }
        auto kv = split_property(line);
        if (!kv) {
            fail("expected `key = value`");
        }
        nested_block_ = kv->value.empty();
        last_value_ =
            &current_->values.insert_or_assign(kv->key, std::move(kv->value)).first->second;
    }

    std::string_view file_;
    std::size_t line_number_ = 0;
    std::vector<IniSection> sections_;
    std::map<std::string, std::size_t, std::less<>> index_;  // section name -> position
    IniSection* current_ = nullptr;      // re-pointed at every header (push_back moves sections)
    std::string* last_value_ = nullptr;  // the property an indented line would continue
    bool nested_block_ = false;          // last_value_ was empty: indented lines are sub-keys
};

}  // namespace

std::vector<IniSection> parse_ini(std::string_view text, std::string_view file) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") {
        text.remove_prefix(3);
    }
    IniParser parser(file);
    std::size_t line_number = 0;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const std::string_view raw = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
        parser.add_line(raw, ++line_number);
    }
    return parser.take_sections();
}

SharedConfigFiles shared_config_files(const util::Environment& env) {
    SharedConfigFiles files;
    files.config = expand_home(env, env.get_non_empty("AWS_CONFIG_FILE").value_or("~/.aws/config"));
    files.credentials = expand_home(
        env, env.get_non_empty("AWS_SHARED_CREDENTIALS_FILE").value_or("~/.aws/credentials"));
    return files;
}

ProfileSelection select_profile(const util::Environment& env,
                                const std::optional<std::string>& profile_override) {
    if (profile_override && !profile_override->empty()) {
        return {*profile_override, true, "--profile"};
    }
    if (auto name = env.get_non_empty("AWS_PROFILE")) {
        return {*name, true, "AWS_PROFILE"};
    }
    return {"default", false, "default"};
}

std::optional<std::string> Profile::get(std::string_view key) const {
    if (auto it = credentials_values.find(key); it != credentials_values.end()) {
        return it->second;
    }
    if (auto it = config_values.find(key); it != config_values.end()) {
        return it->second;
    }
    return std::nullopt;
}

SharedConfig SharedConfig::load(const SharedConfigFiles& files) {
    return parse(read_if_exists(files.config), read_if_exists(files.credentials), files);
}

SharedConfig SharedConfig::parse(const std::optional<std::string>& config_text,
                                 const std::optional<std::string>& credentials_text,
                                 SharedConfigFiles files) {
    SharedConfig config;
    config.files_ = std::move(files);
    config.config_exists_ = config_text.has_value();
    config.credentials_exists_ = credentials_text.has_value();

    if (config_text) {
        // `[profile default]` wins over `[default]` when both exist (as the SDKs other than
        // botocore document; botocore keeps whichever comes last).
        std::optional<IniValues> plain_default;
        bool profile_default = false;
        for (auto& section : parse_ini(*config_text, config.files_.config.string())) {
            auto name = config_profile_name(section.name);
            if (!name) {
                spdlog::debug("shared config: {}: ignoring section [{}]",
                              config.files_.config.string(), section.name);
                continue;
            }
            if (section.name == "default") {
                plain_default = std::move(section.values);
                continue;
            }
            profile_default = profile_default || *name == "default";
            Profile& profile = config.profiles_[*name];
            profile.name = *name;
            merge_into(profile.config_values, section.values);
        }
        if (plain_default && !profile_default) {
            Profile& profile = config.profiles_["default"];
            profile.name = "default";
            profile.config_values = std::move(*plain_default);
        }
    }
    if (credentials_text) {
        // Section names are profile names as they stand: `[profile x]` here is a profile called
        // "profile x", as in botocore.
        for (auto& section : parse_ini(*credentials_text, config.files_.credentials.string())) {
            Profile& profile = config.profiles_[section.name];
            profile.name = section.name;
            merge_into(profile.credentials_values, section.values);
        }
    }
    return config;
}

const Profile* SharedConfig::find(std::string_view name) const {
    if (auto it = profiles_.find(name); it != profiles_.end()) {
        return &it->second;
    }
    return nullptr;
}

std::vector<std::string> SharedConfig::profile_names() const {
    std::vector<std::string> names;
    names.reserve(profiles_.size());
    for (const auto& [name, profile] : profiles_) {
        names.push_back(name);
    }
    return names;
}

const Profile* SharedConfig::selected(const ProfileSelection& selection) const {
    const Profile* profile = find(selection.name);
    if (profile == nullptr && selection.is_explicit) {
        throw SharedConfigError("profile '" + selection.name + "' (from " + selection.origin +
                                ") not found in " + files_for_message());
    }
    return profile;
}

std::string SharedConfig::files_for_message() const {
    return files_.credentials.string() + ", " + files_.config.string();
}

}  // namespace assetctl::aws
