#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this):
#   1. install the Debian packages (scripts/install-deps.sh)
#   2. check formatting
#   3. build with warnings as errors and run every test (unit, integration, e2e)
#   4. build again with AddressSanitizer + UndefinedBehaviorSanitizer and rerun the unit and
#      e2e tests
# Skipped tests (a prerequisite is missing) are listed by CTest as "Skipped", never as passed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/check-format.sh

jobs=$(nproc)
echo "==> build (warnings are errors)"
cmake -S . -B build/ci -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASSETCTL_WERROR=ON >/dev/null
cmake --build build/ci -j "$jobs"
echo "==> tests"
ctest --test-dir build/ci --output-on-failure -j "$jobs"

echo "==> build with ASan + UBSan"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DASSETCTL_WERROR=ON \
  -DASSETCTL_SANITIZE=ON >/dev/null
cmake --build build/asan -j "$jobs"
echo "==> unit and e2e tests under ASan + UBSan"
ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs" -L 'unit|e2e'

echo "==> all tests passed"
