#pragma once

// The one way every Catch2 executable of the project runs its test cases and turns the result
// into an exit code. Catch2 2.13's Session::run returns the number of failed assertions (capped
// at 255), so a run with exactly 77 failures would read as "Skipped" to CTest's
// SKIP_RETURN_CODE 77. Here any failure is 1, and 77 is only ever returned by a main that
// found a prerequisite missing before running anything (k_skipped_exit_code).

namespace assetctl::test {

// CTest's SKIP_RETURN_CODE for every test of the project: a prerequisite is missing, nothing ran.
inline constexpr int k_skipped_exit_code = 77;

// Runs the test cases selected by the command line: 0 when all passed, 1 on any failure
// (failed assertions, errors, bad arguments). Listing requests (--list-test-names-only and the
// like, which catch_discover_tests uses) keep Catch2's own result, which is a count.
int run_catch_session(int argc, char* argv[]);

}  // namespace assetctl::test
