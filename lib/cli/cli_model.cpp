#include "cli/cli_model.hpp"

#include <algorithm>

#include <CLI/CLI.hpp>

#include "util/strings.hpp"

namespace assetctl::cli {
namespace {

// CLI11 shows a validator's choices in the option's type name: `{a,b}` (IsMember), `{a->x}`
// (Transformer), `value in {a->x} OR {x}` (CheckedTransformer). The first braces hold the words
// a user types.
std::vector<std::string> choices_in_type_name(const std::string& type_name) {
    const auto open = type_name.find('{');
    const auto close = type_name.find('}', open);
    if (open == std::string::npos || close == std::string::npos) {
        return {};
    }
    std::vector<std::string> choices;
    const std::string inside = type_name.substr(open + 1, close - open - 1);
    std::size_t start = 0;
    while (start <= inside.size()) {
        auto end = inside.find(',', start);
        if (end == std::string::npos) {
            end = inside.size();
        }
        const std::string item = inside.substr(start, end - start);
        const std::string word = util::trim(item.substr(0, item.find("->")));
        if (!word.empty()) {
            choices.push_back(word);
        }
        start = end + 1;
    }
    return choices;
}

// "MODE" of "MODE:value in {...}": the type name before any validator's description.
std::string value_name_of(const CLI::Option& option) {
    const std::string full = option.get_type_name();
    return full.substr(0, full.find(':'));
}

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool takes_path(const std::string& value_name, const std::vector<std::string>& long_names) {
    if (value_name == "PATH" || value_name == "FILE" || value_name == "DIR") {
        return true;
    }
    return std::any_of(long_names.begin(), long_names.end(), [](const std::string& name) {
        return name == "path" || ends_with(name, "-file") || ends_with(name, "-dir");
    });
}

bool is_repeatable(const CLI::Option& option) {
    return option.get_expected_max() > 1 ||
           option.get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
}

OptionSpec describe_option(const CLI::Option& option) {
    OptionSpec spec;
    for (const auto& name : option.get_snames()) {
        spec.names.push_back("-" + name);
    }
    for (const auto& name : option.get_lnames()) {
        spec.names.push_back("--" + name);
    }
    spec.help = option.get_description();
    spec.repeatable = is_repeatable(option);
    if (option.get_expected_max() == 0) {  // a flag
        return spec;
    }
    spec.value_name = value_name_of(option);
    spec.default_value = option.get_default_str();
    spec.choices = choices_in_type_name(option.get_type_name());
    if (!spec.choices.empty()) {
        spec.value = ValueKind::choice;
    } else if (takes_path(spec.value_name, option.get_lnames())) {
        spec.value = ValueKind::path;
    } else {
        spec.value = ValueKind::word;
    }
    return spec;
}

PositionalSpec describe_positional(const CLI::Option& option) {
    return {.name = option.get_name(true),
            .value_name = value_name_of(option),
            .help = option.get_description(),
            .choices = choices_in_type_name(option.get_type_name()),
            .repeatable = option.get_expected_max() > 1,
            .required = option.get_required()};
}

bool is_hidden(const CLI::Option& option) {
    return option.get_group().empty();
}

CommandSpec describe_command(const CLI::App& app, const std::vector<OptionSpec>& inherited) {
    CommandSpec spec;
    spec.name = app.get_name();
    spec.help = app.get_description();
    spec.inherited_options = inherited;
    for (const CLI::Option* option : app.get_options()) {
        if (is_hidden(*option)) {
            continue;
        }
        if (option->nonpositional()) {
            spec.options.push_back(describe_option(*option));
        } else {
            spec.positionals.push_back(describe_positional(*option));
        }
    }
    const auto for_children =
        app.get_fallthrough() ? accepted_options(spec) : std::vector<OptionSpec>{};
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        if (!sub->get_group().empty()) {
            spec.subcommands.push_back(describe_command(*sub, for_children));
        }
    }
    return spec;
}

bool shares_a_name(const OptionSpec& a, const OptionSpec& b) {
    return std::any_of(a.names.begin(), a.names.end(), [&b](const std::string& name) {
        return std::find(b.names.begin(), b.names.end(), name) != b.names.end();
    });
}

}  // namespace

CommandSpec describe_cli(const CLI::App& app) {
    return describe_command(app, {});
}

std::vector<OptionSpec> accepted_options(const CommandSpec& command) {
    std::vector<OptionSpec> accepted = command.options;
    for (const auto& inherited : command.inherited_options) {
        const bool redefined = std::any_of(
            command.options.begin(), command.options.end(),
            [&inherited](const OptionSpec& own) { return shares_a_name(own, inherited); });
        if (!redefined) {
            accepted.push_back(inherited);
        }
    }
    return accepted;
}

}  // namespace assetctl::cli
