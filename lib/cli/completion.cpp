#include "cli/completion.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <sstream>

#include "cli/cli_model.hpp"
#include "util/strings.hpp"

namespace assetctl::cli {
namespace {

// A command and the names leading to it from the root ("assetctl publish").
struct Scope {
    const CommandSpec& command;
    std::vector<std::string> path;

    std::string key() const { return util::join(path, " "); }
};

void for_each_scope(const CommandSpec& command, std::vector<std::string> path,
                    const std::function<void(const Scope&)>& visit) {
    path.push_back(command.name);
    visit(Scope{command, path});
    for (const auto& sub : command.subcommands) {
        for_each_scope(sub, path, visit);
    }
}

void for_each_scope(const CommandSpec& root, const std::function<void(const Scope&)>& visit) {
    for_each_scope(root, {}, visit);
}

std::vector<std::string> subcommand_names(const CommandSpec& command) {
    std::vector<std::string> names;
    for (const auto& sub : command.subcommands) {
        names.push_back(sub.name);
    }
    return names;
}

std::vector<std::string> option_names(const std::vector<OptionSpec>& options,
                                      const std::function<bool(const OptionSpec&)>& wanted) {
    std::vector<std::string> names;
    for (const auto& option : options) {
        if (wanted(option)) {
            names.insert(names.end(), option.names.begin(), option.names.end());
        }
    }
    return names;
}

std::vector<std::string> positional_choices(const CommandSpec& command) {
    std::vector<std::string> choices;
    for (const auto& positional : command.positionals) {
        choices.insert(choices.end(), positional.choices.begin(), positional.choices.end());
    }
    return choices;
}

std::string shell_function_name(const std::vector<std::string>& path) {
    std::string name = "_" + util::join(path, "_");
    std::replace_if(
        name.begin(), name.end(),
        [](char c) { return std::isalnum(static_cast<unsigned char>(c)) == 0; }, '_');
    return name;
}

// Text inside '...' for bash and zsh.
std::string single_quoted(std::string_view text) {
    std::string quoted = "'";
    for (const char c : text) {
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return quoted + "'";
}

// ---- bash -------------------------------------------------------------------------------

// One `case` arm per scope that has something to say: "key") echo 'words' ;;
void write_bash_lookup(std::ostream& out, const std::string& function, const std::string& comment,
                       const CommandSpec& root,
                       const std::function<std::vector<std::string>(const Scope&)>& words_of) {
    out << "# " << comment << "\n" << function << "() {\n    case \"$1\" in\n";
    for_each_scope(root, [&](const Scope& scope) {
        const auto words = words_of(scope);
        if (!words.empty()) {
            out << "        " << single_quoted(scope.key()) << ") echo "
                << single_quoted(util::join(words, " ")) << " ;;\n";
        }
    });
    out << "    esac\n}\n\n";
}

void write_bash_option_values(std::ostream& out, const std::string& prefix,
                              const CommandSpec& root) {
    out << "# The values of option $2 of command $1: words, or @path for file names.\n"
        << prefix << "_option_values() {\n    case \"$1 $2\" in\n";
    for_each_scope(root, [&](const Scope& scope) {
        for (const auto& option : accepted_options(scope.command)) {
            if (option.value != ValueKind::choice && option.value != ValueKind::path) {
                continue;
            }
            std::vector<std::string> keys;
            for (const auto& name : option.names) {
                keys.push_back(single_quoted(scope.key() + " " + name));
            }
            const std::string values =
                option.value == ValueKind::path ? "@path" : util::join(option.choices, " ");
            out << "        " << util::join(keys, " | ") << ") echo " << single_quoted(values)
                << " ;;\n";
        }
    });
    out << "    esac\n}\n\n";
}

constexpr const char* k_bash_driver = R"bash(# Is word $1 one of the words of $2?
PREFIX_contains() {
    [[ " $2 " == *" $1 "* ]]
}

# COMPREPLY from the words of $1 matching $2, each prefixed by $3.
PREFIX_reply() {
    local word
    COMPREPLY=()
    for word in $1; do
        [[ $word == "$2"* ]] && COMPREPLY+=("$3$word")
    done
}

# Values of option $2 of command $1 matching $3, prefixed by $4.
PREFIX_reply_values() {
    local values
    values=$(PREFIX_option_values "$1" "$2")
    if [[ $values == "@path" ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$3")
    else
        PREFIX_reply "$values" "$3" "$4"
    fi
}

PREFIX() {
    local cur=${COMP_WORDS[COMP_CWORD]} scope=PROGRAM pending="" word
    local -i i=1
    COMPREPLY=()
    # Which command the words so far chose, and whether the word being completed is the value
    # of an option; "--option=value" arrives as three words when '=' breaks words.
    while ((i < COMP_CWORD)); do
        word=${COMP_WORDS[i]}
        if PREFIX_contains "$word" "$(PREFIX_subcommands "$scope")"; then
            scope="$scope $word"
        elif PREFIX_contains "$word" "$(PREFIX_value_options "$scope")"; then
            ((i + 1 == COMP_CWORD)) && pending=$word
            i+=1
            if [[ ${COMP_WORDS[i]} == "=" ]]; then
                ((i + 1 == COMP_CWORD)) && pending=$word
                i+=1
            fi
        fi
        i+=1
    done
    [[ $cur == "=" ]] && cur=""
    if [[ -n $pending ]]; then
        PREFIX_reply_values "$scope" "$pending" "$cur" ""
    elif [[ $cur == --*=* ]]; then
        PREFIX_reply_values "$scope" "${cur%%=*}" "${cur#*=}" "${cur%%=*}="
    elif [[ $cur == -* ]]; then
        PREFIX_reply "$(PREFIX_options "$scope")" "$cur" ""
    else
        PREFIX_reply "$(PREFIX_subcommands "$scope") $(PREFIX_positional_values "$scope")" "$cur" ""
    fi
    return 0
}

complete -F PREFIX PROGRAM
)bash";

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

std::string bash_script(const CommandSpec& root) {
    const std::string prefix = shell_function_name({root.name});
    std::ostringstream out;
    out << "# bash completion for " << root.name << "\n"
        << "# Generated from its command-line definition by `" << root.name
        << " completion bash`; do not edit.\n"
        << "# Enable it for this shell: source <(" << root.name << " completion bash)\n\n";
    write_bash_lookup(out, prefix + "_subcommands", "The subcommands of command $1.", root,
                      [](const Scope& scope) { return subcommand_names(scope.command); });
    write_bash_lookup(out, prefix + "_options", "The options command $1 accepts.", root,
                      [](const Scope& scope) {
                          return option_names(accepted_options(scope.command),
                                              [](const OptionSpec&) { return true; });
                      });
    write_bash_lookup(out, prefix + "_value_options",
                      "The options of command $1 that take a value.", root, [](const Scope& scope) {
                          return option_names(accepted_options(scope.command),
                                              [](const OptionSpec& option) {
                                                  return option.value != ValueKind::none;
                                              });
                      });
    write_bash_lookup(out, prefix + "_positional_values",
                      "The fixed words of the arguments of command $1.", root,
                      [](const Scope& scope) { return positional_choices(scope.command); });
    write_bash_option_values(out, prefix, root);
    out << replace_all(replace_all(k_bash_driver, "PREFIX", prefix), "PROGRAM", root.name);
    return out.str();
}

// ---- zsh --------------------------------------------------------------------------------

// A description inside _arguments' [...]: no bracket ends it early.
std::string zsh_description(std::string text) {
    text = replace_all(std::move(text), "\\", "\\\\");
    for (const char* special : {"[", "]"}) {
        text = replace_all(std::move(text), special, std::string("\\") + special);
    }
    return text;
}

// Completes nothing. (A lone space, which _arguments documents for that, also stops it from
// completing options in the same word position.)
constexpr const char* k_zsh_no_completion = "_nothing";

std::string zsh_value_action(const OptionSpec& option) {
    switch (option.value) {
        case ValueKind::choice:
            return "(" + util::join(option.choices, " ") + ")";
        case ValueKind::path:
            return "_files";
        case ValueKind::word:
        case ValueKind::none:
            break;
    }
    return k_zsh_no_completion;
}

std::string zsh_message(const std::string& value_name) {
    return value_name.empty() ? std::string("value") : util::to_lower(value_name);
}

// One _arguments spec: '--json[help]', '*--stack[help]:glob: ' or, with several names,
// '(-p --path)'{-p,--path}'[help]:path:_files'.
std::string zsh_option_spec(const OptionSpec& option) {
    std::string rest = "[" + zsh_description(option.help) + "]";
    if (option.value != ValueKind::none) {
        rest += ":" + zsh_message(option.value_name) + ":" + zsh_value_action(option);
    }
    const std::string repeat = option.repeatable ? "*" : "";
    if (option.names.size() == 1) {
        return single_quoted(repeat + option.names.front() + rest);
    }
    const std::string exclusive = "(" + util::join(option.names, " ") + ")";
    return single_quoted(option.repeatable ? repeat : exclusive) + "{" +
           util::join(option.names, ",") + "}" + single_quoted(rest);
}

std::string zsh_positional_spec(const PositionalSpec& positional, std::size_t position) {
    const std::string action = positional.choices.empty()
                                   ? k_zsh_no_completion
                                   : "(" + util::join(positional.choices, " ") + ")";
    const std::string where = positional.repeatable ? "*" : std::to_string(position);
    return single_quoted(where + ":" + positional.name + ":" + action);
}

void write_zsh_function(std::ostream& out, const Scope& scope) {
    const std::string function = shell_function_name(scope.path);
    const auto& command = scope.command;
    std::vector<std::string> specs;
    for (const auto& option : accepted_options(command)) {
        specs.push_back(zsh_option_spec(option));
    }
    if (command.subcommands.empty()) {
        for (std::size_t i = 0; i < command.positionals.size(); ++i) {
            specs.push_back(zsh_positional_spec(command.positionals[i], i + 1));
        }
    } else {
        specs.push_back(single_quoted("1: :" + function + "_commands"));
        specs.push_back(single_quoted("*:: :->command"));
    }
    out << function << "() {\n";
    if (!command.subcommands.empty()) {
        out << "    local curcontext=\"$curcontext\" state line\n"
            << "    typeset -A opt_args\n"
            << "    _arguments -C -s \\\n";
    } else {
        out << "    _arguments -s \\\n";
    }
    for (std::size_t i = 0; i < specs.size(); ++i) {
        out << "        " << specs[i] << (i + 1 < specs.size() ? " \\\n" : "\n");
    }
    if (command.subcommands.empty()) {
        out << "}\n\n";
        return;
    }
    out << "    case $state in\n        command)\n            case $words[1] in\n";
    for (const auto& sub : command.subcommands) {
        auto sub_path = scope.path;
        sub_path.push_back(sub.name);
        out << "                " << single_quoted(sub.name) << ") "
            << shell_function_name(sub_path) << " ;;\n";
    }
    out << "            esac\n            ;;\n    esac\n}\n\n";
    out << function << "_commands() {\n    local -a commands\n    commands=(\n";
    for (const auto& sub : command.subcommands) {
        out << "        " << single_quoted(replace_all(sub.name, ":", "\\:") + ":" + sub.help)
            << "\n";
    }
    out << "    )\n    _describe -t commands " << single_quoted(scope.key() + " command")
        << " commands\n}\n\n";
}

std::string zsh_script(const CommandSpec& root) {
    std::ostringstream out;
    out << "#compdef " << root.name << "\n"
        << "# zsh completion for " << root.name << "\n"
        << "# Generated from its command-line definition by `" << root.name
        << " completion zsh`; do not edit.\n\n";
    for_each_scope(root, [&out](const Scope& scope) { write_zsh_function(out, scope); });
    const std::string function = shell_function_name({root.name});
    // Autoloaded from $fpath the file is the function's body; sourced, it registers the function.
    out << "if [[ $funcstack[1] == " << function << " ]]; then\n"
        << "    " << function << " \"$@\"\n"
        << "else\n"
        << "    compdef " << function << " " << root.name << "\n"
        << "fi\n";
    return out.str();
}

// ---- fish -------------------------------------------------------------------------------

std::string fish_quoted(std::string_view text) {
    std::string quoted = "'";
    for (const char c : text) {
        if (c == '\\' || c == '\'') {
            quoted += '\\';
        }
        quoted += c;
    }
    return quoted + "'";
}

// Fish conditions: each command on the path to `scope` seen (the root's: always true)...
std::vector<std::string> fish_path_conditions(const Scope& scope) {
    std::vector<std::string> parts;
    for (std::size_t i = 1; i < scope.path.size(); ++i) {
        parts.push_back("__fish_seen_subcommand_from " + scope.path[i]);
    }
    return parts;
}

// ... and none of its subcommands yet: where `scope`'s own words apply.
std::string fish_condition(const Scope& scope) {
    auto parts = fish_path_conditions(scope);
    const auto subs = subcommand_names(scope.command);
    if (!subs.empty()) {
        parts.push_back("not __fish_seen_subcommand_from " + util::join(subs, " "));
    }
    return util::join(parts, "; and ");
}

std::string fish_option_line(const std::string& program, const std::string& condition,
                             const OptionSpec& option) {
    std::string line = "complete -c " + program;
    if (!condition.empty()) {
        line += " -n " + fish_quoted(condition);
    }
    for (const auto& name : option.names) {
        line += name.rfind("--", 0) == 0 ? " -l " + name.substr(2) : " -s " + name.substr(1);
    }
    switch (option.value) {
        case ValueKind::choice:
            line += " -x -a " + fish_quoted(util::join(option.choices, " "));
            break;
        case ValueKind::path:
            line += " -r -F";
            break;
        case ValueKind::word:
            line += " -x";
            break;
        case ValueKind::none:
            break;
    }
    return line + " -d " + fish_quoted(option.help) + "\n";
}

void write_fish_scope(std::ostream& out, const std::string& program, const Scope& scope) {
    const std::string condition = fish_condition(scope);
    const std::string where = condition.empty() ? std::string() : " -n " + fish_quoted(condition);
    for (const auto& sub : scope.command.subcommands) {
        out << "complete -c " << program << where << " -a " << fish_quoted(sub.name) << " -d "
            << fish_quoted(sub.help) << "\n";
    }
    for (const auto& positional : scope.command.positionals) {
        if (!positional.choices.empty()) {
            out << "complete -c " << program << where << " -a "
                << fish_quoted(util::join(positional.choices, " ")) << " -d "
                << fish_quoted(positional.help) << "\n";
        }
    }
    // Options are written once, where they are defined; when the subcommands accept them too
    // (fallthrough), with a condition that holds there as well.
    const auto& subs = scope.command.subcommands;
    const bool inherited = std::any_of(subs.begin(), subs.end(), [](const CommandSpec& sub) {
        return !sub.inherited_options.empty();
    });
    const std::string option_condition =
        inherited ? util::join(fish_path_conditions(scope), "; and ") : condition;
    for (const auto& option : scope.command.options) {
        out << fish_option_line(program, option_condition, option);
    }
}

std::string fish_script(const CommandSpec& root) {
    std::ostringstream out;
    out << "# fish completion for " << root.name << "\n"
        << "# Generated from its command-line definition by `" << root.name
        << " completion fish`; do not edit.\n\n"
        << "# No file names unless an option takes a path.\n"
        << "complete -c " << root.name << " -f\n";
    for_each_scope(root, [&](const Scope& scope) {
        out << "\n# " << scope.key() << "\n";
        write_fish_scope(out, root.name, scope);
    });
    return out.str();
}

}  // namespace

std::string completion_script(const CLI::App& app, Shell shell) {
    const CommandSpec root = describe_cli(app);
    switch (shell) {
        case Shell::bash:
            return bash_script(root);
        case Shell::zsh:
            return zsh_script(root);
        case Shell::fish:
            return fish_script(root);
    }
    return {};
}

}  // namespace assetctl::cli
