#pragma once

#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace assetctl::cli {

// The manual page of `app`, section 1, in roff with man(7) macros (`assetctl man`): NAME and
// SYNOPSIS from the definition, DESCRIPTION, COMMANDS and OPTIONS (every visible command,
// option and argument with its help, value, choices and default), EXIT STATUS (every
// util::ExitCode), ENVIRONMENT (cli/environment_variables.hpp), FILES and SEE ALSO. Pure:
// `version` goes into the title line, no date does (the page is reproducible).
std::string man_page(const CLI::App& app, std::string_view version);

}  // namespace assetctl::cli
