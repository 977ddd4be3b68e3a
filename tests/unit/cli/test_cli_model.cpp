#include <algorithm>

#include <catch2/catch.hpp>

#include "cli/cli_model.hpp"
#include "cli11_definitions.hpp"

using namespace assetctl;
using cli::ValueKind;

namespace {

const cli::OptionSpec& option_named(const std::vector<cli::OptionSpec>& options,
                                    const std::string& name) {
    const auto found = std::find_if(options.begin(), options.end(), [&](const auto& option) {
        return std::find(option.names.begin(), option.names.end(), name) != option.names.end();
    });
    REQUIRE(found != options.end());
    return *found;
}

}  // namespace

TEST_CASE("describe_cli reads commands, options and positionals off the CLI11 definition") {
    test::SmallApp small;
    const auto root = cli::describe_cli(small.app);
    CHECK(root.name == "tool");
    CHECK(root.help == "Frobnicate the widgets.");
    REQUIRE(root.subcommands.size() == 2);  // the hidden command is left out
    const auto& alpha = root.subcommands[0];
    CHECK(alpha.name == "alpha");
    CHECK(root.subcommands[1].name == "paint");

    const auto& mode = option_named(alpha.options, "--mode");
    CHECK(mode.value == ValueKind::choice);
    CHECK(mode.choices == std::vector<std::string>{"fast", "slow"});
    CHECK(mode.value_name == "MODE");

    const auto& input = option_named(alpha.options, "-i");
    CHECK(input.names == std::vector<std::string>{"-i", "--input-file"});
    CHECK(input.value == ValueKind::path);
    CHECK(input.default_value == "in.json");
    CHECK_FALSE(input.repeatable);

    CHECK(option_named(alpha.options, "--tag").repeatable);
    CHECK(option_named(alpha.options, "--name").value == ValueKind::word);
    CHECK(option_named(alpha.options, "--help").value == ValueKind::none);
    CHECK(std::none_of(alpha.options.begin(), alpha.options.end(),
                       [](const auto& option) { return option.names.back() == "--secret-flag"; }));

    REQUIRE(alpha.positionals.size() == 1);
    CHECK(alpha.positionals[0].value_name == "ITEM");
    CHECK(alpha.positionals[0].repeatable);
    CHECK_FALSE(alpha.positionals[0].required);
    const auto& color = root.subcommands[1].positionals.at(0);
    CHECK(color.choices == std::vector<std::string>{"red", "green"});
    CHECK(color.required);
}

TEST_CASE("with fallthrough a command accepts its parent's options, its own first") {
    test::SmallApp small;
    const auto root = cli::describe_cli(small.app);
    const auto& verbose = option_named(root.options, "-v");
    CHECK(verbose.value == ValueKind::none);
    CHECK(verbose.repeatable);  // a counting flag

    const auto accepted = cli::accepted_options(root.subcommands[0]);
    CHECK(option_named(accepted, "--verbose").names.front() == "-v");
    // --help is its own and the root's: accepted once.
    CHECK(std::count_if(accepted.begin(), accepted.end(),
                        [](const auto& option) { return option.names.back() == "--help"; }) == 1);

    small.app.fallthrough(false);
    const auto without = cli::describe_cli(small.app);
    CHECK(without.subcommands[0].inherited_options.empty());
}

TEST_CASE("an option takes a path by its value name or its long name") {
    CLI::App app{"t", "t"};
    std::string value;
    app.add_option("--path", value, "");
    app.add_option("--out", value, "")->type_name("FILE");
    app.add_option("--cache-dir", value, "");
    app.add_option("--profile", value, "");
    const auto root = cli::describe_cli(app);
    CHECK(option_named(root.options, "--path").value == ValueKind::path);
    CHECK(option_named(root.options, "--out").value == ValueKind::path);
    CHECK(option_named(root.options, "--cache-dir").value == ValueKind::path);
    CHECK(option_named(root.options, "--profile").value == ValueKind::word);
}
