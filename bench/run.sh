#!/usr/bin/env bash
# Benchmark: Node's cdk-assets 4.7.3 vs assetctl, on the same cloud assemblies, against the same
# local stack (TLS registry + ECR/STS endpoint from tests/support), in one run. Not a CI test.
#
#   bench/run.sh [--runs N] [--only cold|noop|noop50|files|files-noop]... [--stock-endpoint] [--keep]
#                [--assetctl-args "--build-jobs 2"]
#
# Scenarios (N runs per tool each, the tools alternating; medians, min and max):
#   cold    bench/app's assembly (8 images in 4 manifests); registry storage, local images,
#           BuildKit cache and DOCKER_CONFIG wiped before every run
#   noop    the same assembly, everything already published
#   noop50  gen_many.py's assembly (one manifest, 50 images), everything already published
#   files   gen_files.py's assembly (one manifest, 20 file assets: 12 templates, 8 Lambda-like
#           folders of 5-50 MiB, zip packaging, 186 MiB); bucket emptied and .cache removed
#           before every run
#   files-noop  the same, every object already in the bucket
# Prints a table (medians, ratio assetctl/cdk-assets, target, met?) and the AWS calls each tool
# made per run (from the endpoint's request log). Logs and results.json stay in the state dir
# with --keep or when a run failed; the results are also copied to bench/out/.
#
# --assetctl-args passes extra options to `assetctl publish` (default: none, its defaults).
#
# By default the endpoint runs in its benchmark mode (tests/support/stack.py --fast, FAST_MODE in
# tests/support/ecr_endpoint.py): DescribeImages by image id in O(ids) instead of O(tags in the
# repository), keep-alive to the registry, and server_ms in its request log. --stock-endpoint
# uses the normal mode (its 50-asset no-op measures the fake, not the tools).
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")"
# shellcheck source=lib/common.sh
. lib/common.sh

runs=5
only=()
stock=0
keep=0
assetctl_args=
while (($#)); do
  case $1 in
    --only) only+=(--only "${2:?--only needs a scenario}"); shift 2 ;;
    --stock-endpoint) stock=1; shift ;;
    *) common_option "$@"; shift "$shifted" ;;
  esac
done
check_runs

say() { echo "==> $*" >&2; }

# --- what it needs -----------------------------------------------------------------------
"$root/scripts/install-deps.sh" >&2
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "run.sh: needs node (>= 20, for aws-cdk-lib 2.273.0) and npm on PATH" >&2; exit 1; }
if [[ ! -f node_modules/cdk-assets/bin/cdk-assets.js ]]; then
  say "npm ci (cdk-assets 4.7.3) in bench/"
  npm ci --no-audit --no-fund >&2
fi
if [[ ! -d app/node_modules/aws-cdk-lib ]]; then
  say "npm ci (aws-cdk-lib 2.273.0) in bench/app/"
  (cd app && npm ci --no-audit --no-fund >&2)
fi
cdk_assets=$bench/node_modules/cdk-assets/bin/cdk-assets.js
[[ $(node "$cdk_assets" --version) == 4.7.3 ]] || { echo "run.sh: bench/node_modules has the wrong cdk-assets" >&2; exit 1; }

say "building assetctl (Release) in build/bench"
cmake -S "$root" -B "$root/build/bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DASSETCTL_BUILD_TESTS=OFF >/dev/null
ninja -C "$root/build/bench" assetctl >&2
assetctl=$root/build/bench/apps/assetctl/assetctl

# --- state, and tearing it all down on any exit -------------------------------------------
new_state_dir bench
if ((stock)); then
  endpoint_kind=stock
  fast=()
else
  endpoint_kind=fast
  fast=(--fast)
fi

# --- the assemblies ------------------------------------------------------------------------
say "synthesizing bench/app (aws-cdk-lib $(node -p "require('$bench/app/node_modules/aws-cdk-lib/package.json').version"))"
CDK_OUTDIR=$state/app.out node app/app.js
/usr/bin/python3 gen_many.py "$state/many.out" --count 50 >/dev/null
/usr/bin/python3 gen_files.py "$state/files.out" >/dev/null

# --- the stack, the daemon, and measuring -------------------------------------------------
say "starting the registry and the ECR/STS endpoint ($endpoint_kind), and a private dockerd;"
say "measuring, $runs runs per tool and scenario"
# Default config: CDK roles and repositories for 111111111111 and 222222222222 in us-east-1,
# us-west-2 and eu-west-1, and 111111111111's bootstrap buckets (S3, default encryption
# aws:kms) there. Repository URIs point at the local registry.
echo '{"repository_uri_host": "registry"}' > "$state/endpoint.json"
# stack.py exec gives both tools the same environment: AWS keys, region, endpoint overrides
# (AWS_ENDPOINT_URL is honoured by the AWS SDK for JavaScript v3 in cdk-assets and by assetctl),
# no shared AWS files, no IMDS, DOCKER_HOST, PATH with /usr/bin first (docker = the 20.10 client
# that matches the daemon), and a private DOCKER_CONFIG; it stops the stack and dockerd after.
unset AWS_PROFILE AWS_SESSION_TOKEN DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH CDK_DOCKER NO_COLOR
mkdir -m 700 -p "$state/docker-config"
keep_stack=()
((keep)) && keep_stack=(--keep)
/usr/bin/python3 "$root/tests/support/stack.py" exec --state-dir "$state/stack" --config "$state/endpoint.json" \
  "${fast[@]}" --dockerd-state-dir "$state/dockerd" --import-busybox --docker-config "$state/docker-config" \
  "${keep_stack[@]}" -- \
  /usr/bin/python3 lib/measure.py --state "$state" --assetctl "$assetctl" --cdk-assets "$cdk_assets" \
    --app "$state/app.out" --many "$state/many.out" --files "$state/files.out" --runs "$runs" --endpoint "$endpoint_kind" \
    --assetctl-args="$assetctl_args" --results "$state/results.json" "${only[@]}"
mkdir -p out
cp "$state/results.json" "out/results-$(date -u +%Y%m%dT%H%M%SZ)-$endpoint_kind.json"
