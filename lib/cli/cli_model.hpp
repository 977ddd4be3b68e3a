#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace assetctl::cli {

// The command line as the completion scripts and the manual page need it, read off the same
// CLI11 definition the parser uses, so neither can drift from what assetctl accepts.

// What an option's value is, for completion: none (a flag), one of fixed choices, a file or
// folder name, or any word.
enum class ValueKind { none, choice, path, word };

struct OptionSpec {
    std::vector<std::string> names;  // short names first: "-p", "--path"
    std::string value_name;          // "PATH", "MODE"; empty for flags
    std::string help;
    std::string default_value;  // shown in the manual page when the definition captured one
    ValueKind value = ValueKind::none;
    std::vector<std::string> choices;  // the accepted words of ValueKind::choice
    bool repeatable = false;           // a list (--stack A --stack B) or a counting flag (-vv)
};

struct PositionalSpec {
    std::string name;        // "selectors"
    std::string value_name;  // "SELECTOR"
    std::string help;
    std::vector<std::string> choices;  // empty: any word
    bool repeatable = false;
    bool required = false;
};

struct CommandSpec {
    std::string name;  // the program's name at the root
    std::string help;
    std::vector<OptionSpec> options;            // its own
    std::vector<OptionSpec> inherited_options;  // its parents' that it accepts too (fallthrough)
    std::vector<PositionalSpec> positionals;
    std::vector<CommandSpec> subcommands;  // the visible ones, in definition order
};

// The visible commands, options and positionals of `app` and its subcommands (hidden ones,
// those in CLI11's empty group, are left out). Choices come from the set or map of an IsMember,
// Transformer or CheckedTransformer; an option takes a path when its value name is PATH, FILE
// or DIR, or its long name is --path or ends in -file or -dir.
CommandSpec describe_cli(const CLI::App& app);

// The options `command` accepts: its own, then the inherited ones it does not redefine.
std::vector<OptionSpec> accepted_options(const CommandSpec& command);

}  // namespace assetctl::cli
