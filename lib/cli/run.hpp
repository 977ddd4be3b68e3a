#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "util/environment.hpp"

namespace assetctl::cli {

struct Streams {
    std::ostream& out;  // results (listings, JSON)
    std::ostream& err;  // the final error message; logs go through spdlog to stderr
    bool err_is_terminal = false;
    bool out_is_terminal = false;
    std::size_t columns = 0;  // stderr's terminal size; 0 when unknown
    std::size_t rows = 0;
};

// Runs one assetctl command line (args[0] is the program name) and returns the exit code
// (util::ExitCode). Never throws.
int run(const std::vector<std::string>& args, Streams streams, const util::Environment& env);

// The process entry point: real streams and environment.
int run(int argc, char** argv);

}  // namespace assetctl::cli
