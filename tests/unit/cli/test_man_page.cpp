#include <algorithm>
#include <sstream>

#include <catch2/catch.hpp>

#include "cli/definition.hpp"
#include "cli/environment_variables.hpp"
#include "cli/man_page.hpp"
#include "cli/run.hpp"
#include "cli11_definitions.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

using namespace assetctl;

namespace {

// The lines of section `heading` (".SH NAME", ".SS \"tool alpha\"") up to the next heading.
std::string section(const std::string& page, const std::string& heading) {
    const auto lines = util::split_lines(page);
    auto begin = std::find(lines.begin(), lines.end(), heading);
    REQUIRE(begin != lines.end());
    auto end = std::find_if(begin + 1, lines.end(), [](const std::string& line) {
        return line.rfind(".SH ", 0) == 0 || line.rfind(".SS ", 0) == 0;
    });
    return util::join({begin + 1, end}, "\n") + "\n";
}

std::string roff_name(const std::string& name) {
    std::string escaped;
    for (const char c : name) {
        escaped += c == '-' ? std::string("\\-") : std::string(1, c);
    }
    return "\\fB" + escaped + "\\fR";
}

struct Output {
    int code;
    std::string out;
    std::string err;
};

Output run_assetctl(const std::vector<std::string>& args) {
    std::ostringstream out;
    std::ostringstream err;
    util::MapEnvironment env;
    std::vector<std::string> argv{"assetctl"};
    argv.insert(argv.end(), args.begin(), args.end());
    const int code = cli::run(argv, cli::Streams{out, err, false}, env);
    return {code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("the man page has the sections of man(7) in order") {
    test::SmallApp small;
    const auto page = cli::man_page(small.app, "1.2.3");
    CHECK_THAT(page, Catch::Contains(".TH TOOL 1 \"\" \"tool 1.2.3\" \"User Commands\"\n"));
    std::size_t previous = 0;
    for (const char* heading :
         {".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH COMMANDS", ".SH OPTIONS",
          ".SH \"EXIT STATUS\"", ".SH ENVIRONMENT", ".SH FILES", ".SH \"SEE ALSO\""}) {
        INFO(heading);
        const auto at = page.find(std::string("\n") + heading + "\n");
        REQUIRE(at != std::string::npos);
        CHECK(at > previous);
        previous = at;
    }
    CHECK(section(page, ".SH NAME") == "tool \\- frobnicate the widgets\n");
}

TEST_CASE("the man page documents each command, option, value, choice and default") {
    test::SmallApp small;
    const auto page = cli::man_page(small.app, "1");
    const auto synopsis = section(page, ".SH SYNOPSIS");
    CHECK_THAT(synopsis, Catch::Contains("\\fBtool alpha\\fR [\\fIoptions\\fR] [\\fIITEM\\fR...]"));
    CHECK_THAT(synopsis, Catch::Contains("\\fBtool paint\\fR [\\fIoptions\\fR] \\fITEXT\\fR"));
    const auto commands = section(page, ".SH COMMANDS");
    CHECK_THAT(commands, Catch::Contains(".TP\n\\fBalpha\\fR\nRun the alpha step\n"));
    CHECK_THAT(commands, !Catch::Contains("hidden"));
    CHECK_THAT(
        section(page, ".SH OPTIONS"),
        Catch::Contains(".TP\n\\fB\\-v\\fR, \\fB\\-\\-verbose\\fR\nmore detail (\\-vv: more).\n"));
    const auto alpha = section(page, ".SS \"tool alpha\"");
    CHECK_THAT(alpha, Catch::Contains(".TP\n\\fB\\-\\-mode\\fR \\fIMODE\\fR\nhow: \\fBfast\\fR or "
                                      "\\fBslow\\fR. One of: fast, slow.\n"));
    CHECK_THAT(alpha,
               Catch::Contains("\\fB\\-i\\fR, \\fB\\-\\-input\\-file\\fR \\fIPATH\\fR\nwhere "
                               "to read from. Default: in.json.\n"));
    CHECK_THAT(alpha, Catch::Contains("a tag (repeatable). May be given more than once.\n"));
    CHECK_THAT(alpha, Catch::Contains(".TP\n\\fIITEM\\fR...\nitems to work on.\n"));
    CHECK_THAT(alpha, !Catch::Contains("help"));  // only with the global options
    CHECK_THAT(alpha, !Catch::Contains("secret"));
    CHECK_THAT(section(page, ".SS \"tool paint\""),
               Catch::Contains("the color. One of: red, green.\n"));
}

TEST_CASE("roff control characters in help text are escaped") {
    CLI::App app{"T.", "t"};
    bool flag = false;
    app.add_flag("--it", flag, ".starts with a dot, has a \\ backslash");
    app.add_flag("--quote", flag, "'quoted");
    const auto page = cli::man_page(app, "1");
    CHECK_THAT(page, Catch::Contains("\n\\&.starts with a dot, has a \\e backslash.\n"));
    CHECK_THAT(page, Catch::Contains("\n\\&'quoted.\n"));
}

TEST_CASE("every exit code and documented environment variable is in the man page") {
    test::SmallApp small;
    const auto page = cli::man_page(small.app, "1");
    const auto exit_status = section(page, ".SH \"EXIT STATUS\"");
    for (const auto code :
         {util::ExitCode::ok, util::ExitCode::assets_failed, util::ExitCode::usage,
          util::ExitCode::input, util::ExitCode::internal, util::ExitCode::interrupted}) {
        CHECK_THAT(exit_status,
                   Catch::Contains(".TP\n\\fB" + std::to_string(util::to_int(code)) + "\\fR\n"));
    }
    const auto environment = section(page, ".SH ENVIRONMENT");
    REQUIRE(cli::documented_environment().size() > 30);
    for (const auto& variable : cli::documented_environment()) {
        std::string name(variable.name);
        CHECK_THAT(environment, Catch::Contains(".TP\n\\fB" + name + "\\fR\n"));
    }
}

TEST_CASE("every option of every assetctl command is in the man page, under its command") {
    cli::with_cli_definition([](const CLI::App& app) {
        const auto page = cli::man_page(app, "1");
        const auto global = section(page, ".SH OPTIONS");
        const auto global_names = test::visible_option_names(app);
        for (const auto& name : global_names) {
            CHECK_THAT(global, Catch::Contains(roff_name(name)));
        }
        const auto commands = section(page, ".SH COMMANDS");
        for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
            const auto& name = command->get_name();
            INFO(name);
            CHECK_THAT(commands, Catch::Contains(".TP\n\\fB" + name + "\\fR\n"));
            const auto own = section(page, ".SS \"assetctl " + name + "\"");
            for (const auto& option : test::visible_option_names(*command)) {
                INFO(option);
                const bool listed_globally = std::find(global_names.begin(), global_names.end(),
                                                       option) != global_names.end();
                CHECK_THAT(listed_globally ? global : own, Catch::Contains(roff_name(option)));
            }
        }
    });
}

TEST_CASE("assetctl man and assetctl completion print on stdout and exit 0") {
    const auto man = run_assetctl({"man"});
    CHECK(man.code == 0);
    CHECK(man.err.empty());
    CHECK_THAT(man.out, Catch::Contains(".TH ASSETCTL 1"));
    for (const char* shell : {"bash", "zsh", "fish"}) {
        const auto completion = run_assetctl({"completion", shell});
        CHECK(completion.code == 0);
        CHECK_THAT(completion.out,
                   Catch::Contains(std::string("# ") + shell + " completion for assetctl"));
    }
    CHECK(run_assetctl({"completion", "tcsh"}).code == util::to_int(util::ExitCode::usage));
    CHECK(run_assetctl({"completion"}).code == util::to_int(util::ExitCode::usage));
    CHECK_THAT(run_assetctl({"--help"}).out, Catch::Contains("completion"));
}
