#!/usr/bin/env bash
# Installs every Debian package that building assetctl, its tests and the README demo need.
# Idempotent: when everything is present it only checks, and never touches apt.
# Run as root, or as a user with sudo.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config
  libcli11-dev nlohmann-json3-dev libcurl4-openssl-dev libssl-dev libspdlog-dev libfmt-dev
  libxml2-dev
  # image tarballs without an engine: libarchive reads them, libdeflate gzips layers
  libarchive-dev libdeflate-dev
  # tests and checks
  catch2 clang-format python3 python3-yaml
  # the sanitizer build and the fuzz targets: clang 14 with libFuzzer, ASan and UBSan runtimes
  clang-14 libclang-rt-14-dev
  # the generated shell completions and man page, used by the real shells and man
  zsh fish bash-completion man-db groff-base
  # integration tests: a real registry (TLS + htpasswd), the local ECR/STS endpoint verifying
  # SigV4 with botocore, and independent clients (AWS CLI, skopeo)
  docker-registry apache2-utils openssl python3-botocore awscli skopeo
  # a real container engine for build/publish tests and the demo (started privately by
  # tests/support/dockerd.py), and an offline base image made from busybox
  docker.io busybox-static iproute2
  # dockerBuildSsh tests: a private ssh-agent holding a generated key
  openssh-client
  # the second engine (CDK_DOCKER=podman) in a private environment (tests/support/podman.py);
  # it depends on conmon, runc and containers-common
  podman
  # package tests (tests/package): Debian 12 and 11 roots to install and run the packages in;
  # dpkg-shlibdeps (dpkg-dev) computes the .deb's Depends
  debootstrap dpkg-dev
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
