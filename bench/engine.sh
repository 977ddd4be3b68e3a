#!/usr/bin/env bash
# Benchmark: built images to 3 regions - cdk-assets 4.7.3 vs assetctl --push-mode docker vs
# assetctl native, on the same CDK app, against the same local stack, in one run. Not a CI test.
#
#   bench/engine.sh [--runs N] [--scale F] [--variants cdk-assets,docker,native]
#                   [--scenarios cold-cached,cold-uncached,changed] [--assetctl-args "..."] [--keep]
#
# The app (bench/app-engine): 4 images on one generated base of about 150 MiB in 3 layers (a
# `docker import`ed root file system + 2 COPY layers, shared by all 4), each adding 1-3 own
# layers of 20-80 MiB (bench/lib/engine_images.py; --scale 0.1 makes every layer 10x smaller),
# in 3 stacks, one per region (us-east-1, us-west-2, eu-west-1): 3 asset manifests, 12
# destinations. Every region has a registry of its own behind the ECR/STS endpoint.
#
# Scenarios (N runs per variant each, default 3, the variants' order rotating; medians, min, max):
#   cold-cached    a fresh stack (empty registries, new endpoint) per run; builds cached
#   cold-uncached  the same with every built image removed and the BuildKit cache pruned
#   changed        after one small change to the `web` asset's top layer (1 image rebuilt)
# Variants: cdk-assets (one process per manifest, one after the other), docker (assetctl
# --push-mode docker), native (assetctl --push-mode native; only when `assetctl publish --help`
# mentions --push-mode, otherwise "skipped: no --push-mode").
# Prints wall, CPU (tool + children; dockerd's separately), bytes stored per registry, blob
# uploads, peak RSS, load averages, and the ratios native/cdk-assets and native/docker side by
# side, against the targets of issue #10. assetctl: $ASSETCTL, else a Release build in
# build/bench. Logs and results.json stay in the state dir with --keep or when a run failed; the
# results are also copied to bench/out/.
#
# --assetctl-args passes extra options to both assetctl variants (default: none).
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")"
# shellcheck source=lib/common.sh
. lib/common.sh
py=/usr/bin/python3

runs=3
scale=1
variants=cdk-assets,docker,native
scenarios=cold-cached,cold-uncached,changed
keep=0
assetctl_args=
while (($#)); do
  case $1 in
    --scale) scale=${2:?--scale needs a number}; shift 2 ;;
    --scale=*) scale=${1#--scale=}; shift ;;
    --variants) variants=${2:?--variants needs a list}; shift 2 ;;
    --variants=*) variants=${1#--variants=}; shift ;;
    --scenarios) scenarios=${2:?--scenarios needs a list}; shift 2 ;;
    --scenarios=*) scenarios=${1#--scenarios=}; shift ;;
    *) common_option "$@"; shift "$shifted" ;;
  esac
done
check_runs
[[ $scale =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] && awk -v s="$scale" 'BEGIN { exit !(s > 0 && s <= 10) }' || {
  echo "engine.sh: --scale wants a number in (0, 10], got '$scale'" >&2; exit 2; }
[[ $variants =~ ^(cdk-assets|docker|native)(,(cdk-assets|docker|native))*$ ]] || {
  echo "engine.sh: --variants wants a comma-separated list of cdk-assets, docker, native; got '$variants'" >&2; exit 2; }
[[ $scenarios =~ ^(cold-cached|cold-uncached|changed)(,(cold-cached|cold-uncached|changed))*$ ]] || {
  echo "engine.sh: --scenarios wants a comma-separated list of cold-cached, cold-uncached, changed" >&2; exit 2; }

say() { echo "==> $*" >&2; }

# --- what it needs -----------------------------------------------------------------------
((EUID == 0)) || { echo "engine.sh: needs root (a private dockerd)" >&2; exit 1; }
"$root/scripts/install-deps.sh" >&2
for bin in /usr/sbin/dockerd /usr/bin/docker /usr/bin/docker-registry /usr/bin/htpasswd /usr/bin/openssl /bin/busybox; do
  [[ -x $bin ]] || { echo "engine.sh: $bin missing (scripts/install-deps.sh installs the test tools)" >&2; exit 1; }
done
$py -c 'import botocore' 2>/dev/null || { echo "engine.sh: python3-botocore missing" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "engine.sh: needs node (>= 20) and npm on PATH" >&2; exit 1; }
if [[ ! -f node_modules/cdk-assets/bin/cdk-assets.js ]]; then
  say "npm ci (cdk-assets 4.7.3) in bench/"
  npm ci --no-audit --no-fund >&2
fi
if [[ ! -d app/node_modules/aws-cdk-lib ]]; then
  say "npm ci (aws-cdk-lib 2.273.0, which bench/app-engine uses too) in bench/app/"
  (cd app && npm ci --no-audit --no-fund >&2)
fi
cdk_assets=$bench/node_modules/cdk-assets/bin/cdk-assets.js
[[ $(node "$cdk_assets" --version) == 4.7.3 ]] || {
  echo "engine.sh: bench/node_modules has the wrong cdk-assets" >&2; exit 1; }
if [[ -z ${ASSETCTL:-} ]]; then
  say "building assetctl (Release) in build/bench"
  cmake -S "$root" -B "$root/build/bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DASSETCTL_BUILD_TESTS=OFF >/dev/null
  ninja -C "$root/build/bench" assetctl >&2
fi
assetctl=${ASSETCTL:-$root/build/bench/apps/assetctl/assetctl}
[[ -x $assetctl ]] || { echo "engine.sh: no assetctl at $assetctl" >&2; exit 1; }

# --- state, and tearing it down on any exit -------------------------------------------------
new_state_dir engine
mkdir -p "$state/logs"

say "generating the base and the 4 build contexts (scale $scale)"
$py lib/engine_images.py "$state/images" --scale "$scale" > "$state/plan.json"

# --- measuring: engine_measure.py starts dockerd and, per run, the registries and the endpoint --
unset AWS_PROFILE AWS_SESSION_TOKEN DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH CDK_DOCKER NO_COLOR
say "measuring: $variants; scenarios $scenarios; $runs runs each"
measure_args=(--state "$state" --plan "$state/plan.json" --app "$bench/app-engine/app.js" --assetctl "$assetctl"
  --cdk-assets "$cdk_assets" --runs "$runs" --variants "$variants" --scenarios "$scenarios"
  --assetctl-args="$assetctl_args" --results "$state/results.json")
((keep)) && measure_args+=(--keep)
$py lib/engine_measure.py "${measure_args[@]}"
mkdir -p out
cp "$state/results.json" "out/engine-results-$(date -u +%Y%m%dT%H%M%SZ)-scale$scale.json"
