"""Tests of dockerd.py: a real private dockerd (Debian docker.io 20.10) driven by /usr/bin/docker.

BuildKit builds (RUN, FROM scratch + COPY, --secret), save/load, a push to the real TLS
registry from registry.py checked independently with skopeo, two daemons at once, the CLI,
and that stopping leaves no process, bridge, mount or directory behind.

Run: /usr/bin/python3 -m unittest discover -s tests/support -p 'test_*.py'
Needs root and the Debian packages docker.io and busybox-static (skopeo, docker-registry and
apache2-utils for the push test).
"""

import concurrent.futures
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import dockerd  # noqa: E402
import registry  # noqa: E402

PYTHON = "/usr/bin/python3"
SCRIPT = os.path.join(HERE, "dockerd.py")
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"

DAEMON = None   # one shared daemon for the build/push tests (module fixture)


def setUpModule():
    global DAEMON
    missing = [path for path in (dockerd.DOCKERD_BIN, dockerd.DOCKER_CLIENT, dockerd.BUSYBOX_BIN)
               if not os.path.exists(path)]
    if missing:
        raise unittest.SkipTest("missing %s (apt-get install docker.io busybox-static)" % ", ".join(missing))
    if os.geteuid() != 0:
        raise unittest.SkipTest("a private dockerd needs root")
    DAEMON = dockerd.Dockerd()
    unittest.addModuleCleanup(DAEMON.stop)   # runs even if start() fails half-way
    DAEMON.start()
    DAEMON.import_busybox()


def write_context(files: dict) -> str:
    """A temp build context with the given {relative name: text} files (removed at cleanup)."""
    context = tempfile.mkdtemp(prefix="acd-ctx-")
    for name, text in files.items():
        with open(os.path.join(context, name), "w") as handle:
            handle.write(text)
    return context


def build(daemon, context: str, tag: str, *extra) -> str:
    """BuildKit build with /usr/bin/docker; returns the image ID from --iidfile."""
    iidfile = os.path.join(context, ".iid")
    daemon.docker("build", "--progress=plain", "--iidfile", iidfile, "-t", tag, *extra, context)
    with open(iidfile) as handle:
        return handle.read().strip()


def read_from_image(daemon, ref: str, path: str) -> bytes:
    """Contents of one file in an image, via `docker create` + `docker cp <cid>:path -` (no run)."""
    cid = daemon.docker("create", ref, "true").stdout.strip()
    try:
        archive = daemon.docker("cp", "%s:%s" % (cid, path), "-", text=False).stdout
    finally:
        daemon.docker("rm", cid)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return tar.extractfile(tar.getmembers()[0]).read()


def processes_mentioning(marker: str) -> list:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            argv = dockerd._cmdline(int(entry))
            if argv and marker in " ".join(argv) and registry.pid_alive(int(entry)):
                found.append((int(entry), argv))
    return found


class LeftoverChecks:
    def assertNothingLeft(self, info: dict) -> None:
        """No process, bridge, mount or directory of the daemon described by `info` remains."""
        self.assertFalse(registry.pid_alive(info["pid"]), "dockerd %s still runs" % info["pid"])
        if info.get("containerd_pid"):
            self.assertFalse(registry.pid_alive(info["containerd_pid"]), "containerd still runs")
        self.assertEqual([], processes_mentioning(info["run_dir"].rstrip("/") + "/"))
        self.assertFalse(dockerd.link_exists(info["bridge"]), "bridge %s remains" % info["bridge"])
        self.assertEqual([], dockerd.mounts_under(info["state_dir"], info["run_dir"]))
        self.assertFalse(os.path.exists(info["state_dir"]))
        self.assertFalse(os.path.exists(info["run_dir"]))


class ClientEnvTest(unittest.TestCase):
    def test_env_selects_the_2010_client_and_private_socket(self):
        env = DAEMON.env()
        self.assertEqual(dockerd.DOCKER_CLIENT, shutil.which("docker", path=env["PATH"]))
        self.assertEqual("1", env["DOCKER_BUILDKIT"])
        self.assertEqual("unix://" + DAEMON.socket, env["DOCKER_HOST"])
        self.assertLess(len(DAEMON.socket), 108)
        out = subprocess.run(["docker", "version", "--format", "{{.Client.Version}} {{.Server.Version}}"],
                             env=env, capture_output=True, text=True, check=True).stdout.split()
        self.assertTrue(out[0].startswith("20.10"), out)
        self.assertEqual(DAEMON.server_version, out[1])
        self.assertIn(DAEMON.storage_driver, ("overlay2", "vfs"))

    def test_client_path_order(self):
        self.assertEqual("/a:/usr/bin:/usr/local/bin:/b",
                         dockerd.client_path("/a:/usr/local/bin:/usr/bin:/b"))
        with tempfile.TemporaryDirectory() as shadow:   # an earlier dir with another `docker`
            fake = os.path.join(shadow, "docker")
            with open(fake, "w") as handle:
                handle.write("#!/bin/sh\n")
            os.chmod(fake, 0o755)
            path = dockerd.client_path(shadow + ":/usr/local/bin:/usr/bin")
            self.assertEqual(dockerd.DOCKER_CLIENT, shutil.which("docker", path=path))

    def test_busybox_tar_is_deterministic_and_import_idempotent(self):
        first, second = dockerd.busybox_rootfs_tar(), dockerd.busybox_rootfs_tar()
        self.assertEqual(first, second)
        with tarfile.open(fileobj=io.BytesIO(first)) as tar:
            names = tar.getnames()
            self.assertTrue(all(m.mtime == 0 and m.uid == 0 for m in tar.getmembers()))
        for applet in dockerd.BUSYBOX_APPLETS:
            self.assertIn("bin/" + applet, names)
        image = DAEMON.image_id(dockerd.BUSYBOX_IMAGE)
        self.assertEqual(image, DAEMON.import_busybox())


class BuildTest(unittest.TestCase):
    def setUp(self):
        self.context = None

    def tearDown(self):
        if self.context:
            shutil.rmtree(self.context, ignore_errors=True)

    def test_run_step_on_busybox(self):
        self.context = write_context({"Dockerfile": "FROM local/busybox:latest\nRUN echo hi > /x\n"})
        image = build(DAEMON, self.context, "acd/run:1")
        self.assertEqual(image, DAEMON.image_id("acd/run:1"))
        self.assertEqual(b"hi\n", read_from_image(DAEMON, "acd/run:1", "/x"))

    def test_from_scratch_copy_and_save_load_roundtrip(self):
        self.context = write_context({"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n",
                                      "hello.txt": "hello from scratch\n"})
        image = build(DAEMON, self.context, "acd/scratch:1")
        archive = os.path.join(self.context, "saved.tar")
        DAEMON.docker("save", "-o", archive, "acd/scratch:1")
        with tarfile.open(archive) as tar:   # legacy `docker save` layout
            manifest = json.load(tar.extractfile("manifest.json"))
            self.assertEqual(["acd/scratch:1"], manifest[0]["RepoTags"])
            self.assertEqual(1, len(manifest[0]["Layers"]))
            with tarfile.open(fileobj=tar.extractfile(manifest[0]["Layers"][0])) as layer:
                self.assertEqual(b"hello from scratch\n", layer.extractfile("hello.txt").read())
        DAEMON.docker("rmi", "acd/scratch:1")
        self.assertIsNone(DAEMON.image_id("acd/scratch:1"))
        loaded = DAEMON.docker("load", "-i", archive).stdout
        self.assertIn("Loaded image: acd/scratch:1", loaded)
        self.assertEqual(image, DAEMON.image_id("acd/scratch:1"))

    def test_secret_mount(self):
        self.context = write_context({
            "Dockerfile": "FROM local/busybox:latest\n"
                          "RUN --mount=type=secret,id=s cat /run/secrets/s > /copied\n"})
        secret = os.path.join(self.context, "secret.txt")
        with open(secret, "w") as handle:
            handle.write("s3cr3t-value")
        build(DAEMON, self.context, "acd/secret:1", "--secret", "id=s,src=" + secret)
        self.assertEqual(b"s3cr3t-value", read_from_image(DAEMON, "acd/secret:1", "/copied"))
        history = DAEMON.docker("history", "--no-trunc", "acd/secret:1").stdout
        self.assertNotIn("s3cr3t-value", history)

    @unittest.skipUnless(os.path.exists(SKOPEO) and os.path.exists(registry.REGISTRY_BIN),
                         "needs skopeo and docker-registry")
    def test_push_to_tls_registry_matches_skopeo(self):
        self.context = write_context({"Dockerfile": "FROM local/busybox:latest\nRUN echo pushed > /p\n"})
        image = build(DAEMON, self.context, "acd/push:1")
        config_dir = os.path.join(self.context, "docker-config")
        os.makedirs(config_dir)
        env = DAEMON.env(docker_config=config_dir)
        with registry.Registry() as reg:
            login = DAEMON.docker("login", "-u", reg.admin_user, "--password-stdin", reg.host,
                                  input=reg.admin_password + "\n", env=env)
            self.assertIn("Login Succeeded", login.stdout)
            with open(os.path.join(config_dir, "config.json")) as handle:
                self.assertIn(reg.host, json.load(handle)["auths"])
            ref = "%s/assetctl/dockerd-test:v1" % reg.host
            DAEMON.docker("tag", "acd/push:1", ref, env=env)
            DAEMON.docker("push", ref, env=env)
            skopeo = [SKOPEO, "inspect", "--cert-dir", reg.cert_dir,
                      "--creds", "%s:%s" % (reg.admin_user, reg.admin_password), "docker://" + ref]
            raw = json.loads(subprocess.run(skopeo[:2] + ["--raw"] + skopeo[2:], capture_output=True,
                                            text=True, check=True).stdout)
            self.assertEqual(image, raw["config"]["digest"])
            self.assertEqual(image, DAEMON.docker("inspect", "--format", "{{.Id}}", ref).stdout.strip())
            digest = json.loads(subprocess.run(skopeo, capture_output=True, text=True, check=True).stdout)["Digest"]
            repo_digests = json.loads(DAEMON.docker("inspect", "--format", "{{json .RepoDigests}}", ref).stdout)
            self.assertIn("%s/assetctl/dockerd-test@%s" % (reg.host, digest), repo_digests)


class IsolationTest(unittest.TestCase, LeftoverChecks):
    def test_two_daemons_at_once_and_clean_stop(self):
        second = dockerd.Dockerd()
        self.addCleanup(second.stop)
        second.start()   # from this (main) thread: the death signal follows the spawning thread
        second.import_busybox()
        info = second.describe()
        self.assertNotEqual(DAEMON.bridge, second.bridge)
        self.assertNotEqual(DAEMON.bridge_cidr, second.bridge_cidr)
        self.assertNotEqual(DAEMON.socket, second.socket)
        contexts = []
        self.addCleanup(lambda: [shutil.rmtree(c, ignore_errors=True) for c in contexts])

        def build_on(daemon, name):
            context = write_context({"Dockerfile": "FROM local/busybox:latest\nRUN echo %s > /who\n" % name})
            contexts.append(context)
            build(daemon, context, "acd/who:" + name, "--no-cache")
            return read_from_image(daemon, "acd/who:" + name, "/who")

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = list(pool.map(build_on, (DAEMON, second), ("first", "second")))
        self.assertEqual([b"first\n", b"second\n"], results)
        self.assertIsNone(DAEMON.image_id("acd/who:second"))   # separate image stores

        second.stop()
        self.assertNothingLeft(info)
        # The shared daemon still has its bridge and can still run RUN steps.
        self.assertTrue(dockerd.link_exists(DAEMON.bridge))
        self.assertEqual(b"after\n", build_on(DAEMON, "after"))


class CliTest(unittest.TestCase, LeftoverChecks):
    def test_up_down_with_long_state_dir(self):
        parent = tempfile.mkdtemp(prefix="acd-cli-")
        self.addCleanup(shutil.rmtree, parent, True)
        state = os.path.join(parent, "a-rather-long-directory-name-to-push-socket-paths-past-the-limit")
        self.addCleanup(lambda: os.path.exists(os.path.join(state, dockerd.STATE_FILE)) and subprocess.run(
            [PYTHON, SCRIPT, "down", "--state-dir", state], capture_output=True))
        up = subprocess.run([PYTHON, SCRIPT, "up", "--state-dir", state, "--import-busybox"],
                            capture_output=True, text=True, timeout=60)
        self.assertEqual(0, up.returncode, up.stderr)
        info = json.loads(up.stdout)
        with open(os.path.join(state, dockerd.STATE_FILE)) as handle:
            self.assertEqual(info, json.load(handle))
        self.assertNotEqual(state, info["run_dir"])          # sockets moved to a short dir
        self.assertLess(len(info["socket"]), 108)
        self.assertTrue(info["data_root"].startswith(state + "/"))
        self.assertEqual(dockerd.DOCKER_CLIENT, info["client"])
        env = dict(os.environ, **info["env"])
        # A container on the host network makes dockerd mount nsfs at exec-root/netns/default,
        # which it leaves behind on exit: `down` must unmount it.
        subprocess.run(["docker", "run", "--rm", "--network", "host", dockerd.BUSYBOX_IMAGE, "true"],
                       env=env, check=True, capture_output=True)
        self.assertIn(os.path.join(info["exec_root"], "netns", "default"),
                      dockerd.mounts_under(info["run_dir"]))
        down = subprocess.run([PYTHON, SCRIPT, "down", "--state-dir", state], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(0, down.returncode, down.stderr)
        report = json.loads(down.stdout)
        self.assertEqual(info["pid"], report["stopped"])
        self.assertTrue(report["bridge_removed"])
        self.assertIn(os.path.join(info["exec_root"], "netns", "default"), report["unmounted"])
        self.assertNothingLeft(info)

    def test_stop_cleans_up_after_sigkilled_daemon(self):
        daemon = dockerd.Dockerd()
        self.addCleanup(daemon.stop)
        daemon.start()
        info = daemon.describe()
        if daemon.storage_driver == "overlay2":   # overlay2 bind-mounts its data-root onto itself
            self.assertTrue(dockerd.mounts_under(daemon.state_dir))
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.process.wait(timeout=10)
        # start() recorded D/dockerd.json, so the CLI can clean up a daemon the API started.
        down = subprocess.run([PYTHON, SCRIPT, "down", "--state-dir", daemon.state_dir], capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(0, down.returncode, down.stderr)
        self.assertTrue(json.loads(down.stdout)["bridge_removed"])
        self.assertNothingLeft(info)
        daemon.stop()   # idempotent: nothing left to do


if __name__ == "__main__":
    unittest.main()
