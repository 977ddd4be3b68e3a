"""End-to-end: the DockerImageAsset build options on a real engine, each proven by its effect.

The engine is docker 20.10 (Debian docker.io: BuildKit inside dockerd, no buildx) through the
private dockerd and the stack of test_publish.py (the local ECR/STS endpoint verifying SigV4 with
botocore, a TLS registry with htpasswd auth). Each test writes a small assembly whose Dockerfile
records what the option changed into files of the image (the agent's key fingerprint, a secret's
digest, what a loopback server answered, a random stamp a cached step keeps); the test reads the
pushed image back with skopeo, and the engine calls from a recording wrapper around
/usr/bin/docker (tests/e2e/recording_engine.py), never from log text.

Options this engine cannot honour (cacheTo, dockerBuildContexts, outputs other than local and
tar) fail their asset before any build, naming the option and the engine; the other assets of
the run are published. test_publish.py covers build args with spaces and `=`, target,
dockerFile, secrets in the `src=` form, networkMode host and cacheDisabled.
"""
import hashlib
import http.server
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import threading
import unittest
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from assetctl_run import ASSETS_FAILED, BIN, OK, REGION, Run, main, missing_path, skip, wait_for  # noqa: E402
from test_publish import DOCKER, RUN_TIMEOUT, PublishCase, repository  # noqa: E402  (skips without root/docker)
import registry as registry_support  # noqa: E402  (tests/support, on the path test_publish set)

RECORDING_ENGINE = HERE / "recording_engine.py"
REGISTRY_BIN = registry_support.REGISTRY_BIN
SSH_AGENT, SSH_ADD, SSH_KEYGEN = "/usr/bin/ssh-agent", "/usr/bin/ssh-add", "/usr/bin/ssh-keygen"
if missing_path((SSH_AGENT, SSH_ADD, SSH_KEYGEN)):
    skip(missing_path((SSH_AGENT, SSH_ADD, SSH_KEYGEN)))


def shared_libraries(executable):
    """The files `ldd` says the executable loads (the loader included), symlinks resolved."""
    out = subprocess.run(["ldd", executable], capture_output=True, text=True, check=True).stdout
    paths = []
    for line in out.splitlines():
        words = line.split()
        path = words[2] if len(words) > 2 and words[1] == "=>" else words[0]
        if path.startswith("/"):
            paths.append(path)
    return paths


def copy_into_root(root, paths):
    """Copies each absolute path to the same path under root (the file a symlink names)."""
    for path in paths:
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.realpath(path), target)


class LoopbackServer:
    """An HTTP server on 127.0.0.1 answering every GET with `body` (networkMode tests)."""

    def __init__(self, body):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class DockerBuildOptions(PublishCase):
    """One private dockerd and stack for the class; every test its own assets and tags."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.wrapper = cls.dir / "recording_engine.py"
        shutil.copyfile(RECORDING_ENGINE, cls.wrapper)
        cls.wrapper.chmod(0o755)
        cls.runs = 0
        cls.start_ssh_agent()

    @classmethod
    def start_ssh_agent(cls):
        """A private ssh-agent (foreground, our pid) holding a fresh ed25519 key."""
        ssh = cls.dir / "ssh"
        ssh.mkdir(mode=0o700)
        cls.ssh_key = ssh / "id_ed25519"
        subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "assetctl-e2e", "-f",
                        str(cls.ssh_key)], check=True, capture_output=True, timeout=30)
        cls.ssh_fingerprint = subprocess.run([SSH_KEYGEN, "-l", "-f", str(cls.ssh_key) + ".pub"],
                                             check=True, capture_output=True, text=True).stdout.split()[1]
        cls.agent_socket = ssh / "agent.sock"
        cls.agent = subprocess.Popen([SSH_AGENT, "-D", "-a", str(cls.agent_socket)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.addClassCleanup(cls.stop_ssh_agent)
        wait_for(cls.agent_socket.exists, 10, "the ssh-agent socket")
        subprocess.run([SSH_ADD, "-q", str(cls.ssh_key)], check=True, capture_output=True, timeout=30,
                       env={"SSH_AUTH_SOCK": str(cls.agent_socket), "PATH": "/usr/bin:/bin"})

    @classmethod
    def stop_ssh_agent(cls):
        cls.agent.terminate()
        cls.agent.wait(timeout=10)

    # --- running -------------------------------------------------------------------------------

    def run_assetctl(self, command, path, *args, env_extra=None, env_drop=()):
        """-> (Run, [engine calls]) of `assetctl <command> --json --path path`, with the
        recording engine; publish pushes natively (the default)."""
        type(self).runs += 1
        engine_log = self.dir / ("engine-calls-%d.jsonl" % self.runs)
        engine_log.touch()
        env = self.env(RECORDING_ENGINE_REAL=DOCKER, RECORDING_ENGINE_LOG=str(engine_log),
                       **(env_extra or {}))
        for name in ("SSH_AUTH_SOCK", *env_drop):
            if name not in (env_extra or {}):
                env.pop(name, None)
        proc = subprocess.run([BIN, command, "--json", "--docker", str(self.wrapper), *args, "--path", str(path)],
                              capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT)
        calls = [json.loads(line) for line in engine_log.read_text().splitlines() if line.strip()]
        return Run(proc.returncode, proc.stdout, proc.stderr, self), calls

    @staticmethod
    def builds(calls):
        return [c["argv"] for c in calls if c["argv"][:1] == ["build"]]

    # --- assemblies ----------------------------------------------------------------------------

    def options_assembly(self, assets):
        """assets: [(asset id, {relative path: text}, {source option: value})], each published
        to the stack's repository under a fresh tag. Returns (*.assets.json path, {asset id:
        tag})."""
        root = Path(self.dir / self.fresh("assembly"))
        root.mkdir()
        images, tags = {}, {}
        for asset_id, files, options in assets:
            directory = root / ("asset." + asset_id)
            for relative, text in files.items():
                (directory / relative).parent.mkdir(parents=True, exist_ok=True)
                (directory / relative).write_text(text)
            tags[asset_id] = self.fresh("tag")
            images[asset_id] = {"source": {"directory": directory.name, **options},
                                "destinations": {"d": self.destination(tags[asset_id])}}
        path = root / "Test.assets.json"
        path.write_text(json.dumps({"version": "55.0.0", "dockerImages": images}, indent=1))
        return path, tags

    def published_files(self, run, asset_id):
        outcome = run.outcome(asset_id)
        self.assertEqual(outcome["state"], "published", run.describe())
        return self.remote_files(outcome["imageUri"])

    # --- dockerBuildSsh ------------------------------------------------------------------------

    def ssh_context(self):
        """A build context whose probe stage has ssh-add (and its libraries) over busybox and
        writes what the forwarded agent holds into /agent-keys.txt; `mount` is the RUN's
        --mount=type=ssh options."""
        def files(mount):
            return {"Dockerfile": ("FROM local/busybox:latest AS probe\n"
                                   "COPY sshroot/ /\n"
                                   "RUN --mount=type=ssh%s ssh-add -l > /agent-keys.txt\n"
                                   "FROM scratch\n"
                                   "COPY --from=probe /agent-keys.txt /\n") % mount}
        return files

    def add_ssh_root(self, assembly, asset_id):
        copy_into_root(assembly.parent / ("asset." + asset_id) / "sshroot", [SSH_ADD, *shared_libraries(SSH_ADD)])

    def test_ssh_default_reaches_the_users_agent(self):
        asset = self.fresh("ssh-default")
        path, _ = self.options_assembly([(asset, self.ssh_context()(""), {"dockerBuildSsh": "default"})])
        self.add_ssh_root(path, asset)
        run, _ = self.run_assetctl("publish", path, env_extra={"SSH_AUTH_SOCK": str(self.agent_socket)})
        self.assertEqual(run.code, OK, run.describe())
        keys = self.published_files(run, asset)["/agent-keys.txt"].decode()
        self.assertIn(self.ssh_fingerprint, keys)

    def test_ssh_named_agent_socket_and_key_file(self):
        by_socket, by_key = self.fresh("ssh-socket"), self.fresh("ssh-key")
        path, _ = self.options_assembly([
            (by_socket, self.ssh_context()(",id=deploy"), {"dockerBuildSsh": "deploy=%s" % self.agent_socket}),
            (by_key, self.ssh_context()(",id=keyfile"), {"dockerBuildSsh": "keyfile=%s" % self.ssh_key}),
        ])
        self.add_ssh_root(path, by_socket)
        self.add_ssh_root(path, by_key)
        run, _ = self.run_assetctl("publish", path)  # no SSH_AUTH_SOCK: only the option names one
        self.assertEqual(run.code, OK, run.describe())
        for asset in (by_socket, by_key):
            self.assertIn(self.ssh_fingerprint, self.published_files(run, asset)["/agent-keys.txt"].decode(), asset)

    # --- dockerBuildSecrets, env= form ---------------------------------------------------------

    def test_secret_from_environment_variable(self):
        asset = self.fresh("secret-env")
        secret = "env-secret-" + secrets.token_hex(12)
        dockerfile = ("FROM local/busybox:latest AS probe\n"
                      "RUN --mount=type=secret,id=TOKEN sha256sum /run/secrets/TOKEN | cut -d' ' -f1 > /digest.txt\n"
                      "FROM scratch\nCOPY --from=probe /digest.txt /\n")
        path, _ = self.options_assembly([(asset, {"Dockerfile": dockerfile},
                                          {"dockerBuildSecrets": {"TOKEN": "env=ASSETCTL_E2E_TOKEN"}})])
        run, calls = self.run_assetctl("publish", path, env_extra={"ASSETCTL_E2E_TOKEN": secret})
        self.assertEqual(run.code, OK, run.describe())
        files = self.published_files(run, asset)
        self.assertEqual(files["/digest.txt"].decode().strip(), hashlib.sha256(secret.encode()).hexdigest())
        for name, content in files.items():
            self.assertNotIn(secret.encode(), content, name)
        self.assertNotIn(secret, run.out + run.err)
        self.assertNotIn(secret, json.dumps([c["argv"] for c in calls]))  # the engine's argv

    # --- networkMode ---------------------------------------------------------------------------

    def test_network_none_fails_a_step_that_host_lets_through(self):
        body = ("answer-" + secrets.token_hex(6) + "\n").encode()
        server = LoopbackServer(body)
        self.addCleanup(server.stop)
        dockerfile = ("FROM local/busybox:latest AS probe\n"
                      "RUN printf 'GET /probe HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 %d > /fetched.txt\n"
                      "FROM scratch\nCOPY --from=probe /fetched.txt /\n") % server.port
        host, none, default = self.fresh("net-host"), self.fresh("net-none"), self.fresh("net-default")
        path, _ = self.options_assembly([(host, {"Dockerfile": dockerfile}, {"networkMode": "host"}),
                                         (none, {"Dockerfile": dockerfile}, {"networkMode": "none"}),
                                         (default, {"Dockerfile": dockerfile}, {})])
        run, calls = self.run_assetctl("publish", path)
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        self.assertTrue(self.published_files(run, host)["/fetched.txt"].endswith(body))
        # Without the host's network the loopback server is out of reach: with none, and with
        # the default bridge (so `host` really was what let the step through).
        self.assertEqual(run.outcome(none)["state"], "failed", run.describe())
        self.assertEqual(run.outcome(default)["state"], "failed", run.describe())
        self.assertIn(["--network", "none"], [argv[i:i + 2] for argv in self.builds(calls) for i in range(len(argv))])

    # --- platform ------------------------------------------------------------------------------

    def test_platform_arm64_image_from_scratch(self):
        arm, plain = self.fresh("arm64"), self.fresh("native-arch")
        files = {"Dockerfile": "FROM scratch\nCOPY payload.txt /\n", "payload.txt": "arch probe\n"}
        path, _ = self.options_assembly([(arm, files, {"platform": "linux/arm64"}), (plain, files, {})])
        run, _ = self.run_assetctl("publish", path)
        self.assertEqual(run.code, OK, run.describe())
        architectures = {asset: json.loads(self.published_files(run, asset)["<config>"])["architecture"]
                         for asset in (arm, plain)}
        self.assertEqual(architectures, {arm: "arm64", plain: "amd64"})

    # --- dockerOutputs -------------------------------------------------------------------------

    def test_outputs_local_and_tar_written_by_build(self):
        local, tar = self.fresh("out-local"), self.fresh("out-tar")
        files = {"Dockerfile": "FROM scratch\nCOPY payload.txt /\n", "payload.txt": "exported payload\n"}
        local_dest, tar_dest = self.dir / self.fresh("local-out"), self.dir / (self.fresh("tar-out") + ".tar")
        path, _ = self.options_assembly([
            (local, files, {"dockerOutputs": ["type=local,dest=%s" % local_dest]}),
            (tar, files, {"dockerOutputs": ["type=tar,dest=%s" % tar_dest]}),
        ])
        run, _ = self.run_assetctl("build", path)
        self.assertEqual(run.code, OK, run.describe())
        self.assertEqual((local_dest / "payload.txt").read_text(), "exported payload\n")
        with tarfile.open(tar_dest) as archive:
            self.assertEqual(archive.extractfile("payload.txt").read(), b"exported payload\n")

    def test_publish_of_an_output_only_build_fails_that_asset(self):
        exported, good = self.fresh("out-only"), self.fresh("good")
        files = {"Dockerfile": "FROM scratch\nCOPY payload.txt /\n", "payload.txt": "x\n"}
        dest = self.dir / self.fresh("local-out")
        path, tags = self.options_assembly([(exported, files, {"dockerOutputs": ["type=local,dest=%s" % dest]}),
                                            (good, files, {})])
        run, _ = self.run_assetctl("publish", path)
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        outcome = run.outcome(exported)
        self.assertEqual(outcome["state"], "failed")
        self.assertIn("dockerOutputs", outcome["error"])
        self.assertTrue((dest / "payload.txt").is_file())  # the build ran and exported
        host = urlsplit(self.registry["url"]).netloc
        self.assertFalse(self.remote_exists("%s/%s:%s" % (host, repository(REGION), tags[exported])))
        self.assertEqual(run.outcome(good)["state"], "published")

    # --- what docker 20.10 cannot do -----------------------------------------------------------

    def test_options_the_engine_lacks_fail_their_asset_before_any_build(self):
        files = {"Dockerfile": "FROM scratch\nCOPY payload.txt /\n", "payload.txt": "y\n"}
        oci, cache_to, contexts, good = (self.fresh(p) for p in ("out-oci", "cache-to", "contexts", "good"))
        path, _ = self.options_assembly([
            (oci, files, {"dockerOutputs": ["type=oci,dest=%s" % (self.dir / "x.tar")]}),
            (cache_to, files, {"cacheTo": {"type": "local", "params": {"dest": str(self.dir / "cache")}}}),
            (contexts, files, {"dockerBuildContexts": {"extra": str(self.dir)}}),
            (good, files, {}),
        ])
        run, calls = self.run_assetctl("publish", path)
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        for asset, option in ((oci, "dockerOutputs"), (cache_to, "cacheTo"), (contexts, "dockerBuildContexts")):
            outcome = run.outcome(asset)
            self.assertEqual(outcome["state"], "failed", asset)
            self.assertIn(option, outcome["error"])
            self.assertIn("docker 20.10", outcome["error"])
        self.assertEqual(run.outcome(good)["state"], "published")
        built = [argv[argv.index("--tag") + 1] for argv in self.builds(calls)]
        self.assertEqual(built, ["cdkasset-" + good.lower()])

    # --- cacheFrom -----------------------------------------------------------------------------

    def test_cache_from_a_registry_image_reuses_its_steps(self):
        """A (built by the test with inline cache metadata) writes a random stamp and is pushed
        to a plain-HTTP registry; after the daemon forgets it (image and build cache), asset B
        (same Dockerfile and context) with cacheFrom A's reference gets A's stamp; asset C
        without cacheFrom gets a new one. The registry is plain HTTP because BuildKit reaches
        registries on 127.0.0.1 over plain HTTP only (containerd's MatchLocalhost), so the TLS
        registry of the stack cannot serve a cache to docker 20.10."""
        registry = PlainRegistry(self.dir / "plain-registry")
        self.addCleanup(registry.stop)
        files = {"Dockerfile": "FROM local/busybox:latest\nRUN cat /proc/sys/kernel/random/uuid > /stamp.txt\n"}
        source = "%s/cache/source:%s" % (registry.host, self.fresh("v"))
        context = self.dir / self.fresh("cache-context")
        context.mkdir()
        (context / "Dockerfile").write_text(files["Dockerfile"])
        self.docker("build", "--build-arg", "BUILDKIT_INLINE_CACHE=1", "--tag", source, str(context))
        stamp = self.file_of_local_image(source, "stamp.txt")
        self.docker("push", source)
        self.forget_local_builds(source)

        cached, control = self.fresh("cache-user"), self.fresh("cache-control")
        path, _ = self.options_assembly([(cached, files, {"cacheFrom": [{"type": "registry", "params": {"ref": source}}]})])
        run, calls = self.run_assetctl("publish", path)
        self.assertEqual(run.code, OK, run.describe())
        (argv,) = self.builds(calls)
        self.assertEqual(argv[argv.index("--cache-from") + 1], source)  # the bare reference
        self.assertEqual(self.published_files(run, cached)["/stamp.txt"], stamp)

        self.forget_local_builds()
        path, _ = self.options_assembly([(control, files, {})])
        run, _ = self.run_assetctl("publish", path)
        self.assertEqual(run.code, OK, run.describe())
        self.assertNotEqual(self.published_files(run, control)["/stamp.txt"], stamp)

    def file_of_local_image(self, image, name):
        container = self.docker("create", image, "/bin/true").stdout.strip()
        try:
            archive = self.daemon.docker("cp", "%s:/%s" % (container, name), "-", text=False,
                                         env=self.daemon.env(docker_config=str(self.dir / "test-docker"))).stdout
        finally:
            self.docker("rm", container)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            return tar.extractfile(name).read()

    def forget_local_builds(self, *images):
        """The images, every cdkasset-* image and the whole build cache removed from the daemon."""
        tags = [t for t in self.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
                if t.startswith("cdkasset-")]
        if tags or images:
            self.docker("rmi", "--force", *images, *tags)
        self.docker("builder", "prune", "--all", "--force")


class PlainRegistry:
    """docker-registry on 127.0.0.1 over plain HTTP without auth (our pid, stopped by it)."""

    def __init__(self, directory):
        directory.mkdir()
        port = registry_support.free_port()
        self.host = "127.0.0.1:%d" % port
        config = directory / "config.yml"
        config.write_text("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n"
                          "http:\n  addr: %s\n" % (directory / "data", self.host))
        self.log = open(directory / "registry.log", "wb")
        self.process = subprocess.Popen([REGISTRY_BIN, "serve", str(config)], stdout=self.log,
                                        stderr=subprocess.STDOUT)
        wait_for(self.answers, 30, "the plain registry at " + self.host)

    def answers(self):
        if self.process.poll() is not None:
            raise AssertionError("docker-registry exited %s" % self.process.returncode)
        try:
            with urllib.request.urlopen("http://%s/v2/" % self.host, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


if __name__ == "__main__":
    main()
