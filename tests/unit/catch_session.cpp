#include "catch_session.hpp"

#include <catch2/catch.hpp>

namespace assetctl::test {

namespace {

bool only_lists(const Catch::ConfigData& config) {
    return config.listTests || config.listTestNamesOnly || config.listTags || config.listReporters;
}

}  // namespace

int run_catch_session(int argc, char* argv[]) {
    Catch::Session session;
    if (const int parse_error = session.applyCommandLine(argc, argv); parse_error != 0) {
        return 1;
    }
    const int result = session.run();
    if (only_lists(session.configData())) {
        return result;
    }
    return result == 0 ? 0 : 1;
}

}  // namespace assetctl::test
