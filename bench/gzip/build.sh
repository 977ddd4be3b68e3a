#!/bin/sh
# Builds the compressor comparison (bench/gzip/compare.cpp), which is not part of the CMake
# project. Needs the Debian packages zlib1g-dev, libdeflate-dev and libisal-dev.
#   bench/gzip/build.sh [OUTPUT]      default: build/gzip-compare (ignored by git)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/../../build/gzip-compare"}
mkdir -p "$(dirname "$out")"
g++ -std=c++20 -O2 -Wall -Wextra -o "$out" "$here/compare.cpp" -lisal -ldeflate -lz
echo "built $out"
