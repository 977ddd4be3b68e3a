#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (fuzz/README.md).
#
#   scripts/fuzz.sh TARGET [SECONDS]     one target, 600 s unless told (a crash ends it: exit 1)
#   scripts/fuzz.sh --smoke [SECONDS]    every target for SECONDS (default 10), two at a time
#   scripts/fuzz.sh --list               the targets
#
# The targets come from a clang-14 build with ASSETCTL_FUZZ (libFuzzer + ASan + UBSan, every
# module instrumented): $ASSETCTL_FUZZ_BUILD if set (CI passes its sanitizer build), else
# build/fuzz, configured and built here. Each run starts from fuzz/make_seeds.py's corpus (the
# committed seeds, seeds made from tests/fixtures and, when present, ../shared/testdata) in
# <build>/fuzz-corpus/<target>, which keeps what the fuzzer adds, so longer runs go on from
# there. A crash input lands in <build>/fuzz-crashes/<target>/; once fixed, commit it as
# fuzz/corpus/<target>/regression-<what> so every build replays it (ctest fuzz_replay_<target>).
# Per target one line: executions, executions per second, coverage (edges), features, corpus.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${ASSETCTL_FUZZ_BUILD:-build/fuzz}
targets=(asset_manifest cloud_assembly image_source save_stream registry_answers aws_answers
         credential_documents shared_config docker_config engine_output url)

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

ensure_build() {
  if [[ ! -f "$build/CMakeCache.txt" ]]; then
    CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1 -O1" \
      -DASSETCTL_SANITIZE=ON -DASSETCTL_FUZZ=ON -DASSETCTL_BUILD_TESTS=OFF >/dev/null
  fi
  if ! grep -q '^ASSETCTL_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
    echo "fuzz.sh: $build is not an ASSETCTL_FUZZ build" >&2
    exit 2
  fi
  cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null
}

# run_target NAME SECONDS: fuzzes, prints the summary line; non-zero when the fuzzer found a crash.
run_target() {
  local name=$1 seconds=$2 corpus="$build/fuzz-corpus/$1" crashes="$build/fuzz-crashes/$1"
  local log="$build/fuzz-logs/$1.log" status=0
  mkdir -p "$corpus" "$crashes" "$build/fuzz-logs"
  # Every failure is a crash for us: a leak, a timeout (10 s for one input), memory over 2 GiB.
  "$build/fuzz/fuzz_$name" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" >"$log" 2>&1 || status=$?
  local execs speed cov features units
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  features=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  units=$(find "$corpus" -type f | wc -l)
  if [[ $status -ne 0 ]]; then
    printf '%-22s FAILED (exit %s) after %s executions; input: %s; log: %s\n' "$name" "$status" \
      "${execs:-?}" "$(ls -t "$crashes" | head -n 1 | sed "s|^|$crashes/|")" "$log"
    grep -m 3 -E 'ERROR: |runtime error|terminate called|uncaught' "$log" | sed 's/^/    /' || true
    return 1
  fi
  printf '%-22s %10s execs %8s/s  cov %6s  ft %6s  corpus %5s  (%ss)\n' "$name" "${execs:-?}" \
    "${speed:-?}" "${cov:-?}" "${features:-?}" "$units" "$seconds"
}

seed() {
  python3 fuzz/make_seeds.py --into "$build/fuzz-corpus"
}

[[ $# -ge 1 ]] || usage
case $1 in
  --list) printf '%s\n' "${targets[@]}" ;;
  --smoke)
    seconds=${2:-10}
    ensure_build
    seed
    export -f run_target
    export build
    printf '%s\n' "${targets[@]}" | xargs -P 2 -I{} bash -c 'run_target "$1" "$2"' _ {} "$seconds"
    ;;
  -*) usage ;;
  *)
    [[ " ${targets[*]} " == *" $1 "* ]] || { echo "fuzz.sh: no target '$1' (--list)" >&2; exit 2; }
    ensure_build
    seed
    run_target "$1" "${2:-600}"
    ;;
esac
