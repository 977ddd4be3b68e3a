#!/usr/bin/python3
"""Run the registry client's integration test binary against a real, private registry.

Starts Debian's docker-registry through tests/support/registry.py (TLS with a fresh self-signed
CA, htpasswd users), writes a tiny layer (a tar made with tarfile, and its gzip with mtime 0),
runs the test binary with everything it needs in ASSETCTL_TEST_REGISTRY_* variables, and stops
the registry whatever happens. Exit code 77 (CTest "Skipped") only when a prerequisite of this
script is missing; otherwise 0 when the binary passed and 1 for anything else, including a
binary that exits 77 (it skips only when started without the registry, which cannot happen here)
or dies of a signal.

    run_with_registry.py --support-dir tests/support -- build/.../registry_push_test [catch args]
"""

import argparse
import gzip
import io
import os
import secrets
import subprocess
import sys
import tarfile
import tempfile

SKIPPED = 77
PREREQUISITES = ["/usr/bin/docker-registry", "/usr/bin/htpasswd", "/usr/bin/openssl", "/usr/bin/skopeo"]


def layer_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        data = b"hello from the assetctl registry client test\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        info.mode = 0o644
        info.mtime = 0
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--support-dir", required=True, help="tests/support (registry.py)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- BINARY [ARGS...]")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no test binary given")

    missing = [path for path in PREREQUISITES if not os.access(path, os.X_OK)]
    if missing:
        print("registry integration test skipped: missing %s" % ", ".join(missing), flush=True)
        return SKIPPED

    sys.path.insert(0, args.support_dir)
    import registry as harness  # tests/support/registry.py

    with tempfile.TemporaryDirectory(prefix="assetctl-registry-test-") as work, harness.Registry() as reg:
        users = {"pusher": secrets.token_urlsafe(18), "revokee": secrets.token_urlsafe(18)}
        for user, password in users.items():
            reg.add_user(user, password)
        tar = layer_tar()
        with open(os.path.join(work, "layer.tar"), "wb") as handle:
            handle.write(tar)
        with open(os.path.join(work, "layer.tar.gz"), "wb") as handle:
            handle.write(gzip.compress(tar, compresslevel=6, mtime=0))
        env = dict(os.environ)
        env.update({
            "ASSETCTL_TEST_REGISTRY_HOST": reg.host,
            "ASSETCTL_TEST_REGISTRY_CA": reg.ca_cert,
            "ASSETCTL_TEST_REGISTRY_CERT_DIR": reg.cert_dir,
            "ASSETCTL_TEST_REGISTRY_HTPASSWD": reg.htpasswd,
            "ASSETCTL_TEST_REGISTRY_USER": "pusher",
            "ASSETCTL_TEST_REGISTRY_PASSWORD": users["pusher"],
            "ASSETCTL_TEST_REGISTRY_REVOKEE": "revokee",
            "ASSETCTL_TEST_REGISTRY_REVOKEE_PASSWORD": users["revokee"],
            "ASSETCTL_TEST_LAYER_TAR": os.path.join(work, "layer.tar"),
            "ASSETCTL_TEST_LAYER_GZIP": os.path.join(work, "layer.tar.gz"),
        })
        result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL)
        if result.returncode == 0:
            return 0
        print("registry integration test failed: %s exited %d" % (command[0], result.returncode), flush=True)
        print("--- registry log (last lines) ---\n" + reg.log_tail(40), flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
