#!/bin/sh
# A container engine for tests/e2e/test_publish.py (passed with `assetctl publish --docker`):
# every command goes to the real docker client (/usr/bin/docker), except `push`, which writes
# its pid and the DOCKER_CONFIG it was given into $FAKE_ENGINE_STATE (each file written under a
# temporary name and renamed, so a reader never sees half of it) and runs $FAKE_ENGINE_PUSHER
# (partial_push.py) as its child: a real push that uploads blobs and then waits for the test
# before it tags the image, so the test can interrupt assetctl in the middle of a push and see
# that the push's whole process group was stopped (no tag).
set -eu
if [ "${1:-}" = push ]; then
    state=${FAKE_ENGINE_STATE:?FAKE_ENGINE_STATE is not set}
    printf '%s\n' "${DOCKER_CONFIG:-}" > "$state/docker-config.tmp"
    mv "$state/docker-config.tmp" "$state/docker-config"
    /usr/bin/python3 "${FAKE_ENGINE_PUSHER:?FAKE_ENGINE_PUSHER is not set}" "$2" "$state" &
    printf '%s\n' "$!" > "$state/pusher-pid.tmp"
    mv "$state/pusher-pid.tmp" "$state/pusher-pid"
    printf '%s\n' "$$" > "$state/push-pid.tmp"
    mv "$state/push-pid.tmp" "$state/push-pid"
    wait "$!"
    exit $?
fi
exec /usr/bin/docker "$@"
