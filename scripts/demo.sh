#!/usr/bin/env bash
# The README's main command: install what is needed, build assetctl, and run it on the
# committed example cloud assembly (examples/cdk.out).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DASSETCTL_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)"

echo "==> assetctl ls --path examples/cdk.out"
build/release/apps/assetctl/assetctl ls --path examples/cdk.out
