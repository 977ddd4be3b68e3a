#!/bin/sh
# Builds the compressor comparison (bench/gzip/compare.cpp), which is not part of the CMake
# project. Needs the Debian packages zlib1g-dev, libdeflate-dev and libisal-dev; installs the
# missing ones (libdeflate-dev is needed by nothing else) when run as root.
#   bench/gzip/build.sh [OUTPUT]      default: build/gzip-compare (ignored by git)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
missing=""
for package in zlib1g-dev libdeflate-dev libisal-dev; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $package"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "build.sh: install$missing first (apt-get install$missing)" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
out=${1:-"$here/../../build/gzip-compare"}
mkdir -p "$(dirname "$out")"
g++ -std=c++20 -O2 -Wall -Wextra -o "$out" "$here/compare.cpp" -lisal -ldeflate -lz
echo "built $out"
