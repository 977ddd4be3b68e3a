#pragma once

#include <string>

namespace CLI {
class App;
}

namespace assetctl::cli {

enum class Shell { bash, zsh, fish };

// The completion script of `app` for one shell (`assetctl completion bash|zsh|fish`): its
// commands, the options each accepts (the global ones too), the words of options and
// positionals with fixed choices, file names for path options (cli_model.hpp says which), and
// nothing for other values. Pure: the same definition gives the same text.
std::string completion_script(const CLI::App& app, Shell shell);

}  // namespace assetctl::cli
