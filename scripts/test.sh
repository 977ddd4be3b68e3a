#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this):
#   1. install the Debian packages (scripts/install-deps.sh)
#   2. check formatting
#   3. build with warnings as errors and run every test (unit, integration, e2e)
#   4. build again with clang 14, AddressSanitizer + UndefinedBehaviorSanitizer and libFuzzer's
#      coverage (at nice 19, while step 3's tests run), and rerun the tests that run assetctl code: every unit test executable whole
#      (label unit_whole: one process each, not one per case) and the standalone ones (label
#      standalone: the SigV4 vectors, the shared sample's build arguments), the fuzz corpora,
#      integration (the curl client, the real-registry push, the SigV4 differential) and the e2e
#      tests but those whose time goes to engine builds (label `engine`); the harness's
#      self-tests (label `harness`) are left out
#   5. fuzz every target of fuzz/ for a short fixed time (scripts/fuzz.sh --smoke) in that build
# Every ctest call has --no-tests=error (a wrong label or a build without tests fails), and each
# pass is checked by scripts/check-test-results.py: a failure fails, and so does a Skipped test
# unless tests/expected-skips.txt lists it with a condition that holds (everything else is
# installed here, so a skip means something broke). The closing line counts passed, failed and
# skipped tests of both passes.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/check-format.sh

jobs=$(nproc)
summaries=()
mapfile -t fuzz_targets < <(scripts/fuzz.sh --list)

# run_tests PASS BUILD_DIR [ctest selection...]: runs the tests, then checks the results (also
# after a failing ctest, so the counts are printed); returns non-zero on either failure.
run_tests() {
  local pass=$1 dir=$2
  shift 2
  local junit="$PWD/$dir/ctest-junit.xml" tests_json="$PWD/$dir/ctest-tests.json" status=0
  rm -f "$junit"
  ctest --test-dir "$dir" --show-only=json-v1 --no-tests=error "$@" > "$tests_json"
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$jobs" --output-junit "$junit" "$@" ||
    status=$?
  local check
  check=$(scripts/check-test-results.py --pass "$pass" --junit "$junit" --tests-json "$tests_json" \
    --expected tests/expected-skips.txt --build-dir "$dir" --list-label integration) || status=1
  printf '%s\n' "$check"
  summaries+=("$(printf '%s\n' "$check" | tail -n 1)")
  return "$status"
}

echo "==> build (warnings are errors)"
# -g1 (line tables: enough for backtraces and sanitizer reports) keeps both builds inside the
# 20-minute budget on 2 cores; full debug info cost ~15% more compile time per file.
cmake -S . -B build/ci -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASSETCTL_WERROR=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
cmake --build build/ci -j "$jobs"

# The second compiler is clang: its warnings are errors too, and its libFuzzer runs the fuzz
# targets built here. build/sanitize, not build/asan: a CMake cache keeps its compiler. It
# builds at nice 19 while the first pass runs: the e2e tests leave about a third of the CPU
# idle (they wait on servers and engines), and a nice 19 build takes only what they leave.
echo "==> build with clang 14: ASan + UBSan + libFuzzer coverage (warnings are errors), in the background"
CXX=clang++-14 cmake -S . -B build/sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug -DASSETCTL_WERROR=ON \
  -DCMAKE_CXX_FLAGS_DEBUG="-g1" -DASSETCTL_SANITIZE=ON -DASSETCTL_FUZZ=ON >/dev/null
# setsid: the build is a process group of its own, so a failing first pass stops all of it.
setsid nice -n 19 cmake --build build/sanitize -j "$jobs" > build/sanitize-build.log 2>&1 &
sanitize_build=$!
trap 'kill -- -"$sanitize_build" 2>/dev/null || true' EXIT
echo "==> tests"
run_tests tests build/ci -LE unit_whole
echo "==> waiting for the clang build"
if ! wait "$sanitize_build"; then
  tail -n 60 build/sanitize-build.log
  echo "the clang build failed (build/sanitize-build.log)" >&2
  exit 1
fi
trap - EXIT
echo "==> unit, integration and e2e tests under ASan + UBSan"
ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_tests sanitizers build/sanitize -L 'unit_whole|standalone|fuzz|integration|e2e' -LE 'harness|engine'
echo "==> fuzz smoke: every target for ${ASSETCTL_FUZZ_SMOKE_SECONDS:=10} s"
ASSETCTL_FUZZ_BUILD=build/sanitize scripts/fuzz.sh --smoke "$ASSETCTL_FUZZ_SMOKE_SECONDS"
summaries+=("fuzz: ${#fuzz_targets[@]} targets, ${ASSETCTL_FUZZ_SMOKE_SECONDS} s each, no crash")

echo "==> all tests passed"
printf '    %s\n' "${summaries[@]}"
