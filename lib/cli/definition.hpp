#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace assetctl::cli {

// Hands assetctl's command-line definition (the CLI11 App that run() parses, unparsed) to
// `use`: for tests checking that the completion scripts and the manual page cover every
// command and option.
void with_cli_definition(const std::function<void(const CLI::App&)>& use);

}  // namespace assetctl::cli
