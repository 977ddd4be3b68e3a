#!/bin/sh
# bin/assetctl of the self-contained tarball (scripts/package.sh). The real program is
# libexec/assetctl; it runs under the glibc loader bundled in lib/ with every library it needs,
# glibc included, from lib/, so the host's glibc (2.31 on Debian 11, 2.34 on Amazon Linux 2023)
# and libraries never matter. The loader's --library-path holds for this process only: unlike
# LD_LIBRARY_PATH it is not inherited by docker, podman or any command assetctl starts.
# --argv0 keeps the name it was started as (cdk-assets and docker-credential-cdk-assets are links
# to this script and select their modes by it); ASSETCTL_EXECUTABLE tells assetctl its own
# program, since its /proc/self/exe is the loader.
self=$(readlink -f -- "$0") || exit 70
bin=${self%/*}
top=${bin%/*}
ASSETCTL_EXECUTABLE=$bin/assetctl
export ASSETCTL_EXECUTABLE
exec "$top/lib/ld-linux-x86-64.so.2" --library-path "$top/lib" --argv0 "$0" \
  "$top/libexec/assetctl" "$@"
