#!/usr/bin/env bash
# Benchmark: pushing a `docker save` image tarball with assetctl (daemonless) vs skopeo vs
# docker (load + tag + push), to the same local TLS registry, in one run. Not a CI test.
#
#   bench/tarball.sh [--runs N] [--size-mib M] [--only TOOL[,TOOL...]] [--scenarios cold,repush]
#                    [--rss-check [--rss-size-mib 1024]] [--asset-form executable|directory]
#                    [--assetctl-args "--upload-jobs 8"] [--assetctl-docker] [--keep]
#
# Tools: assetctl (`assetctl publish --path <x.assets.json> --json`, binary from $ASSETCTL, else
# a Release build in build/bench), skopeo (`skopeo copy docker-archive:... docker://...`),
# docker (`docker load` + `docker tag` + `docker push` against a private dockerd).
# Scenarios (N runs per tool each, default 5; medians, min and max):
#   cold    a fresh repository per run, each tool's own cache cleared first
#   repush  the same tarball under a new tag to a repository holding every blob, caches warm
# The tarball (default 256 MiB of layers in 4 layers, see lib/gen_image_tarball.py) is
# generated once and cached in bench/out/. --rss-check adds one cold push of a 1 GiB tarball by
# assetctl and skopeo and prints their peak RSS (target: assetctl < 64 MiB); --rss-size-mib
# changes that size (only to try the check out: the target is for 1 GiB).
#
# --assetctl-args replaces the default extra options of assetctl publish ("--tarball-mode
# native"); --asset-form picks how the asset manifest names the tarball: CDK's
# TarballImageAsset executable (default) or {"directory": "<file>.tar"}. assetctl gets no docker
# daemon (DOCKER_HOST points at a socket that does not exist), unless --assetctl-docker: then it
# gets the private dockerd, and its cold runs also clear the daemon's image and metadata (for
# `--assetctl-args "--tarball-mode docker"`, or an assetctl without the native path).
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")"
# shellcheck source=lib/common.sh
. lib/common.sh
py=/usr/bin/python3

runs=5
size_mib=256
tools=assetctl,skopeo,docker
scenarios=cold,repush
rss_check=0
rss_size_mib=1024
keep=0
asset_form=executable
assetctl_docker=0
assetctl_args="--tarball-mode native"
while (($#)); do
  case $1 in
    --size-mib) size_mib=${2:?--size-mib needs a number}; shift 2 ;;
    --size-mib=*) size_mib=${1#--size-mib=}; shift ;;
    --only) tools=${2:?--only needs tools, e.g. skopeo,docker}; shift 2 ;;
    --only=*) tools=${1#--only=}; shift ;;
    --scenarios) scenarios=${2:?--scenarios needs cold, repush or both}; shift 2 ;;
    --scenarios=*) scenarios=${1#--scenarios=}; shift ;;
    --rss-check) rss_check=1; shift ;;
    --rss-size-mib) rss_size_mib=${2:?--rss-size-mib needs a number}; shift 2 ;;
    --asset-form) asset_form=${2:?--asset-form needs executable or directory}; shift 2 ;;
    --asset-form=*) asset_form=${1#--asset-form=}; shift ;;
    --assetctl-docker) assetctl_docker=1; shift ;;
    *) common_option "$@"; shift "$shifted" ;;
  esac
done
check_runs
[[ $size_mib =~ ^[1-9][0-9]*$ && $rss_size_mib =~ ^[1-9][0-9]*$ ]] || {
  echo "tarball.sh: --size-mib and --rss-size-mib want a positive number" >&2; exit 2; }
[[ $tools =~ ^(assetctl|skopeo|docker)(,(assetctl|skopeo|docker))*$ ]] || {
  echo "tarball.sh: --only wants a comma-separated list of assetctl, skopeo, docker; got '$tools'" >&2; exit 2; }
[[ $scenarios =~ ^(cold|repush)(,(cold|repush))*$ ]] || {
  echo "tarball.sh: --scenarios wants cold, repush or cold,repush; got '$scenarios'" >&2; exit 2; }
[[ $asset_form == executable || $asset_form == directory ]] || {
  echo "tarball.sh: --asset-form wants executable or directory" >&2; exit 2; }
has() { [[ ,$tools, == *,$1,* ]]; }

say() { echo "==> $*" >&2; }

# --- what it needs -----------------------------------------------------------------------
((EUID == 0)) || { echo "tarball.sh: needs root (a private dockerd; a private mount namespace for skopeo's cache)" >&2; exit 1; }
for bin in /usr/bin/skopeo /usr/bin/docker-registry /usr/bin/htpasswd /usr/bin/openssl /usr/bin/unshare; do
  [[ -x $bin ]] || { echo "tarball.sh: $bin missing (scripts/install-deps.sh installs the test tools)" >&2; exit 1; }
done
if has docker; then
  [[ -x /usr/sbin/dockerd && -x /usr/bin/docker ]] || { echo "tarball.sh: docker.io (20.10) missing" >&2; exit 1; }
fi
if has assetctl && [[ -z ${ASSETCTL:-} ]]; then
  # Like run.sh: a Release build of its own, unless $ASSETCTL names a binary.
  echo "==> building assetctl (Release) in build/bench" >&2
  cmake -S "$root" -B "$root/build/bench" -G Ninja -DCMAKE_BUILD_TYPE=Release -DASSETCTL_BUILD_TESTS=OFF >/dev/null
  ninja -C "$root/build/bench" assetctl >&2
fi
assetctl=${ASSETCTL:-$root/build/bench/apps/assetctl/assetctl}
if has assetctl && [[ ! -x $assetctl ]]; then
  echo "tarball.sh: no assetctl at $assetctl (set ASSETCTL=..., or leave it out: --only skopeo,docker)" >&2; exit 1
fi

# --- state, and tearing down what we started on any exit -------------------------------------
new_state_dir tarball

# --- the tarball(s), cached in bench/out ------------------------------------------------------
mkdir -p out
say "image tarball: $size_mib MiB of layers in 4 layers (generated once, cached in bench/out/)"
image_info=$state/image.json
$py lib/gen_image_tarball.py --cached out --size-mib "$size_mib" > "$image_info"
say "checking it with skopeo inspect docker-archive:"
$py - "$image_info" <<'PY'
import json, subprocess, sys
info = json.load(open(sys.argv[1]))
out = subprocess.run(["/usr/bin/skopeo", "inspect", "docker-archive:" + info["file"]], check=True,
                     capture_output=True, text=True)
got = json.loads(out.stdout)
cfg = subprocess.run(["/usr/bin/skopeo", "inspect", "--raw", "--config", "docker-archive:" + info["file"]],
                     check=True, capture_output=True).stdout
import hashlib
if got["Layers"] != info["diff_ids"] or "sha256:" + hashlib.sha256(cfg).hexdigest() != info["config_digest"]:
    sys.exit("tarball.sh: %s does not match its info file (layers %s)" % (info["file"], got["Layers"]))
print("tarball.sh: %s: %d layers, %.1f MiB, gzip -1 %sx, image id %s" % (
    info["file"], len(info["diff_ids"]), info["file_size"] / 2**20, info.get("gzip1_ratio"), info["config_digest"]),
    file=sys.stderr)
PY
rss_args=()
if ((rss_check)); then
  say "RSS check tarball: $rss_size_mib MiB (generated once, cached in bench/out/)"
  $py lib/gen_image_tarball.py --cached out --size-mib "$rss_size_mib" > "$state/rss-image.json"
  rss_args=(--rss-image "$state/rss-image.json")
fi

# --- the registry + ECR endpoint, a private dockerd, and measuring ----------------------------
# stack.py exec brings them up, runs the measurement (in a private mount namespace: skopeo's
# blob-info cache is bind-mounted there) and stops them after it.
say "starting the registry and the ECR/STS endpoint (tests/support/stack.py exec --fast)"
echo '{"repository_uri_host": "registry"}' > "$state/endpoint.json"
stack_args=(--state-dir "$state/stack" --config "$state/endpoint.json" --fast)
((keep)) && stack_args+=(--keep)
dockerd_args=()
if has docker || ((assetctl_docker)); then
  say "starting a private dockerd"
  stack_args+=(--dockerd-state-dir "$state/dockerd")
  dockerd_args=(--dockerd "$state/dockerd/dockerd.json")
fi

say "measuring: $tools; scenarios $scenarios; $runs runs each"
mkdir -p "$state/logs"
measure_extra=()
((assetctl_docker)) && measure_extra=(--assetctl-docker)
$py "$root/tests/support/stack.py" exec "${stack_args[@]}" -- \
  unshare --mount --propagation private \
  $py lib/tarball_measure.py --state "$state" --stack "$state/stack/stack.json" "${dockerd_args[@]}" \
    --image "$image_info" "${rss_args[@]}" --tools "$tools" --scenarios "$scenarios" --runs "$runs" \
    --assetctl "$assetctl" --assetctl-args="$assetctl_args" --asset-form "$asset_form" \
    --results "$state/results.json" "${measure_extra[@]}"
cp "$state/results.json" "out/tarball-results-$(date -u +%Y%m%dT%H%M%SZ).json"
