#include "cli/man_page.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <sstream>

#include "cli/cli_model.hpp"
#include "cli/environment_variables.hpp"
#include "util/error.hpp"
#include "util/strings.hpp"

namespace assetctl::cli {
namespace {

using util::ExitCode;

// -Wswitch (an error here) makes a new ExitCode fail the build until it is described; the list
// below says in which order the page shows them.
std::string_view exit_code_meaning(ExitCode code) {
    switch (code) {
        case ExitCode::ok:
            return "Success: everything selected was done (doctor: every check passed).";
        case ExitCode::assets_failed:
            return "The run completed, but at least one asset failed (each is named in the "
                   "summary); for doctor, some check failed.";
        case ExitCode::usage:
            return "Usage error: unknown command or option, a missing or invalid value.";
        case ExitCode::input:
            return "Input error: no cloud assembly, a malformed or too new manifest, a missing "
                   "build context, Dockerfile or file asset source, an empty selection.";
        case ExitCode::internal:
            return "Internal error: a bug in assetctl; please report it with the command line "
                   "and -v output.";
        case ExitCode::interrupted:
            return "Interrupted (SIGINT or SIGTERM): children stopped, temporary files removed.";
    }
    return {};
}

constexpr std::array k_exit_codes{ExitCode::ok,    ExitCode::assets_failed, ExitCode::usage,
                                  ExitCode::input, ExitCode::internal,      ExitCode::interrupted};

struct FileEntry {
    std::string_view path;
    std::string_view meaning;
};

constexpr std::array k_files = std::to_array<FileEntry>({
    {"cdk.out", "The cloud assembly read by default (--path)."},
    {"~/.aws/config, ~/.aws/credentials",
     "Profiles, regions and credentials, as the AWS SDKs read them."},
    {"~/.docker/config.json",
     "Read (never written): copied into a private DOCKER_CONFIG for --push-mode docker."},
    {"~/.cache/assetctl", "The layer cache: compressed layers and their digests."},
    {"~/.cdk/cdk-docker-creds.json", "CDK Pipelines' docker credentials."},
    {"/etc/docker/certs.d/HOST:PORT/*.crt", "CA certificates trusted for that registry."},
});

constexpr std::string_view k_description =
    "assetctl builds and publishes the assets of AWS CDK cloud assemblies (cdk.out): container "
    "images to Amazon ECR and files to Amazon S3, as cdk-assets does, in parallel and skipping "
    "what the destinations already have.\n"
    "Assets are selected with ASSET[:DEST] globs (ASSET matches an asset id or display name; an "
    "empty part or * matches all) and --stack; every selector must match something.\n"
    "Results (listings, JSON, summaries) go to stdout; logs and progress go to stderr.\n"
    "Started as cdk-assets (a link to assetctl), or as `assetctl cdk-assets`, it answers the "
    "cdk-assets command line; started as docker-credential-cdk-assets, docker's "
    "credential-helper protocol.";

// Text in roff: backslashes and hyphens escaped, a line never starting with a control
// character, `code` in bold.
std::string roff_text(std::string_view text) {
    std::string out;
    bool in_code = false;
    for (const char c : text) {
        if (c == '\\') {
            out += "\\e";
        } else if (c == '-') {
            out += "\\-";
        } else if (c == '`') {
            out += in_code ? "\\fR" : "\\fB";
            in_code = !in_code;
        } else {
            out += c;
        }
    }
    if (in_code) {
        out += "\\fR";
    }
    if (!out.empty() && (out.front() == '.' || out.front() == '\'')) {
        out.insert(0, "\\&");
    }
    return out;
}

// Paragraphs of `text` (one per line) as roff lines.
std::string roff_paragraphs(std::string_view text) {
    std::string out;
    for (const auto& line : util::split_lines(text)) {
        if (!out.empty()) {
            out += ".PP\n";
        }
        out += roff_text(line) + "\n";
    }
    return out;
}

// `text` ending in a full stop.
std::string sentence(std::string_view text) {
    std::string out = roff_text(text);
    if (!out.empty() && out.back() != '.') {
        out += ".";
    }
    return out;
}

// CLI11 calls any string value TEXT; a path option's reads better as PATH.
std::string shown_value_name(const OptionSpec& option) {
    return option.value == ValueKind::path && option.value_name == "TEXT" ? "PATH"
                                                                          : option.value_name;
}

std::string option_heading(const OptionSpec& option) {
    std::vector<std::string> names;
    for (const auto& name : option.names) {
        names.push_back("\\fB" + roff_text(name) + "\\fR");
    }
    std::string heading = util::join(names, ", ");
    if (option.value != ValueKind::none) {
        heading += " \\fI" + roff_text(shown_value_name(option)) + "\\fR";
    }
    return heading;
}

std::string option_body(const OptionSpec& option) {
    std::string body = sentence(option.help);
    if (option.value == ValueKind::choice) {
        body += " One of: " + roff_text(util::join(option.choices, ", ")) + ".";
    }
    if (!option.default_value.empty()) {
        body += " Default: " + roff_text(option.default_value) + ".";
    }
    if (option.repeatable && option.value != ValueKind::none) {
        body += " May be given more than once.";
    }
    return body;
}

std::string positional_heading(const PositionalSpec& positional) {
    return "\\fI" + roff_text(positional.value_name) + "\\fR" +
           (positional.repeatable ? "..." : "");
}

std::string positional_body(const PositionalSpec& positional) {
    std::string body = sentence(positional.help);
    if (!positional.choices.empty()) {
        body += " One of: " + roff_text(util::join(positional.choices, ", ")) + ".";
    }
    return body;
}

void write_tagged(std::ostream& out, const std::string& tag, const std::string& body) {
    out << ".TP\n" << tag << "\n" << body << "\n";
}

std::string usage_of_positionals(const CommandSpec& command) {
    std::string usage;
    for (const auto& positional : command.positionals) {
        const std::string name = positional_heading(positional);
        usage += positional.required ? " " + name : " [" + name + "]";
    }
    return usage;
}

void write_synopsis(std::ostream& out, const CommandSpec& root) {
    out << ".SH SYNOPSIS\n";
    bool first = true;
    for (const auto& command : root.subcommands) {
        if (!first) {
            out << ".br\n";
        }
        first = false;
        const bool has_options = !command.options.empty();
        out << "\\fB" << roff_text(root.name) << " " << roff_text(command.name) << "\\fR"
            << (has_options ? " [\\fIoptions\\fR]" : "") << usage_of_positionals(command) << "\n";
    }
}

void write_commands(std::ostream& out, const CommandSpec& root) {
    out << ".SH COMMANDS\n";
    for (const auto& command : root.subcommands) {
        write_tagged(out, "\\fB" + roff_text(command.name) + "\\fR", roff_text(command.help));
    }
}

// An option of a command that the root defines the same way (--help): listed once, globally.
bool is_global(const CommandSpec& root, const OptionSpec& option) {
    return std::any_of(
        root.options.begin(), root.options.end(),
        [&option](const OptionSpec& global) { return global.names == option.names; });
}

void write_options(std::ostream& out, const CommandSpec& root) {
    out << ".SH OPTIONS\n"
        << "Global options, taken before or after the command:\n";
    for (const auto& option : root.options) {
        write_tagged(out, option_heading(option), option_body(option));
    }
    for (const auto& command : root.subcommands) {
        out << ".SS \"" << roff_text(root.name + " " + command.name) << "\"\n";
        for (const auto& positional : command.positionals) {
            write_tagged(out, positional_heading(positional), positional_body(positional));
        }
        for (const auto& option : command.options) {
            if (!is_global(root, option)) {
                write_tagged(out, option_heading(option), option_body(option));
            }
        }
    }
}

void write_exit_status(std::ostream& out) {
    out << ".SH \"EXIT STATUS\"\n";
    for (const auto code : k_exit_codes) {
        write_tagged(out, "\\fB" + std::to_string(util::to_int(code)) + "\\fR",
                     roff_text(exit_code_meaning(code)));
    }
}

void write_environment(std::ostream& out) {
    out << ".SH ENVIRONMENT\n";
    for (const auto& variable : documented_environment()) {
        write_tagged(out, "\\fB" + roff_text(variable.name) + "\\fR", roff_text(variable.meaning));
    }
}

void write_files(std::ostream& out) {
    out << ".SH FILES\n";
    for (const auto& file : k_files) {
        write_tagged(out, "\\fI" + roff_text(file.path) + "\\fR", roff_text(file.meaning));
    }
}

// "Build and publish ... ." -> "build and publish ...": the NAME line's whatis text.
std::string whatis(std::string description) {
    if (!description.empty() && description.back() == '.') {
        description.pop_back();
    }
    if (!description.empty()) {
        description.front() = util::to_lower(description.substr(0, 1)).front();
    }
    return roff_text(description);
}

}  // namespace

std::string man_page(const CLI::App& app, std::string_view version) {
    const CommandSpec root = describe_cli(app);
    const std::string title = util::to_lower(root.name);
    std::string upper = root.name;
    for (auto& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    std::ostringstream out;
    out << ".\\\" Generated from the command-line definition by `" << title
        << " man`; do not edit.\n"
        << ".TH " << upper << " 1 \"\" \"" << roff_text(title) << " " << roff_text(version)
        << "\" \"User Commands\"\n"
        << ".SH NAME\n"
        << roff_text(root.name) << " \\- " << whatis(root.help) << "\n";
    write_synopsis(out, root);
    out << ".SH DESCRIPTION\n" << roff_paragraphs(k_description);
    write_commands(out, root);
    write_options(out, root);
    write_exit_status(out);
    write_environment(out);
    write_files(out);
    out << ".SH \"SEE ALSO\"\n"
        << ".BR docker (1),\n"
        << ".BR podman (1),\n"
        << ".BR aws (1),\n"
        << ".BR cdk (1)\n";
    return out.str();
}

}  // namespace assetctl::cli
