"""Tests of podman.py: a private podman (Debian 4.3) environment builds offline (busybox base with
a RUN step, FROM scratch + COPY), saves a docker archive that skopeo reads back with the same
config digest as `podman image inspect`, and leaves nothing behind; the machine's own podman
storage is not touched.

Run: /usr/bin/python3 -m unittest discover -s tests/support -p 'test_*.py'
Needs root and the Debian packages podman and busybox-static (skopeo for the archive check).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dockerd  # noqa: E402
import podman  # noqa: E402

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
PODMAN = None


def setUpModule():
    global PODMAN
    missing = [path for path in (podman.PODMAN_BIN, dockerd.BUSYBOX_BIN) if not os.path.exists(path)]
    if missing:
        raise unittest.SkipTest("missing %s (apt-get install podman busybox-static)" % ", ".join(missing))
    if os.geteuid() != 0:
        raise unittest.SkipTest("the private podman environment runs as root")
    PODMAN = podman.Podman(insecure_registries=["127.0.0.1:5999"])
    unittest.addModuleCleanup(PODMAN.stop)
    PODMAN.start()


def context(test, files):
    directory = tempfile.mkdtemp(prefix="acp-ctx-")
    test.addCleanup(shutil.rmtree, directory, True)
    for name, text in files.items():
        with open(os.path.join(directory, name), "w") as handle:
            handle.write(text)
    return directory


class PodmanTest(unittest.TestCase):
    def test_configuration_is_private(self):
        env = PODMAN.env(base={"PATH": "/usr/local/bin:/usr/bin", "DOCKER_HOST": "unix:///x",
                               "CONTAINERS_CONF": "/etc/elsewhere"})
        self.assertNotIn("DOCKER_HOST", env)
        for name in ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF"):
            self.assertTrue(env[name].startswith(PODMAN.state_dir + "/"), (name, env[name]))
        info = json.loads(PODMAN.podman("info", "--format", "json").stdout)
        self.assertEqual(info["store"]["graphDriverName"], "vfs")
        self.assertEqual(info["store"]["graphRoot"], PODMAN.graphroot)
        with open(env["CONTAINERS_REGISTRIES_CONF"]) as handle:
            self.assertIn('location = "127.0.0.1:5999"\ninsecure = true', handle.read())

    def test_busybox_import_is_idempotent_and_builds_with_run(self):
        first = PODMAN.import_busybox()
        self.assertRegex(first, r"^sha256:[0-9a-f]{64}$")
        self.assertEqual(PODMAN.import_busybox(), first)
        ctx = context(self, {"Dockerfile": "FROM local/busybox:latest\nRUN echo built-by-podman > /marker\n"})
        PODMAN.podman("build", "-t", "acp/run:1", ctx)
        out = PODMAN.podman("run", "--rm", "acp/run:1", "cat", "/marker").stdout
        self.assertEqual(out, "built-by-podman\n")

    @unittest.skipUnless(os.path.exists(SKOPEO), "skopeo not installed")
    def test_scratch_build_saved_as_docker_archive_keeps_the_image_id(self):
        ctx = context(self, {"Dockerfile": "FROM scratch\nCOPY payload.txt /payload.txt\n",
                             "payload.txt": "payload\n"})
        PODMAN.podman("build", "-t", "acp/scratch:1", ctx)
        image_id = PODMAN.image_id("acp/scratch:1")
        self.assertRegex(image_id, r"^sha256:[0-9a-f]{64}$")
        self.assertIsNone(PODMAN.image_id("acp/does-not-exist:1"))
        archive = os.path.join(tempfile.mkdtemp(prefix="acp-save-"), "image.tar")
        self.addCleanup(shutil.rmtree, os.path.dirname(archive), True)
        PODMAN.podman("save", "--format", "docker-archive", "-o", archive, "acp/scratch:1")
        raw = subprocess.run([SKOPEO, "inspect", "--raw", "docker-archive:" + archive], capture_output=True,
                             text=True, check=True, timeout=60).stdout
        self.assertEqual(json.loads(raw)["config"]["digest"], image_id)

    def test_stop_removes_everything(self):
        other = podman.Podman(insecure_registries=[]).start()
        other.import_busybox()
        state = other.state_dir
        self.assertTrue(other.podman("images", "--quiet").stdout.strip())
        self.assertIsNone(PODMAN.image_id("localhost/acp/only-in-other:1"))
        other.stop()
        self.assertFalse(os.path.exists(state))
        self.assertEqual(dockerd.mounts_under(state), [])


if __name__ == "__main__":
    unittest.main()
