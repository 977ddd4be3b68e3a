#pragma once

// The one way every Catch2 executable of the project runs its test cases and turns the result
// into an exit code. Catch2 2.13's Session::run returns the number of failed assertions (capped
// at 255), so a run with exactly 77 failures would read as "Skipped" to CTest's
// SKIP_RETURN_CODE 77. Here any failure is 1, and 77 is only ever returned by a main that
// found a prerequisite missing before running anything (k_skipped_exit_code).
//
// Include it only in the file that defines main(), after `#define CATCH_CONFIG_RUNNER`: Catch2
// declares Catch::Session only there.

#ifndef CATCH_CONFIG_RUNNER
#error "catch_session.hpp belongs in the file with main(), after #define CATCH_CONFIG_RUNNER"
#endif

#include <catch2/catch.hpp>

namespace assetctl::test {

// CTest's SKIP_RETURN_CODE for every test of the project: a prerequisite is missing, nothing ran.
inline constexpr int k_skipped_exit_code = 77;

// Runs the test cases selected by the command line: 0 when all passed, 1 on any failure
// (failed assertions, errors, bad arguments). Listing requests (--list-test-names-only and the
// like, which catch_discover_tests uses) keep Catch2's own result, which is a count.
inline int run_catch_session(int argc, char* argv[]) {
    Catch::Session session;
    if (session.applyCommandLine(argc, argv) != 0) {
        return 1;
    }
    const auto& config = session.configData();
    const bool only_lists =
        config.listTests || config.listTestNamesOnly || config.listTags || config.listReporters;
    const int result = session.run();
    if (only_lists) {
        return result;
    }
    return result == 0 ? 0 : 1;
}

}  // namespace assetctl::test
