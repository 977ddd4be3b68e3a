#!/usr/bin/env bash
# Builds assetctl's packages into DIR (default build/packages):
#   assetctl_<version>_amd64.deb            Debian 12, through CPack (cmake/Packaging.cmake)
#   assetctl-<version>-linux-x86_64.tar.gz  self-contained: glibc's loader, libc and every other
#                                           library bundled, runs on any x86-64 Linux (below)
#   packaging/ image context                docker build DIR/image (packaging/Dockerfile)
# A Release build with the tests off, in build/package; both packages come from the same
# `cmake --install`, so they hold whatever it installs (docs, man page, completions).
#
# usage: scripts/package.sh [--out DIR] [--build-dir DIR --skip-build]
#   --build-dir DIR --skip-build  package an existing configured and built tree instead (the
#                                 package tests package the build under test this way)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/build/packages
build=$root/build/package
skip_build=0
while (($#)); do
  case $1 in
    --out) out=$(realpath -m "$2"); shift 2 ;;
    --build-dir) build=$(realpath -m "$2"); shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "package.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

arch_triplet=x86_64
loader=ld-linux-x86-64.so.2
arch=$(dpkg --print-architecture)
[[ $(uname -m) == "$arch_triplet" ]] || { echo "package.sh: only x86_64 is packaged (this is $(uname -m))" >&2; exit 1; }

configure_and_build() {
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DASSETCTL_BUILD_TESTS=OFF \
    ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
  cmake --build "$build" -j "$(nproc)"
}

version() {
  sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt"
}

make_deb() {
  rm -rf "$build/cpack"
  (cd "$build" && cpack -G DEB -B "$build/cpack" >/dev/null)
  local deb
  deb=$(ls "$build"/cpack/assetctl_*.deb)
  cp "$deb" "$out/"
  echo "package.sh: $out/${deb##*/}"
}

# Every shared library the program needs (ldd: resolved paths), the loader included.
needed_libraries() {
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*\/ld-linux/ { print $1 }'
}

# bin/assetctl becomes the wrapper (packaging/assetctl-wrapper.sh); the program moves to
# libexec/; lib/ gets the loader and each library under its soname (the links point at the
# wrapper, so cdk-assets and docker-credential-cdk-assets keep working).
make_tarball() {
  local name=assetctl-$1-linux-$arch_triplet
  local stage=$build/stage
  rm -rf "$stage"
  cmake --install "$build" --prefix "$stage/$name" --strip >/dev/null
  local top=$stage/$name
  mkdir -p "$top/libexec" "$top/lib"
  mv "$top/bin/assetctl" "$top/libexec/assetctl"
  install -m 0755 packaging/assetctl-wrapper.sh "$top/bin/assetctl"
  local library
  for library in $(needed_libraries "$top/libexec/assetctl"); do
    if [[ $library == */$loader ]]; then
      install -m 0755 "$(realpath "$library")" "$top/lib/$loader"
    else
      install -m 0644 "$(realpath "$library")" "$top/lib/${library##*/}"
    fi
  done
  record_bundled_packages "$top"
  check_bundle "$top"
  local tarball=$out/$name.tar.gz
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@"$(git log -1 --format=%ct)" \
    -C "$stage" -cf - "$name" | gzip -n -6 >"$tarball"
  echo "package.sh: $tarball"
}

# Which Debian package (and version) each bundled library comes from, in lib/PACKAGES, and
# those packages' copyright files (their licences) in share/doc/assetctl/third-party/.
record_bundled_packages() {
  local top=$1 file owner package licences=$1/share/doc/assetctl/third-party
  mkdir -p "$licences"
  : >"$top/lib/PACKAGES"
  for file in "$top"/lib/*.so*; do
    owner=$(dpkg -S "*/${file##*/}" 2>/dev/null | grep -m 1 ":$arch: .*/${file##*/}\$" | cut -d: -f1,2)
    package=${owner%%:*}
    printf '%s\t%s\t%s\n' "${file##*/}" "$owner" \
      "$(dpkg-query -W -f='${Version}' "$owner" 2>/dev/null)" >>"$top/lib/PACKAGES"
    [[ -f /usr/share/doc/$package/copyright ]] &&
      cp "/usr/share/doc/$package/copyright" "$licences/$package.copyright"
  done
}

# The bundle must be complete: the bundled loader, told only about lib/, resolves every library
# from lib/ (a missing one would silently come from the host).
check_bundle() {
  local top=$1 line bad=0
  while read -r line; do
    case $line in
      *"=> $top/lib/"*|"$top/lib/"*|linux-vdso*) ;;
      *) echo "package.sh: not from the bundle: $line" >&2; bad=1 ;;
    esac
  done < <("$top/lib/$loader" --library-path "$top/lib" --list "$top/libexec/assetctl")
  ((bad == 0)) || exit 1
  "$top/bin/assetctl" --version >/dev/null
}

# The image's build context: the tarball's tree, the Dockerfile and the build host's CA bundle
# (Mozilla's, from Debian's ca-certificates) for bases that have none.
make_image_context() {
  local name=assetctl-$1-linux-$arch_triplet context=$out/image
  rm -rf "$context"
  mkdir -p "$context"
  cp -a "$build/stage/$name" "$context/assetctl"
  cp packaging/Dockerfile "$context/Dockerfile"
  cp -L /etc/ssl/certs/ca-certificates.crt "$context/ca-certificates.crt"
  echo "package.sh: $context (docker build -t assetctl:$1 $context)"
}

mkdir -p "$out"
((skip_build)) || configure_and_build
v=$(version)
echo "$v" >"$out/VERSION"
make_deb
make_tarball "$v"
make_image_context "$v"
