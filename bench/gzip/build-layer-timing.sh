#!/bin/sh
# Builds bench/gzip/layer_timing.cpp (assetctl's own compress_layer and GzipLayerReader, timed)
# against the static libraries of a CMake build tree. Not part of the CMake project.
#   bench/gzip/build-layer-timing.sh [BUILD_DIR] [OUTPUT]
#     default BUILD_DIR build/dev (configured, `--target image_tests` or `assetctl` built),
#     default OUTPUT build/layer-timing (ignored by git)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-"$root/build/dev"}
out=${2:-"$root/build/layer-timing"}
lib="$build/lib"
for module in image registry http crypto util; do
  [ -f "$lib/$module/libassetctl_$module.a" ] ||
    { echo "build-layer-timing.sh: $lib/$module/libassetctl_$module.a missing (build $build first)" >&2; exit 1; }
done
mkdir -p "$(dirname "$out")"
g++ -std=c++20 -O2 -Wall -Wextra -I"$root/lib" -o "$out" "$here/layer_timing.cpp" \
  "$lib/image/libassetctl_image.a" "$lib/registry/libassetctl_registry.a" \
  "$lib/http/libassetctl_http.a" "$lib/crypto/libassetctl_crypto.a" \
  "$lib/util/libassetctl_util.a" \
  $(pkg-config --libs libdeflate libarchive libcurl libcrypto spdlog) -lfmt -pthread
echo "built $out"
