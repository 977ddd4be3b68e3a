#include <algorithm>
#include <sstream>

#include <catch2/catch.hpp>

#include "cli/completion.hpp"
#include "cli/definition.hpp"
#include "cli11_definitions.hpp"
#include "util/strings.hpp"

using namespace assetctl;
using cli::Shell;

namespace {

std::vector<std::string> words_of(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> words;
    for (std::string word; in >> word;) {
        words.push_back(word);
    }
    return words;
}

bool has_word(const std::vector<std::string>& words, const std::string& word) {
    return std::find(words.begin(), words.end(), word) != words.end();
}

// The lines of `script` from the one starting with `first` to the next line that is "}".
std::vector<std::string> block(const std::string& script, const std::string& first) {
    const auto lines = util::split_lines(script);
    auto begin = std::find(lines.begin(), lines.end(), first);
    REQUIRE(begin != lines.end());
    auto end = std::find(begin, lines.end(), "}");
    return {begin, end};
}

// bash: the words function `function` prints for command `scope` ("tool alpha").
std::vector<std::string> bash_lookup(const std::string& script, const std::string& function,
                                     const std::string& scope) {
    const std::string arm = "        '" + scope + "') echo '";
    for (const auto& line : block(script, function + "() {")) {
        if (line.rfind(arm, 0) == 0) {
            return words_of(line.substr(arm.size(), line.rfind('\'') - arm.size()));
        }
    }
    return {};
}

// zsh: the option names the _arguments specs of function `function` define (the text of each
// spec before its description).
std::vector<std::string> zsh_option_names(const std::string& script, const std::string& function) {
    std::vector<std::string> names;
    for (const auto& line : block(script, function + "() {")) {
        const auto trimmed = util::trim(line);
        if (trimmed.empty() || (trimmed[0] != '\'' && trimmed[0] != '{')) {
            continue;
        }
        std::string head = trimmed.substr(0, trimmed.find('['));
        for (char& c : head) {
            if (c == '\'' || c == '{' || c == '}' || c == ',' || c == '(' || c == ')' || c == '*') {
                c = ' ';
            }
        }
        const auto found = words_of(head);
        names.insert(names.end(), found.begin(), found.end());
    }
    return names;
}

// fish: does a `complete` line with exactly condition `condition` (empty: none) offer `name`?
bool fish_offers_option(const std::string& script, const std::string& condition,
                        const std::string& name) {
    const std::string flag =
        name.rfind("--", 0) == 0 ? " -l " + name.substr(2) + " " : " -s " + name.substr(1) + " ";
    for (const auto& line : util::split_lines(script)) {
        const bool conditioned = line.find(" -n '") != std::string::npos;
        const bool right_condition =
            condition.empty() ? !conditioned
                              : line.find(" -n '" + condition + "'") != std::string::npos;
        if (line.rfind("complete -c ", 0) == 0 && right_condition &&
            line.find(flag) != std::string::npos) {
            return true;
        }
    }
    return false;
}

std::string zsh_function_of(std::string scope) {
    std::replace(scope.begin(), scope.end(), ' ', '_');
    std::replace(scope.begin(), scope.end(), '-', '_');
    return "_" + scope;
}

// Every shell's script offers `names` for `command` ("" for the root), fish under `condition`.
void check_options_complete(const std::string& command, const std::vector<std::string>& names,
                            const std::string& fish_condition, const std::string& bash,
                            const std::string& zsh, const std::string& fish) {
    const std::string scope = command.empty() ? "assetctl" : "assetctl " + command;
    const auto bash_options = bash_lookup(bash, "_assetctl_options", scope);
    const auto zsh_options = zsh_option_names(zsh, zsh_function_of(scope));
    for (const auto& name : names) {
        INFO(scope << " " << name);
        CHECK(has_word(bash_options, name));
        CHECK(has_word(zsh_options, name));
        CHECK(fish_offers_option(fish, fish_condition, name));
    }
}

struct Scripts {
    std::string bash, zsh, fish;
};

Scripts scripts_of(const CLI::App& app) {
    return {cli::completion_script(app, Shell::bash), cli::completion_script(app, Shell::zsh),
            cli::completion_script(app, Shell::fish)};
}

}  // namespace

TEST_CASE("bash completion lists each command, its options and the words of choices") {
    test::SmallApp small;
    const auto bash = cli::completion_script(small.app, Shell::bash);
    CHECK(bash_lookup(bash, "_tool_subcommands", "tool") ==
          std::vector<std::string>{"alpha", "paint"});
    CHECK(bash_lookup(bash, "_tool_subcommands", "tool alpha").empty());
    const auto alpha = bash_lookup(bash, "_tool_options", "tool alpha");
    for (const char* name :
         {"-h", "--help", "--mode", "-i", "--input-file", "--tag", "--name", "-v", "--verbose"}) {
        INFO(name);
        CHECK(has_word(alpha, name));
    }
    CHECK_FALSE(has_word(alpha, "--secret-flag"));
    CHECK(bash_lookup(bash, "_tool_value_options", "tool alpha") ==
          std::vector<std::string>{"--mode", "-i", "--input-file", "--tag", "--name"});
    CHECK(bash_lookup(bash, "_tool_positional_values", "tool paint") ==
          std::vector<std::string>{"red", "green"});
    CHECK_THAT(bash, Catch::Contains("'tool alpha --mode') echo 'fast slow' ;;"));
    CHECK_THAT(bash,
               Catch::Contains("'tool alpha -i' | 'tool alpha --input-file') echo '@path' ;;"));
    CHECK_THAT(bash, Catch::Contains("complete -F _tool tool\n"));
    CHECK_THAT(bash, !Catch::Contains("hidden-command"));
}

TEST_CASE("zsh completion defines a function per command with _arguments specs") {
    test::SmallApp small;
    const auto zsh = cli::completion_script(small.app, Shell::zsh);
    CHECK(zsh.rfind("#compdef tool\n", 0) == 0);
    CHECK_THAT(zsh, Catch::Contains("'alpha:Run the alpha step'"));
    CHECK_THAT(zsh, Catch::Contains("'paint:Paint it'"));
    CHECK_THAT(zsh, Catch::Contains("'*'{-v,--verbose}'[more detail (-vv: more)]'"));
    CHECK_THAT(zsh, Catch::Contains("'--mode[how: `fast` or `slow`]:mode:(fast slow)'"));
    CHECK_THAT(zsh, Catch::Contains("'(-i --input-file)'{-i,--input-file}'[where to read "
                                    "from]:text:_files'"));
    CHECK_THAT(zsh, Catch::Contains("'*--tag[a tag (repeatable)]:tag:_nothing'"));
    CHECK_THAT(zsh, Catch::Contains("'*:items:_nothing'"));
    CHECK_THAT(zsh, Catch::Contains("'1:color:(red green)'"));
    CHECK_THAT(zsh, !Catch::Contains("secret-flag"));
    CHECK_THAT(zsh, !Catch::Contains("hidden-command"));
}

TEST_CASE("fish completion offers commands until one is chosen, then its options") {
    test::SmallApp small;
    const auto fish = cli::completion_script(small.app, Shell::fish);
    CHECK_THAT(fish, Catch::Contains("complete -c tool -f\n"));
    CHECK_THAT(fish, Catch::Contains("complete -c tool -n 'not __fish_seen_subcommand_from alpha "
                                     "paint' -a 'alpha' -d 'Run the alpha step'\n"));
    CHECK_THAT(fish, Catch::Contains("complete -c tool -n '__fish_seen_subcommand_from alpha' -l "
                                     "mode -x -a 'fast slow' -d 'how: `fast` or `slow`'\n"));
    CHECK_THAT(fish, Catch::Contains("complete -c tool -n '__fish_seen_subcommand_from alpha' -s "
                                     "i -l input-file -r -F -d 'where to read from'\n"));
    CHECK_THAT(fish, Catch::Contains("complete -c tool -n '__fish_seen_subcommand_from paint' -a "
                                     "'red green' -d 'the color'\n"));
    // Global options apply everywhere (fallthrough).
    CHECK_THAT(fish, Catch::Contains("complete -c tool -s v -l verbose -d"));
    CHECK_THAT(fish, !Catch::Contains("secret-flag"));
}

TEST_CASE("quotes in help text are escaped for each shell") {
    CLI::App app{"t", "t"};
    bool flag = false;
    app.add_flag("--it", flag, "it's a \\ [test]");
    CHECK_THAT(cli::completion_script(app, Shell::zsh),
               Catch::Contains("'--it[it'\\''s a \\\\ \\[test\\]]'"));
    CHECK_THAT(cli::completion_script(app, Shell::fish),
               Catch::Contains("-d 'it\\'s a \\\\ [test]'"));
}

TEST_CASE("every option of every assetctl command is in each shell's completion") {
    cli::with_cli_definition([](const CLI::App& app) {
        const auto scripts = scripts_of(app);
        const auto global = test::visible_option_names(app);
        check_options_complete("", global, "", scripts.bash, scripts.zsh, scripts.fish);
        const auto commands = app.get_subcommands([](const CLI::App*) { return true; });
        REQUIRE(commands.size() >= 6);
        for (const CLI::App* command : commands) {
            const auto& name = command->get_name();
            const auto own = test::visible_option_names(*command);
            check_options_complete(name, own, "__fish_seen_subcommand_from " + name, scripts.bash,
                                   scripts.zsh, scripts.fish);
            // The global options after the command too (fallthrough); fish offers them
            // everywhere.
            check_options_complete(name, global, "", scripts.bash, scripts.zsh, scripts.fish);
            CHECK(has_word(bash_lookup(scripts.bash, "_assetctl_subcommands", "assetctl"), name));
        }
    });
}

TEST_CASE("assetctl's fixed choices and path options complete their values") {
    cli::with_cli_definition([](const CLI::App& app) {
        const auto bash = cli::completion_script(app, Shell::bash);
        CHECK_THAT(bash,
                   Catch::Contains("'assetctl publish --push-mode') echo 'docker native' ;;"));
        CHECK_THAT(bash,
                   Catch::Contains("'assetctl doctor --tarball-mode') echo 'docker native' ;;"));
        CHECK_THAT(bash,
                   Catch::Contains("'assetctl ls -p' | 'assetctl ls --path') echo '@path' ;;"));
        CHECK(bash_lookup(bash, "_assetctl_positional_values", "assetctl completion") ==
              std::vector<std::string>{"bash", "fish", "zsh"});
    });
}
