"""End-to-end: daemonless publishing of image tarballs and OCI layouts (`assetctl publish`).

No docker daemon or client is involved: every run has CDK_DOCKER=/nonexistent/docker and
DOCKER_HOST=unix:///nonexistent.sock. The image sources are generated deterministically by
tests/support/image_tarballs.py (docker-save legacy and docker 25+, OCI layout and archive,
gzipped variants, hostile ones). The local ECR/STS endpoint (botocore-verified SigV4) hands
out tests/support/fault_proxy.py, a TLS proxy in front of the real htpasswd registry, as the
registry: the proxy injects faults, holds requests and logs every request as JSON.

What was published is checked independently with skopeo straight against the registry (not
through the proxy); what assetctl did is read from its `--json` summary and the proxy's log,
never from log text. Each test uses its own repository and its own image contents, so tests
do not see each other's blobs.
"""
import gzip
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from assetctl_run import (ASSETS_FAILED, BIN, INTERRUPTED, OK, REGION, Run, environment_without,  # noqa: E402
                          isolated_aws, main, missing_path, publishing_role_arn, skip, wait_for)

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"


def missing_prerequisite():
    return missing_path((SKOPEO, "/usr/bin/docker-registry", "/usr/bin/htpasswd", "/usr/bin/openssl"))


try:
    import botocore.session  # noqa: E402,F401  (the endpoint verifies signatures with it)
    import fault_proxy  # noqa: E402
    import image_tarballs as it  # noqa: E402
    from stack import ACCOUNT_A, Stack  # noqa: E402
except ImportError as error:  # botocore missing: the harness cannot run
    skip(error)
if missing_prerequisite():
    skip(missing_prerequisite())

RUN_TIMEOUT = 120
NO_DAEMON = {"CDK_DOCKER": "/nonexistent/docker", "DOCKER_HOST": "unix:///nonexistent.sock"}
KiB = 1 << 10
CDK_LOAD_SCRIPT = "docker load -i \"$1\" | tail -n 1 | sed \"s/Loaded image[^:]*: //g\""


def role_arn(region=REGION):
    return publishing_role_arn(ACCOUNT_A, region)


def cdk_source(file_name):
    """The source CDK writes for a TarballImageAsset."""
    return {"executable": ["sh", "-c", CDK_LOAD_SCRIPT, "cdk-tarball-image-asset", file_name]}


def directory_source(name):
    return {"directory": name}


STACK = None   # one stack for the module: tests use their own repositories and image contents


def setUpModule():
    global STACK
    STACK = Stack(extra_config={"repository_uri_host": "registry"}, fault_proxy=True)
    unittest.addModuleCleanup(STACK.stop)   # runs even if start() fails half-way
    STACK.start()


class TarballCase(unittest.TestCase):
    """The module's stack: registry, fault proxy in front of it, ECR/STS endpoint handing out
    the proxy as the registry."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="assetctl-e2e-tarball-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.dir = Path(cls.tmp.name)
        cls.info = STACK.info
        cls.url = cls.info["endpoint_url"]
        cls.registry = cls.info["registry"]
        cls.proxy_info = cls.info["registry_proxy"]
        cls.proxy = fault_proxy.FaultProxyClient(cls.proxy_info["control_url"])
        cls.tmpdir = cls.dir / "tmpdir"  # assetctl's TMPDIR
        cls.tmpdir.mkdir()

    def setUp(self):
        self.proxy.clear_rules()
        self.proxy.clear_log()
        self.addCleanup(self.proxy.clear_rules)   # lets any held request go on
        self.cache = Path(tempfile.mkdtemp(dir=self.dir, prefix="xdg-cache-"))
        self.seed = "%s-%s" % (self.id().rsplit(".", 1)[-1], secrets.token_hex(4))

    # --- running assetctl ---------------------------------------------------------------------

    def env(self, **extra):
        env = environment_without(("AWS_", "DOCKER_", "XDG_"), ("CDK_DOCKER", "TMPDIR"))
        env.update(self.info["env"])
        env.update(NO_DAEMON)
        env.update(isolated_aws(self.dir))
        env.update({
            # The registry (and the proxy, which uses the registry's certificate) is trusted
            # through the CA bundle option assetctl already has.
            "AWS_CA_BUNDLE": self.registry["ca_cert"],
            "XDG_CACHE_HOME": str(self.cache),
            "TMPDIR": str(self.tmpdir),
            "NO_COLOR": "1",
        })
        env.update(extra)
        return env

    def assetctl(self, *args, env=None):
        proc = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True,
                              env=env if env is not None else self.env(), timeout=RUN_TIMEOUT,
                              stdin=subprocess.DEVNULL)
        return Run(proc.returncode, proc.stdout, proc.stderr, test=self)

    def publish(self, path, *extra, env=None):
        return self.assetctl("publish", "--json", "--path", path, *extra, env=env)

    # --- endpoint -----------------------------------------------------------------------------

    def control(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()

    def fresh_repository(self, prefix="tarball"):
        name = "assetctl-e2e/%s-%s" % (prefix, secrets.token_hex(5))
        self.control("POST", "/__control/repositories", {"name": name, "account": ACCOUNT_A})
        return name

    # --- registry, straight (not through the proxy): skopeo and the API ---------------------

    def at_registry(self, uri):
        """The image URI assetctl reports (the proxy's host) rewritten to the registry itself."""
        host, rest = uri.split("/", 1)
        self.assertEqual(host, self.proxy_info["host"], uri)
        return "%s/%s" % (self.registry["host"], rest)

    def ref(self, repository, tag):
        return "%s/%s:%s" % (self.registry["host"], repository, tag)

    def skopeo(self, *args, check=True):
        creds = "%s:%s" % (self.registry["admin_user"], self.registry["admin_password"])
        if args[0] == "inspect":
            argv = [SKOPEO, *args[:-1], "--cert-dir", self.registry["cert_dir"], "--creds", creds, args[-1]]
        else:  # copy SRC DST
            argv = [SKOPEO, "--insecure-policy", *args[:-2], "--src-cert-dir", self.registry["cert_dir"],
                    "--src-creds", creds, *args[-2:]]
        result = subprocess.run(argv, capture_output=True, timeout=60, env=dict(os.environ, HOME=str(self.dir)))
        if check and result.returncode != 0:
            raise AssertionError("%s failed: %s" % (" ".join(argv[:3]), result.stderr.decode(errors="replace")))
        return result

    def remote_raw(self, ref):
        return self.skopeo("inspect", "--raw", "docker://" + ref).stdout

    def remote_config(self, ref):
        return self.skopeo("inspect", "--config", "--raw", "docker://" + ref).stdout

    def remote_exists(self, ref):
        return self.skopeo("inspect", "--raw", "docker://" + ref, check=False).returncode == 0

    def registry_get(self, path, method="GET", accept=None):
        context = ssl.create_default_context(cafile=self.registry["ca_cert"])
        token = b64encode(("%s:%s" % (self.registry["admin_user"], self.registry["admin_password"])).encode())
        headers = {"Authorization": "Basic " + token.decode()}
        if accept:
            headers["Accept"] = accept
        request = urllib.request.Request(self.registry["url"] + path, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def remote_tags(self, repository):
        status, body = self.registry_get("/v2/%s/tags/list" % repository)
        if status == 404:
            return []
        self.assertEqual(status, 200, body)
        return json.loads(body).get("tags") or []

    def verify_complete(self, ref, image):
        """Copies the pushed image out of the registry (skopeo verifies every blob digest on
        the way) and checks that every layer un-gzips to its diff_id and the config is ours."""
        target = Path(tempfile.mkdtemp(dir=self.dir, prefix="skopeo-"))
        self.skopeo("copy", "docker://" + ref, "dir:" + str(target))
        manifest = json.loads((target / "manifest.json").read_text())
        config = (target / it.hex_of(manifest["config"]["digest"])).read_bytes()
        self.assertEqual(config, image.config)
        self.assertEqual(len(manifest["layers"]), len(image.layers))
        for descriptor, diff_id in zip(manifest["layers"], image.diff_ids):
            data = (target / it.hex_of(descriptor["digest"])).read_bytes()
            self.assertEqual(it.sha256(data), descriptor["digest"])
            self.assertEqual(len(data), descriptor["size"])
            self.assertEqual(data[:2], b"\x1f\x8b", "layer not gzip-compressed")
            self.assertEqual(it.sha256(gzip.decompress(data)), diff_id)
        shutil.rmtree(target, ignore_errors=True)
        return manifest

    # --- temporary assemblies -----------------------------------------------------------------

    def destination(self, tag, repository):
        return {"repositoryName": repository, "imageTag": tag, "region": REGION, "assumeRoleArn": role_arn()}

    def new_assembly(self):
        return Path(tempfile.mkdtemp(dir=self.dir, prefix="assembly-"))

    @staticmethod
    def write_manifest(root, images):
        """images: [(asset id, source, {destination id: destination})]. Returns the path."""
        docker_images = {asset: {"source": source, "destinations": destinations}
                         for asset, source, destinations in images}
        path = Path(root) / "Test.assets.json"
        path.write_text(json.dumps({"version": "55.0.0", "dockerImages": docker_images}, indent=1))
        return path

    def image(self, name, sizes=(96 * KiB, 160 * KiB), tags=()):
        return it.sample_image("%s/%s" % (self.seed, name), sizes=sizes, repo_tags=tags)

    # --- assertions ---------------------------------------------------------------------------

    def assert_native_push(self, run, asset, image, uploaded=None, present=None, retried=False):
        """The asset was published natively; the registry has exactly our config and layers.
        When every blob was uploaded, bytesUploaded is the sum of their sizes (at least that
        with retried=True: a retried upload sends its bytes again). Returns (outcome, remote
        manifest)."""
        outcome = run.outcome(asset)
        self.assertEqual(outcome["state"], "published", run.describe())
        self.assertEqual(outcome.get("method"), "native", outcome)
        ref = self.at_registry(outcome["imageUri"])
        raw = self.remote_raw(ref)
        manifest = json.loads(raw)
        self.assertEqual(outcome.get("digest"), it.sha256(raw))
        self.assertEqual(manifest["config"]["digest"], image.config_digest)
        self.assertEqual(self.remote_config(ref), image.config)   # diff_ids unchanged, byte for byte
        self.assertEqual(len(manifest["layers"]), len(image.layers))
        blobs = outcome.get("blobs") or {}
        self.assertEqual(sum(blobs.get(k, 0) for k in ("uploaded", "mounted", "present")), len(image.layers) + 1,
                         outcome)
        if uploaded is not None:
            self.assertEqual(blobs.get("uploaded"), uploaded, outcome)
        if present is not None:
            self.assertEqual(blobs.get("present"), present, outcome)
        if blobs.get("uploaded") == len(image.layers) + 1:
            expected = manifest["config"]["size"] + sum(l["size"] for l in manifest["layers"])
            if retried:
                self.assertGreaterEqual(outcome.get("bytesUploaded") or 0, expected, outcome)
            else:
                self.assertEqual(outcome.get("bytesUploaded"), expected, outcome)
        return outcome, manifest

    def log(self):
        return self.proxy.log()

    def wait_log_settled(self):
        """The proxy log once every request in it is finished (handlers may still be sending
        their last answer when assetctl has already exited)."""
        def settled():
            log = self.log()
            return (log,) if all(e["done"] for e in log) else None   # a tuple: an empty log is settled too

        return wait_for(settled, 30, "the proxy's requests to finish")[0]


class Formats(TarballCase):
    """(a) every format publishes without a daemon, config digest and diff_ids unchanged."""

    def test_every_format_publishes_without_a_daemon(self):
        root = self.new_assembly()
        repository = self.fresh_repository("formats")
        cases = {}   # asset id -> (image, Written, source)

        def add(kind, written, source):
            asset = "%s-%s" % (kind, secrets.token_hex(4))
            cases[asset] = (written.image, written, source)

        add("legacy", it.write_docker_save_legacy(str(root / "legacy.tar"),
                                                  [self.image("legacy", sizes=(64 * KiB, 128 * KiB, 32 * KiB))]),
            directory_source("legacy.tar"))
        add("docker25", it.write_docker_save_25(str(root / "docker25.tar"), [self.image("d25", tags=["app:d25"])]),
            directory_source("docker25.tar"))
        add("docker25gz", it.write_docker_save_25(str(root / "docker25-links.tgz"), [self.image("d25gz")], gzip=True,
                                                  legacy_paths_in_manifest=True),
            directory_source("docker25-links.tgz"))
        add("ocilayout", it.write_oci_layout(str(root / "layout"), [self.image("layout")], names=["v1"]),
            directory_source("layout"))
        add("ociarchive", it.write_oci_archive(str(root / "oci.tar"), [self.image("ociarchive")], names=["v1"]),
            directory_source("oci.tar"))
        add("legacygz", it.write_docker_save_legacy(str(root / "legacy.tar.gz"), [self.image("legacygz")], gzip=True),
            directory_source("legacy.tar.gz"))
        cdk_file = "asset.%s.tar" % secrets.token_hex(8)
        add("cdk", it.write_docker_save_legacy(str(root / cdk_file), [self.image("cdk", tags=["cdk/app:latest"])]),
            cdk_source(cdk_file))
        path = self.write_manifest(root, [(asset, source, {"d": self.destination(asset, repository)})
                                          for asset, (_, _, source) in cases.items()])
        run = self.publish(path)
        self.assertEqual(run.code, OK, run.describe())
        self.assertEqual(set(run.states().values()), {"published"}, run.states())
        for asset, (image, written, _) in cases.items():
            with self.subTest(asset=asset, format=written.format):
                outcome, manifest = self.assert_native_push(run, asset, image, uploaded=len(image.layers) + 1)
                self.assertTrue(outcome["imageUri"].endswith("/%s:%s" % (repository, asset)), outcome)
                if written.format == "oci-layout":
                    # Already-compressed layers go as they are: the layout's manifest is kept.
                    self.assertEqual(outcome["digest"], written.manifest_digest())
                    self.assertEqual([l["digest"] for l in manifest["layers"]], [l.gz_digest for l in image.layers])
                self.verify_complete(self.at_registry(outcome["imageUri"]), image)
        log = self.wait_log_settled()
        self.assertEqual(len(fault_proxy.manifest_puts(log, repository)), len(cases))


class Reruns(TarballCase):
    """(b) publishing again uploads nothing."""

    def test_rerun_and_new_tag_upload_nothing_that_is_known(self):
        root = self.new_assembly()
        repository = self.fresh_repository("rerun")
        image = self.image("rerun", sizes=(64 * KiB, 128 * KiB, 96 * KiB))
        it.write_docker_save_legacy(str(root / "image.tar"), [image])
        asset = "rerun-" + secrets.token_hex(4)
        path = self.write_manifest(root, [(asset, directory_source("image.tar"),
                                           {"d": self.destination("first", repository)})])
        first = self.publish(path)
        self.assertEqual(first.code, OK, first.describe())
        first_outcome, _ = self.assert_native_push(first, asset, image, uploaded=len(image.layers) + 1)

        # The same tag again: ECR already has it.
        self.proxy.clear_log()
        again = self.publish(path)
        self.assertEqual(again.code, OK, again.describe())
        self.assertEqual(again.outcome(asset)["state"], "present", again.describe())
        log = self.wait_log_settled()
        self.assertEqual(fault_proxy.upload_starts(log), [])
        self.assertEqual(fault_proxy.manifest_puts(log), [])

        # A new tag for the same image with the layer cache: every blob is found, only the
        # manifest goes up.
        self.proxy.clear_log()
        tagged = self.write_manifest(self.new_assembly_with(root), [(asset, directory_source("image.tar"),
                                                                     {"d": self.destination("second", repository)})])
        run = self.publish(tagged)
        self.assertEqual(run.code, OK, run.describe())
        outcome, _ = self.assert_native_push(run, asset, image, uploaded=0, present=len(image.layers) + 1)
        self.assertEqual(outcome.get("bytesUploaded"), 0, outcome)
        self.assertEqual(outcome["digest"], first_outcome["digest"])
        log = self.wait_log_settled()
        self.assertEqual(fault_proxy.upload_starts(log), [])
        self.assertEqual(fault_proxy.body_requests(log), [])
        self.assertEqual(len(fault_proxy.manifest_puts(log, repository)), 1)

        # Without the layer cache (a fresh CI machine), nothing tells the compressed digests
        # before compressing: each layer is compressed again, byte-identical (deterministic
        # gzip), so its digest is the same, one HEAD finds it and nothing is uploaded; the image
        # and its digest are the same.
        self.proxy.clear_log()
        empty = Path(tempfile.mkdtemp(dir=self.dir, prefix="xdg-empty-"))
        tagged = self.write_manifest(self.new_assembly_with(root), [(asset, directory_source("image.tar"),
                                                                     {"d": self.destination("third", repository)})])
        run = self.publish(tagged, env=self.env(XDG_CACHE_HOME=str(empty)))
        self.assertEqual(run.code, OK, run.describe())
        outcome, manifest = self.assert_native_push(run, asset, image, uploaded=0, present=len(image.layers) + 1)
        self.assertEqual(outcome["digest"], first_outcome["digest"])
        log = self.wait_log_settled()
        self.assertEqual(fault_proxy.upload_starts(log), [])
        self.assertEqual(fault_proxy.body_requests(log), [])
        self.assertEqual(len(fault_proxy.manifest_puts(log, repository)), 1)

    def new_assembly_with(self, source_root):
        """A new assembly folder holding the same tarball (hard link: same bytes, no copy)."""
        root = self.new_assembly()
        os.link(source_root / "image.tar", root / "image.tar")
        return root


class Faults(TarballCase):
    """(c) injected 500 / 429 on blob uploads and a HEAD: retried, complete image."""

    def test_retried_faults_still_give_a_complete_image(self):
        root = self.new_assembly()
        repository = self.fresh_repository("faults")
        image = self.image("faults", sizes=(3 << 20, 160 * KiB, 96 * KiB))   # one layer of 3 MiB
        it.write_docker_save_legacy(str(root / "image.tar"), [image])
        asset = "faults-" + secrets.token_hex(4)
        path = self.write_manifest(root, [(asset, directory_source("image.tar"),
                                           {"d": self.destination(asset, repository)})])
        uploads = r"/v2/%s/blobs/uploads/" % repository
        rules = self.proxy.add_rules([
            {"method": "PUT|PATCH", "path": uploads, "status": 500, "count": 1},
            {"method": "PUT|PATCH", "path": uploads, "status": 429, "retry_after": 0, "count": 1, "skip": 1},
            {"method": "POST", "path": uploads, "status": 429, "retry_after": 0, "count": 1},
            {"method": "HEAD", "path": r"/v2/%s/blobs/sha256:" % repository, "status": 500, "count": 1},
        ])
        run = self.publish(path)
        self.assertEqual(run.code, OK, run.describe())
        outcome, _ = self.assert_native_push(run, asset, image, uploaded=len(image.layers) + 1, retried=True)
        log = self.wait_log_settled()
        fired = {rule: [e["status"] for e in log if e["rule"] == rule] for rule in rules}
        self.assertEqual(fired, {rules[0]: [500], rules[1]: [429], rules[2]: [429], rules[3]: [500]})
        self.assertEqual(self.proxy.rules(), [])
        self.verify_complete(self.at_registry(outcome["imageUri"]), image)


class Interrupted(TarballCase):
    """(d) Ctrl-C during a push: exit 130, no tag; a re-run uploads only what was missing."""

    def test_sigint_during_push_then_resume(self):
        root = self.new_assembly()
        repository = self.fresh_repository("sigint")
        image = self.image("sigint", sizes=(96 * KiB, 160 * KiB, 64 * KiB))
        it.write_docker_save_legacy(str(root / "image.tar"), [image])
        asset = "sigint-" + secrets.token_hex(4)
        path = self.write_manifest(root, [(asset, directory_source("image.tar"),
                                           {"d": self.destination(asset, repository)})])
        # Hold the config's upload (the config digest is known: it is pushed unchanged).
        hold = self.proxy.add_rule({"method": "PUT|POST|PATCH", "path": r"/v2/%s/blobs/uploads/" % repository,
                                    "target": it.hex_of(image.config_digest), "action": "hold"})
        state = Path(tempfile.mkdtemp(dir=self.dir, prefix="sigint-"))
        out, err = open(state / "stdout", "w+"), open(state / "stderr", "w+")
        self.addCleanup(out.close)
        self.addCleanup(err.close)
        proc = subprocess.Popen([BIN, "publish", "--json", "--path", str(path)], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, env=self.env())

        def stop_leftover():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

        self.addCleanup(stop_leftover)
        # Block on the proxy until the upload is held, in short waits so that an assetctl that
        # ends early fails the test at once.
        deadline = time.monotonic() + 60
        while True:
            try:
                self.proxy.wait_held(hold, timeout=0.5)
                break
            except AssertionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    stop_leftover()
                    raise AssertionError("nothing was held: exit %s\n%s" % (
                        proc.returncode, (state / "stderr").read_text())) from None
        os.kill(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            # Say whether it was waiting on the in-flight request: drop it and see.
            self.proxy.release(hold, "drop")
            try:
                after = "it then exited %s once the held request was dropped" % proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                after = "it was still running 20 s after the held request was dropped"
            self.fail("assetctl did not stop within 20 s of SIGINT while an upload was in flight; %s\n%s" % (
                after, (state / "stderr").read_text()[-4000:]))
        self.assertEqual(code, INTERRUPTED, (state / "stderr").read_text())
        # The held upload never reaches the registry.
        self.proxy.release(hold, "drop")
        log = self.wait_log_settled()
        self.assertEqual(self.remote_tags(repository), [])
        self.assertFalse(self.remote_exists(self.ref(repository, asset)))
        self.assertEqual(fault_proxy.manifest_puts(log, repository), [])
        done_before = set(fault_proxy.completed_uploads(log, repository))
        self.assertNotIn(image.config_digest, done_before)

        self.proxy.clear_log()
        run = self.publish(path)
        self.assertEqual(run.code, OK, run.describe())
        outcome, manifest = self.assert_native_push(run, asset, image)
        blobs = {manifest["config"]["digest"]} | {l["digest"] for l in manifest["layers"]}
        self.assertLessEqual(done_before, blobs)
        log = self.wait_log_settled()
        uploaded = fault_proxy.completed_uploads(log, repository)
        self.assertEqual(sorted(uploaded), sorted(blobs - done_before))   # each missing blob once, nothing else
        self.assertEqual(outcome["blobs"].get("uploaded"), len(blobs - done_before), outcome)
        self.assertEqual(outcome["blobs"].get("present", 0) + outcome["blobs"].get("mounted", 0), len(done_before))
        self.verify_complete(self.at_registry(outcome["imageUri"]), image)


class Hostile(TarballCase):
    """(e) hostile or corrupt tarballs fail their asset, upload nothing; a good asset still goes."""

    def test_hostile_tarballs_fail_cleanly(self):
        root = self.new_assembly()
        bad_repository = self.fresh_repository("hostile")
        # A layer whose bytes do not match the config's diff_id is only found out when that
        # layer is compressed, while other layers of the image may already be going up
        # (compression and upload overlap): its own repository, where what is checked is that no
        # manifest and no tag appear.
        content_repository = self.fresh_repository("corrupt-content")
        good_repository = self.fresh_repository("good")
        images, files = [], {}
        for i, kind in enumerate(it.HOSTILE_KINDS):
            file_name = "asset.hostile-%s.tar" % kind.replace("_", "-")
            it.write_hostile(str(root / file_name), kind, seed="%s-%s" % (self.seed, kind))
            asset = "hostile-%s-%s" % (kind.replace("_", "-"), secrets.token_hex(3))
            files[asset] = (kind, file_name)
            # Both ways a tarball can be named: CDK's executable form and the directory form.
            source = cdk_source(file_name) if i % 2 else directory_source(file_name)
            repository = content_repository if kind == "diffid_mismatch" else bad_repository
            images.append((asset, source, {"d": self.destination(asset, repository)}))
        good = self.image("good")
        it.write_docker_save_legacy(str(root / "good.tar"), [good])
        good_asset = "good-" + secrets.token_hex(4)
        images.append((good_asset, directory_source("good.tar"), {"d": self.destination(good_asset, good_repository)}))
        path = self.write_manifest(root, images)

        run = self.publish(path)
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        self.assertFalse(run.summary["ok"])
        for asset, (kind, file_name) in files.items():
            with self.subTest(kind=kind):
                outcome = run.outcome(asset)
                self.assertEqual(outcome["state"], "failed", outcome)
                self.assertIn(file_name, outcome.get("error") or "", outcome)
        self.assert_native_push(run, good_asset, good)
        log = self.wait_log_settled()
        self.assertEqual(fault_proxy.upload_starts(log, bad_repository), [])
        self.assertEqual(fault_proxy.manifest_puts(log, bad_repository), [])
        self.assertEqual(self.remote_tags(bad_repository), [])
        self.assertEqual(fault_proxy.manifest_puts(log, content_repository), [])
        self.assertEqual(self.remote_tags(content_repository), [])
        for folder in (root.parent, self.tmpdir, self.cache):   # nothing written outside its folder
            self.assertFalse((folder / "evil").exists())


class SeveralImages(TarballCase):
    """(f) which image of a tarball holding several is published."""

    def test_image_selection(self):
        root = self.new_assembly()
        repository = self.fresh_repository("several")
        v1, v2, v3 = (self.image("v1", tags=["app:v1"]), self.image("v2", tags=["app:v2"]),
                      self.image("v3", tags=["other/tool:v3"]))
        cdk_file = "asset.%s.tar" % secrets.token_hex(8)
        it.write_docker_save_legacy(str(root / cdk_file), [v1, v2, v3])
        it.write_docker_save_25(str(root / "d25.tar"), [v1, v2])
        it.write_oci_layout(str(root / "layout"), [v1, v2])
        expected = {
            "cdk-last": (cdk_source(cdk_file), v3),
            "dir-tag": (directory_source(cdk_file + "#app:v2"), v2),
            "d25-tag": (directory_source("d25.tar#app:v1"), v1),
            "layout-tag": (directory_source("layout#app:v2"), v2),
        }
        failing = {
            "ambiguous": directory_source(cdk_file),
            "unknown-tag": directory_source(cdk_file + "#app:nope"),
        }
        entries = [(asset, source, {"d": self.destination(asset, repository)})
                   for asset, (source, _) in expected.items()]
        entries += [(asset, source, {"d": self.destination(asset, repository)}) for asset, source in failing.items()]
        run = self.publish(self.write_manifest(root, entries))
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        for asset, (_, image) in expected.items():
            with self.subTest(asset=asset):
                self.assert_native_push(run, asset, image)
        for asset in failing:
            with self.subTest(asset=asset):
                outcome = run.outcome(asset)
                self.assertEqual(outcome["state"], "failed", outcome)
                self.assertIn(cdk_file, outcome.get("error") or "", outcome)
                self.assertFalse(self.remote_exists(self.ref(repository, asset)))
        # Ambiguous: the message lists the candidates.
        error = run.outcome("ambiguous").get("error") or ""
        for name in ("app:v1", "app:v2", "other/tool:v3"):
            self.assertIn(name, error)


class TarballMode(TarballCase):
    """(g) --tarball-mode docker uses the engine (and fails without one); native is the default."""

    def test_docker_mode_needs_an_engine_native_does_not(self):
        root = self.new_assembly()
        repository = self.fresh_repository("mode")
        image = self.image("mode")
        cdk_file = "asset.%s.tar" % secrets.token_hex(8)
        it.write_docker_save_legacy(str(root / cdk_file), [image])
        asset = "mode-" + secrets.token_hex(4)
        path = self.write_manifest(root, [(asset, cdk_source(cdk_file), {"d": self.destination(asset, repository)})])

        run = self.publish(path, "--tarball-mode", "docker")
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        # The run stops on the engine check before any asset starts, as for Dockerfile assets
        # (publisher.cpp: require_engine when any job needs the engine, a util::Fatal): no
        # summary, one error naming the engine.
        summaries = [r for r in run.records if r.get("event") == "summary"]
        self.assertEqual(summaries, [], run.describe())
        errors = [line for line in run.err.splitlines() if line.startswith("assetctl: error:")]
        self.assertEqual(len(errors), 1, run.describe())
        self.assertIn("container engine", errors[0])
        log = self.wait_log_settled()
        self.assertEqual(fault_proxy.upload_starts(log), [])
        self.assertFalse(self.remote_exists(self.ref(repository, asset)))

        run = self.publish(path, "--tarball-mode", "native", "--upload-jobs", "1")
        self.assertEqual(run.code, OK, run.describe())
        self.assert_native_push(run, asset, image, uploaded=len(image.layers) + 1)


class ManifestLast(TarballCase):
    """(h) the manifest goes last: when its PUT fails no tag appears; the blobs stay for a re-run."""

    def test_failing_manifest_put_leaves_no_tag(self):
        root = self.new_assembly()
        repository = self.fresh_repository("manifest")
        image = self.image("manifest", sizes=(64 * KiB, 96 * KiB))
        it.write_docker_save_legacy(str(root / "image.tar"), [image])
        asset = "manifest-" + secrets.token_hex(4)
        path = self.write_manifest(root, [(asset, directory_source("image.tar"),
                                           {"d": self.destination(asset, repository)})])
        rule = self.proxy.add_rule({"method": "PUT", "path": r"/v2/%s/manifests/" % repository, "status": 500,
                                    "retry_after": 0, "count": None})
        run = self.publish(path)
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        self.assertEqual(run.outcome(asset)["state"], "failed", run.describe())
        log = self.wait_log_settled()
        self.assertEqual(self.remote_tags(repository), [])
        self.assertFalse(self.remote_exists(self.ref(repository, asset)))
        uploads = [e for e in log if fault_proxy.BLOB_UPLOAD.match(e["path"])]
        puts = fault_proxy.manifest_puts(log, repository)
        self.assertTrue(puts and all(e["rule"] == rule and e["status"] == 500 for e in puts), puts)
        self.assertEqual(len(set(fault_proxy.completed_uploads(log, repository))), len(image.layers) + 1)
        self.assertLess(max(e["id"] for e in uploads), min(e["id"] for e in puts), "a manifest PUT before a blob")

        self.proxy.clear_rules()
        self.proxy.clear_log()
        run = self.publish(path)
        self.assertEqual(run.code, OK, run.describe())
        self.assert_native_push(run, asset, image, uploaded=0, present=len(image.layers) + 1)
        log = self.wait_log_settled()
        self.assertEqual(fault_proxy.upload_starts(log), [])
        self.assertEqual(len(fault_proxy.manifest_puts(log, repository)), 1)


if __name__ == "__main__":
    main()
