#!/usr/bin/env bash
# Regenerate the committed CDK cloud assemblies used by the tests and the README demo:
#   tests/fixtures/cdk-app/cdk.out   (fixture app: every asset option, stages, tarball, ...)
#   tests/fixtures/publish-app/cdk.out (images that build offline, file assets; its large
#                                    file asset is generated, not committed)
#   examples/cdk.out                 (small two-region demo app)
#
# Usage: scripts/synth-fixtures.sh [--check] [--no-install]
#   --check       synthesize into a temporary directory and diff against the committed
#                 output instead of replacing it; exit 1 if anything differs
#   --no-install  skip `npm ci` (reuse the existing node_modules/)
#
# Needs node + npm (aws-cdk-lib is pinned in each app's package.json/package-lock.json)
# and python3 (standard library only) for the tarball and large-file generators. No docker, no CDK CLI.
# The output is deterministic: running this twice gives byte-identical trees.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APPS=(tests/fixtures/cdk-app tests/fixtures/publish-app examples)

check=0
install=1
for arg in "$@"; do
  case $arg in
    --check) check=1 ;;
    --no-install) install=0 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "synth-fixtures.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

for tool in node npm python3; do
  command -v "$tool" >/dev/null || { echo "synth-fixtures.sh: '$tool' not found" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Make the output independent of who/where/when runs the app.
export CDK_DISABLE_VERSION_CHECK=1 TZ=UTC LC_ALL=C
unset CDK_DEBUG CDK_CONTEXT_JSON CDK_DEFAULT_ACCOUNT CDK_DEFAULT_REGION CDK_DOCKER || true

status=0
for app in "${APPS[@]}"; do
  dir=$ROOT/$app
  echo "==> $app"

  if (( install )); then
    if [[ -f $dir/package-lock.json ]]; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    else
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    fi
  fi

  # Deterministic docker-save tarball for the TarballImageAsset (fixture app only).
  if [[ -f $dir/make-tarball.py ]]; then
    tarball=$dir/tarball/fixture-image.tar
    if (( check )); then
      python3 "$dir/make-tarball.py" "$tmp/fixture-image.tar" >/dev/null
      if ! cmp -s "$tmp/fixture-image.tar" "$tarball"; then
        echo "DIFF: $app/tarball/fixture-image.tar is stale" >&2
        status=1
      fi
    else
      python3 "$dir/make-tarball.py" "$tarball"
    fi
  fi

  if (( check )); then
    out=$tmp/$(basename "$app").cdk.out
  else
    out=$dir/cdk.out
  fi
  rm -rf "$out"
  (cd "$dir" && CDK_OUTDIR=$out node app.js)

  # Guard against non-portable output (absolute paths of this checkout or of the
  # temporary directory, e.g. from stack traces in *.metadata.json).
  if grep -rIl -e "$ROOT" -e "$tmp" "$out" >&2; then
    echo "synth-fixtures.sh: absolute paths leaked into $app output (files above)" >&2
    status=1
  fi

  if (( check )); then
    # Generated, never committed (.gitignore): the publish-app's large file asset
    # (make-large-file.py); the manifests that name it, with its hash, are compared.
    if ! diff -r --exclude='asset.*.bin' "$dir/cdk.out" "$out"; then
      echo "DIFF: $app/cdk.out is stale; run scripts/synth-fixtures.sh" >&2
      status=1
    fi
  else
    echo "    wrote $app/cdk.out ($(du -sk "$out" | cut -f1) KiB)"
  fi
done

if (( check && status == 0 )); then
  echo "fixtures are up to date"
fi
exit "$status"
