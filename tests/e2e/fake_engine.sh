#!/bin/sh
# A container engine for tests/e2e/test_publish.py (passed with `assetctl publish --docker`):
# every command goes to the real docker client (/usr/bin/docker), except `push`, which writes
# its pid and the DOCKER_CONFIG it was given into $FAKE_ENGINE_STATE (each file written under a
# temporary name and renamed, so a reader never sees half of it) and then hangs, so the test can
# interrupt assetctl in the middle of a push.
set -eu
if [ "${1:-}" = push ]; then
    state=${FAKE_ENGINE_STATE:?FAKE_ENGINE_STATE is not set}
    printf '%s\n' "${DOCKER_CONFIG:-}" > "$state/docker-config.tmp"
    mv "$state/docker-config.tmp" "$state/docker-config"
    printf '%s\n' "$$" > "$state/push-pid.tmp"
    mv "$state/push-pid.tmp" "$state/push-pid"
    exec sleep 60
fi
exec /usr/bin/docker "$@"
