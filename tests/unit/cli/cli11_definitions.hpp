#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace assetctl::test {

// CLI11 definitions for the tests of the completion and man page generators.

// A small CLI11 definition with one of each thing the completion and man page generators
// read: a global counting flag (fallthrough), commands, a choice option, a path option, a
// list option, a word option, a positional with choices, a hidden option and a hidden command.
struct SmallApp {
    CLI::App app{"Frobnicate the widgets.", "tool"};
    int verbose = 0;
    std::string mode;
    std::string path = "in.json";
    std::vector<std::string> tags;
    std::string name;
    std::vector<std::string> items;
    std::string color;
    bool secret = false;

    SmallApp() {
        app.fallthrough();
        app.add_flag("-v,--verbose", verbose, "more detail (-vv: more)");
        auto* alpha = app.add_subcommand("alpha", "Run the alpha step");
        alpha->add_option("items", items, "items to work on")->type_name("ITEM");
        alpha->add_option("--mode", mode, "how: `fast` or `slow`")
            ->transform(CLI::CheckedTransformer(
                std::map<std::string, std::string>{{"fast", "f"}, {"slow", "s"}}, CLI::ignore_case))
            ->type_name("MODE");
        alpha->add_option("-i,--input-file", path, "where to read from")->capture_default_str();
        alpha->add_option("--tag", tags, "a tag (repeatable)")->type_name("TAG");
        alpha->add_option("--name", name, "any name");
        alpha->add_flag("--secret-flag", secret, "not for users")->group("");
        auto* paint = app.add_subcommand("paint", "Paint it");
        paint->add_option("color", color, "the color")
            ->required()
            ->check(CLI::IsMember({"red", "green"}));
        app.add_subcommand("hidden-command", "internal")->group("");
    }
};

// The names ("-p", "--path") of the visible options of `app`, read with CLI11's own API rather
// than cli_model, so a kind of option the model misses fails the tests that compare the two.
inline std::vector<std::string> visible_option_names(const CLI::App& app) {
    std::vector<std::string> names;
    for (const CLI::Option* option : app.get_options()) {
        if (option->get_group().empty() || !option->nonpositional()) {
            continue;
        }
        for (const auto& name : option->get_snames()) {
            names.push_back("-" + name);
        }
        for (const auto& name : option->get_lnames()) {
            names.push_back("--" + name);
        }
    }
    return names;
}

}  // namespace assetctl::test
