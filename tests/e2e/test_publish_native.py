"""End-to-end: images the engine built are pushed by assetctl itself (`publish --push-mode native`,
the default), to several regions that are separate registries, as in ECR (issue #10).

One class per engine: docker (a private dockerd, tests/support/dockerd.py, given with `--docker`)
and podman (a private podman environment, tests/support/podman.py, given with CDK_DOCKER). Either
way the engine is recording_engine.py, which logs every call's argv and, while `save` runs, looks
for the registry passwords in every file under assetctl's TMPDIR and layer cache. The stack
(tests/support/stack.py) gives us-east-1, us-west-2 and eu-west-1 a registry each; a fault proxy
stands in front of us-west-2's. What was published is read back with skopeo from the registries
themselves; what assetctl did comes from its `--json` summary and the engine's call log.

    python3 tests/e2e/test_publish_native.py -v      (ASSETCTL_BIN, ASSETCTL_SOURCE_DIR set)

The DockerModeTwoRegions class checks the harness with `--push-mode docker` (a binary without
the option pushes with docker anyway): docker login and push reach both regions' registries.
"""
import base64
import hashlib
import gzip
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from assetctl_run import (BIN, OK, SOURCE_DIR, Run, assets_repository, environment_without,  # noqa: E402
                          isolated_aws, main, missing_path, publishing_role_arn, skip)

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
DOCKER = "/usr/bin/docker"
PODMAN = "/usr/bin/podman"

if os.geteuid() != 0:
    skip("needs root (a private dockerd or podman storage)")
if missing_path((SKOPEO, "/usr/bin/docker-registry", "/bin/busybox", "/usr/bin/htpasswd")):
    skip(missing_path((SKOPEO, "/usr/bin/docker-registry", "/bin/busybox", "/usr/bin/htpasswd")))
try:
    import botocore.session  # noqa: E402,F401  (the endpoint verifies signatures with it)
    import dockerd as dockerd_support  # noqa: E402
    import fault_proxy  # noqa: E402
    import podman as podman_support  # noqa: E402
    from stack import ACCOUNT_A, Stack  # noqa: E402
except ImportError as error:
    skip(error)

PUBLISH_APP = SOURCE_DIR / "tests" / "fixtures" / "publish-app" / "cdk.out"
RECORDING_ENGINE = HERE / "recording_engine.py"
RUN_TIMEOUT = 300
REGIONS = ("us-east-1", "us-west-2")     # the publish-app's images go to both
THIRD = "eu-west-1"                      # added later for an unchanged image
FAULTY = "us-west-2"                     # behind the fault proxy

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
GZIP_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
FORBIDDEN_CALLS = ({"login"}, {"logout"}, {"tag"}, {"push"}, {"image", "tag"}, {"image", "push"})

# The publish-app's assets (ids from its committed manifests).
TARBALL = "3bb69d878ca4f190b0f40a9e77417c4d0d616adf3329e966f6d61a2fd284922d"
EXECUTABLE = "6cba35337c6ba8483de14a52234f92458eb43724e1534088712db2bda35982c6"
SUBDIR = "6a107d7d084a5edc24bebf75fdae9bb1743165d6d75686553a1270f93baed8ba"


def destination(region, tag):
    return {"repositoryName": assets_repository(ACCOUNT_A, region), "imageTag": tag, "region": region,
            "assumeRoleArn": publishing_role_arn(ACCOUNT_A, region)}


def copy_publish_app(target, regions, only=None):
    """A copy of the publish-app whose every image asset (each id once, in the first manifest
    that has it; `only`: just those ids) goes to each of `regions` (destination id = region), and
    no file assets. Returns the asset ids kept."""
    shutil.copytree(PUBLISH_APP, target, symlinks=True)
    kept = []
    for path in sorted(Path(target).rglob("*.assets.json")):
        document = json.loads(path.read_text())
        images = {}
        for asset_id, asset in document.get("dockerImages", {}).items():
            if asset_id in kept or (only is not None and asset_id not in only):
                continue
            kept.append(asset_id)
            asset["destinations"] = {region: destination(region, asset_id) for region in regions}
            images[asset_id] = asset
        document["dockerImages"] = images
        document["files"] = {}
        path.write_text(json.dumps(document, indent=1))
    return kept


def tarball_image_id(path):
    import tarfile
    with tarfile.open(path) as tar:
        (entry,) = json.load(tar.extractfile("manifest.json"))
        return "sha256:" + hashlib.sha256(tar.extractfile(entry["Config"]).read()).hexdigest()


def subcommand(argv):
    """The engine subcommand words of one call: ["image", "inspect"], ["save"], ..."""
    words = [word for word in argv if not word.startswith("-")]
    return words[:2] if words[:1] in (["image"], ["container"], ["buildx"]) else words[:1]


# --- engines -----------------------------------------------------------------------------------

class DockerEngine:
    """A private dockerd; assetctl gets the recording engine with --docker."""
    name, real = "docker", DOCKER

    def missing(self):
        return missing_path(("/usr/sbin/dockerd", DOCKER))

    def start(self, directory):
        self.daemon = dockerd_support.Dockerd()
        try:
            self.daemon.start()
        except BaseException:
            self.daemon.stop()
            raise
        self.daemon.import_busybox()
        self.docker_config = directory / "user-docker-config"
        self.docker_config.mkdir()

    def stop(self):
        self.daemon.stop()

    def env(self, base):
        return self.daemon.env(base=base, docker_config=str(self.docker_config))

    def selection(self, wrapper):
        return ["--docker", str(wrapper)], {}

    def image_id(self, ref):
        return self.daemon.image_id(ref)


class PodmanEngine:
    """A private podman environment; assetctl gets the recording engine through CDK_DOCKER (the
    executable asset's script runs `$CDK_DOCKER build`, so it builds with podman too)."""
    name, real = "podman", PODMAN

    def missing(self):
        return missing_path((PODMAN,))

    def start(self, directory):
        self.podman = podman_support.Podman()
        try:
            self.podman.start()
            self.podman.import_busybox()
        except BaseException:
            self.podman.stop()
            raise

    def stop(self):
        self.podman.stop()

    def env(self, base):
        return self.podman.env(base=base)

    def selection(self, wrapper):
        return [], {"CDK_DOCKER": str(wrapper)}

    def image_id(self, ref):
        return self.podman.image_id(ref)


# --- the shared fixture --------------------------------------------------------------------------

class NativeCase(unittest.TestCase):
    """An engine, a stack with a registry per region (a fault proxy before FAULTY's), a layer
    cache and a TMPDIR of the class's own, and the recording engine."""
    ENGINE = None

    @classmethod
    def setUpClass(cls):
        missing = cls.ENGINE.missing()
        if missing:
            raise unittest.SkipTest(missing)
        cls.tmp = tempfile.TemporaryDirectory(prefix="assetctl-e2e-native-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.dir = Path(cls.tmp.name)
        cls.ENGINE.start(cls.dir)
        cls.addClassCleanup(cls.ENGINE.stop)
        cls.stack = Stack(extra_config={"repository_uri_host": "registry"}, regions=[*REGIONS, THIRD],
                          proxied_regions=[FAULTY])
        cls.addClassCleanup(cls.stack.stop)
        cls.info = cls.stack.start()
        cls.registries = cls.info["registries"]
        cls.proxy = fault_proxy.FaultProxyClient(cls.info["registry_proxies"][FAULTY]["control_url"])
        for name in ("tmpdir", "cache", "canary"):
            (cls.dir / name).mkdir()
        cls.wrapper = cls.dir / "recording_engine.py"  # a copy: the exec bit does not depend on the checkout
        shutil.copyfile(RECORDING_ENGINE, cls.wrapper)
        cls.wrapper.chmod(0o755)
        cls.write_secrets()
        cls.runs = 0

    @classmethod
    def write_secrets(cls):
        """The `AWS` password of every region's registry (minted now; the endpoint hands out the
        same one until it expires) in plain and in docker config.json's base64 form, plus a
        canary planted in a watched folder that the scan must find (so it is known to work)."""
        canary = "canary-" + secrets.token_hex(16)
        (cls.dir / "canary" / "planted").write_text("x%sx\n" % canary)
        values = [canary]
        for region in (*REGIONS, THIRD):
            password = cls.control("POST", "/__control/registry-password", {"region": region})["password"]
            values += [password, base64.b64encode(("AWS:" + password).encode()).decode()]
        cls.secrets_file = cls.dir / "secrets.json"
        cls.secrets_file.write_text(json.dumps(values))

    @classmethod
    def control(cls, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(cls.info["endpoint_url"] + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    # --- running assetctl -----------------------------------------------------------------------

    @classmethod
    def env(cls, engine_log, extra):
        base = environment_without(("AWS_", "DOCKER_", "CONTAINERS_", "RECORDING_ENGINE_"),
                                   ("CDK_DOCKER", "TMPDIR", "XDG_CACHE_HOME"))
        env = cls.ENGINE.env(base)
        env.update(cls.info["env"])
        env.update(isolated_aws(cls.dir))
        env.update({
            "TMPDIR": str(cls.dir / "tmpdir"),
            "XDG_CACHE_HOME": str(cls.dir / "cache"),
            "NO_COLOR": "1",
            "AWS_CA_BUNDLE": cls.info["registry"]["ca_cert"],   # one CA for every registry of the stack
            "RECORDING_ENGINE_REAL": cls.ENGINE.real,
            "RECORDING_ENGINE_LOG": str(engine_log),
            "RECORDING_ENGINE_SECRETS_FILE": str(cls.secrets_file),
            "RECORDING_ENGINE_WATCH": ":".join(str(cls.dir / d) for d in ("tmpdir", "cache", "canary")),
        })
        env.update(extra)
        return env

    @classmethod
    def publish(cls, path, *args):
        """-> (Run, [engine calls]) of `assetctl publish --json --path path args...`."""
        cls.runs += 1
        engine_log = cls.dir / ("engine-calls-%d.jsonl" % cls.runs)
        engine_log.touch()
        selection, extra = cls.ENGINE.selection(cls.wrapper)
        proc = subprocess.run([BIN, "publish", "--json", *selection, *args, "--path", str(path)],
                              capture_output=True, text=True, env=cls.env(engine_log, extra), timeout=RUN_TIMEOUT)
        calls = [json.loads(line) for line in engine_log.read_text().splitlines() if line.strip()]
        return Run(proc.returncode, proc.stdout, proc.stderr), calls

    # --- registries (independent of assetctl) -----------------------------------------------------

    @classmethod
    def registry_of_uri(cls, uri):
        """(region registry description, the same reference with the registry's own host): a
        reference through the fault proxy is read from the registry behind it."""
        host, rest = uri.split("/", 1)
        proxies = cls.info.get("registry_proxies", {})
        for region, reg in cls.registries.items():
            if host in (reg["host"], proxies.get(region, {}).get("host")):
                return reg, "%s/%s" % (reg["host"], rest)
        raise AssertionError("%s is not one of the stack's region registries" % uri)

    @classmethod
    def skopeo_raw(cls, uri):
        reg, ref = cls.registry_of_uri(uri)
        result = subprocess.run([SKOPEO, "inspect", "--raw", "--cert-dir", reg["cert_dir"], "--creds",
                                 "%s:%s" % (reg["admin_user"], reg["admin_password"]), "docker://" + ref],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError("skopeo inspect %s: %s" % (ref, result.stderr))
        return result.stdout

    @classmethod
    def uncompressed_layer_bytes(cls, uri):
        """The layers' uncompressed sizes summed: every layer blob fetched and gunzipped (what
        compressedBytes counts: the bytes that went through the compressor)."""
        reg, ref = cls.registry_of_uri(uri)
        repository = ref.split("/", 1)[1].rsplit(":", 1)[0]
        token = base64.b64encode(("%s:%s" % (reg["admin_user"], reg["admin_password"])).encode()).decode()
        context = ssl.create_default_context(cafile=reg["ca_cert"])
        total = 0
        for layer in json.loads(cls.skopeo_raw(uri))["layers"]:
            request = urllib.request.Request("%s/v2/%s/blobs/%s" % (reg["url"], repository, layer["digest"]),
                                             headers={"Authorization": "Basic " + token})
            with urllib.request.urlopen(request, context=context, timeout=60) as answer:
                total += len(gzip.decompress(answer.read()))
        return total

    @classmethod
    def blob_size(cls, uri, digest):
        reg, ref = cls.registry_of_uri(uri)
        repository = ref.split("/", 1)[1].rsplit(":", 1)[0]
        token = base64.b64encode(("%s:%s" % (reg["admin_user"], reg["admin_password"])).encode()).decode()
        request = urllib.request.Request("%s/v2/%s/blobs/%s" % (reg["url"], repository, digest), method="HEAD",
                                         headers={"Authorization": "Basic " + token})
        context = ssl.create_default_context(cafile=reg["ca_cert"])
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return int(response.headers["Content-Length"])

    # --- checks ---------------------------------------------------------------------------------

    def assert_schema2(self, uri, image_id):
        """The tag holds a Docker v2 schema 2 manifest (one platform, not an index) with gzip
        layers whose config is the engine's image; returns the manifest."""
        raw = self.skopeo_raw(uri)
        manifest = json.loads(raw)
        self.assertEqual(manifest.get("mediaType"), DOCKER_MANIFEST, raw)
        self.assertEqual(manifest["schemaVersion"], 2)
        self.assertEqual(manifest["config"]["mediaType"], DOCKER_CONFIG_TYPE)
        self.assertEqual(manifest["config"]["digest"], image_id, uri)
        self.assertTrue(manifest["layers"], raw)
        self.assertEqual({layer["mediaType"] for layer in manifest["layers"]}, {GZIP_LAYER}, raw)
        return manifest

    @staticmethod
    def compressed_size(manifest):
        return sum(layer["size"] for layer in manifest["layers"]) + manifest["config"]["size"]

    def images_by_asset(self, run):
        images = run.summary.get("images")
        self.assertIsInstance(images, list, run.describe())
        by_asset = {}
        for image in images:
            self.assertNotIn(image["asset"], by_asset, "two images[] entries for one asset")
            by_asset[image["asset"]] = image
        return by_asset

    def assert_engine_only_built_and_exported(self, run, calls):
        for call in calls:
            words = set(subcommand(call["argv"]))
            self.assertFalse(any(forbidden <= words for forbidden in FORBIDDEN_CALLS), call)
            config = call.get("docker_config") or ""
            self.assertFalse(config.startswith(str(self.dir / "tmpdir")), "a private DOCKER_CONFIG: %s" % call)
        for call in calls:
            if "secret_hits" in call:
                hits = [hit for hit in call["secret_hits"] if hit["secret"] != 0]
                self.assertEqual(hits, [], "a registry password in a file while `save` ran")
                self.assertIn({"path": str(self.dir / "canary" / "planted"), "secret": 0}, call["secret_hits"])
        leftovers = [name for name in os.listdir(self.dir / "tmpdir") if name.startswith("assetctl-docker-")]
        self.assertEqual(leftovers, [], run.describe())

    def fresh_assembly(self, regions, layers):
        """A new one-asset assembly: FROM scratch, one COPY per random (incompressible) payload."""
        asset = "native-%s" % secrets.token_hex(6)
        root = Path(tempfile.mkdtemp(dir=self.dir, prefix="assembly-"))
        context = root / ("asset." + asset)
        context.mkdir()
        lines = ["FROM scratch"]
        for index, size in enumerate(layers):
            (context / ("payload-%d.bin" % index)).write_bytes(os.urandom(size))
            lines.append("COPY payload-%d.bin /payload-%d.bin" % (index, index))
        (context / "Dockerfile").write_text("\n".join(lines) + "\n")
        document = {"version": "55.0.0", "dockerImages": {asset: {
            "source": {"directory": "asset." + asset},
            "destinations": {region: destination(region, asset) for region in regions}}}}
        (root / "Native.assets.json").write_text(json.dumps(document, indent=1))
        return asset, root / "Native.assets.json"


class NativePublish(NativeCase):
    """The publish-app to two regions natively, then again (nothing to do), then a third region
    for an unchanged image, and a fresh image through faults at one region."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app = cls.dir / "publish-app"
        cls.assets = copy_publish_app(cls.app, REGIONS)
        cls.first, cls.first_calls = cls.publish(cls.app, "--push-mode", "native")
        cls.second, cls.second_calls = cls.publish(cls.app, "--push-mode", "native")

    def engine_image_id(self, run, asset):
        """The config digest the tag must have: the tarball's own image id; else the engine's
        image id (for a directory build also that of its cdkasset-<id> tag)."""
        if asset == TARBALL:
            return tarball_image_id(PUBLISH_APP / ("asset.%s.tar" % TARBALL))
        image = self.images_by_asset(run)[asset]
        self.assertEqual(self.ENGINE.image_id(image["imageId"]), image["imageId"], image)
        if asset != EXECUTABLE:
            self.assertEqual(self.ENGINE.image_id("cdkasset-" + asset), image["imageId"], asset)
        return image["imageId"]

    def test_every_image_published_natively_to_both_regions(self):
        run = self.first
        self.assertEqual(run.code, OK, run.describe())
        expected = {(asset, region) for asset in self.assets for region in REGIONS}
        self.assertEqual(set(run.states()), expected)
        self.assertEqual(set(run.states().values()), {"published"}, run.states())
        for outcome in run.summary["assets"]:
            with self.subTest(asset=outcome["asset"], region=outcome["destination"]):
                self.assertEqual(outcome["method"], "native", outcome)
                self.assertEqual(self.registry_of_uri(outcome["imageUri"])[0]["host"],
                                 self.registries[outcome["destination"]]["host"])
                manifest = self.assert_schema2(outcome["imageUri"], self.engine_image_id(run, outcome["asset"]))
                self.assertEqual(set(outcome["blobs"]), {"uploaded", "mounted", "present"})
                self.assertEqual(sum(outcome["blobs"].values()), len(manifest["layers"]) + 1, outcome)
                # Blobs another asset put into the same repository are present, not uploaded again.
                if outcome["blobs"]["uploaded"] == sum(outcome["blobs"].values()):
                    self.assertEqual(outcome["bytesUploaded"], self.compressed_size(manifest), outcome)
                else:
                    self.assertLess(outcome["bytesUploaded"], self.compressed_size(manifest), outcome)

    def test_each_built_image_exported_and_compressed_once(self):
        run = self.first
        self.assertEqual(run.code, OK, run.describe())
        images = self.images_by_asset(run)
        self.assertEqual(set(images) - {TARBALL}, set(self.assets) - {TARBALL})
        saves = [call for call in self.first_calls if subcommand(call["argv"]) in (["save"], ["image", "save"])]
        self.assertTrue(saves, self.first_calls)
        for image in images.values():   # `exported` says whether the engine was asked to save it
            names = (image["imageId"], image["imageId"][len("sha256:"):], "cdkasset-" + image["asset"])
            asked = any(name in arg for call in saves for arg in call["argv"] for name in names)
            self.assertEqual(asked, image["exported"], (image, saves))
        for asset, image in images.items():
            with self.subTest(asset=asset):
                self.assertRegex(image["imageId"], r"^sha256:[0-9a-f]{64}$")
                self.assertEqual(image["layersCompressed"] + image["layersFromCache"], image["layers"], image)
                if asset == TARBALL:
                    continue
                self.assertTrue(image["exported"], image)   # an empty layer cache
                layers = json.loads(self.skopeo_raw(run.outcome(asset, REGIONS[0])["imageUri"]))["layers"]
                self.assertEqual(image["layers"], len(layers))
                everything = self.uncompressed_layer_bytes(run.outcome(asset, REGIONS[0])["imageUri"])
                if image["layersFromCache"] == 0:   # each layer compressed once, not once per region
                    self.assertEqual(image["compressedBytes"], everything, image)
                else:                               # a base layer another asset compressed first
                    self.assertLessEqual(image["compressedBytes"], everything, image)

    def test_engine_never_logged_in_tagged_or_pushed_and_no_password_on_disk(self):
        self.assertEqual(self.first.code, OK, self.first.describe())
        self.assert_engine_only_built_and_exported(self.first, self.first_calls)
        self.assertTrue([c for c in self.first_calls if "secret_hits" in c], "the engine never ran `save`")

    def test_rerun_finds_everything_and_exports_nothing(self):
        run = self.second
        self.assertEqual(run.code, OK, run.describe())
        self.assertEqual(set(run.states().values()), {"present"}, run.states())
        self.assertEqual(run.summary["pushes"], 0)
        for image in run.summary.get("images", []):
            self.assertFalse(image["exported"], image)
            self.assertEqual(image["compressedBytes"], 0, image)
        for outcome in run.summary["assets"]:
            self.assertEqual(outcome.get("bytesUploaded", 0), 0, outcome)
            self.assertEqual(outcome.get("blobs", {}).get("uploaded", 0), 0, outcome)
        self.assertEqual([c for c in self.second_calls if subcommand(c["argv"]) in (["save"], ["image", "save"])], [])
        self.assert_engine_only_built_and_exported(run, self.second_calls)

    def test_third_region_for_an_unchanged_image_uploads_from_the_cache(self):
        self.assertEqual(self.first.code, OK, self.first.describe())
        path = self.dir / "publish-app-third"
        copy_publish_app(path, (*REGIONS, THIRD), only={SUBDIR})
        run, calls = self.publish(path, "--push-mode", "native")
        self.assertEqual(run.code, OK, run.describe())
        self.assertEqual(run.states(), {(SUBDIR, REGIONS[0]): "present", (SUBDIR, REGIONS[1]): "present",
                                        (SUBDIR, THIRD): "published"})
        image = self.images_by_asset(run)[SUBDIR]
        self.assertEqual((image["exported"], image["compressedBytes"]), (False, 0), image)
        self.assertEqual(image["layersFromCache"], image["layers"], image)
        outcome = run.outcome(SUBDIR, THIRD)
        self.assertEqual(outcome["method"], "native")
        self.assertGreater(outcome["blobs"]["uploaded"], 0, outcome)
        manifest = self.assert_schema2(outcome["imageUri"], image["imageId"])
        self.assertEqual(outcome["bytesUploaded"], self.compressed_size(manifest), outcome)
        self.assertEqual(image["imageId"], self.ENGINE.image_id("cdkasset-" + SUBDIR))
        self.assertEqual([c for c in calls if subcommand(c["argv"]) in (["save"], ["image", "save"])], [])
        self.assert_engine_only_built_and_exported(run, calls)

    def test_faults_at_one_region_do_not_touch_the_other(self):
        asset, path = self.fresh_assembly(REGIONS, (300 << 10, 200 << 10))
        self.proxy.clear_rules()
        self.proxy.clear_log()
        self.addCleanup(self.proxy.clear_rules)
        self.proxy.add_rules([
            {"method": "HEAD", "path": "/blobs/", "status": 429, "retry_after": 0, "count": 1},
            {"method": "POST|PUT|PATCH", "path": "/blobs/uploads/", "status": 500, "count": 1},
            {"method": "PUT|PATCH", "path": "/blobs/uploads/", "action": "drop", "count": 1, "skip": 1},
            {"method": "PUT", "path": "/manifests/", "status": 500, "count": 1},
        ])
        run, calls = self.publish(path, "--push-mode", "native")
        log = self.proxy.log()
        self.assertEqual(run.code, OK, run.describe())
        self.assertEqual(run.states(), {(asset, region): "published" for region in REGIONS})
        injected = [entry["action"] for entry in log if entry["action"] in ("status", "drop")]
        self.assertEqual(sorted(injected), ["drop", "status", "status", "status"], log)
        image = self.images_by_asset(run)[asset]
        manifests = {}
        for region in REGIONS:
            outcome = run.outcome(asset, region)
            self.assertEqual(outcome["method"], "native", outcome)
            manifests[region] = self.assert_schema2(outcome["imageUri"], image["imageId"])
        self.assertEqual(manifests[REGIONS[0]], manifests[FAULTY])
        healthy = run.outcome(asset, REGIONS[0])
        # Each blob went to the healthy registry once: exactly the image's compressed size.
        self.assertEqual(healthy["bytesUploaded"], self.compressed_size(manifests[REGIONS[0]]), healthy)
        self.assertEqual(healthy["blobs"]["uploaded"], len(manifests[REGIONS[0]]["layers"]) + 1, healthy)
        for layer in manifests[FAULTY]["layers"]:
            self.assertEqual(self.blob_size(run.outcome(asset, FAULTY)["imageUri"], layer["digest"]), layer["size"])
        self.assertTrue(image["exported"])
        self.assertEqual(image["compressedBytes"], self.uncompressed_layer_bytes(run.outcome(asset, FAULTY)["imageUri"]))
        self.assert_engine_only_built_and_exported(run, calls)


class NativePublishDocker(NativePublish):
    ENGINE = DockerEngine()


class NativePublishPodman(NativePublish):
    ENGINE = PodmanEngine()


class DockerModeTwoRegions(NativeCase):
    """The harness with docker's own push (`--push-mode docker`; a binary without the option
    pushes that way anyway): the engine logs in to each region's registry and pushes there."""
    ENGINE = DockerEngine()

    @classmethod
    def push_mode_args(cls):
        help_text = subprocess.run([BIN, "publish", "--help"], capture_output=True, text=True, timeout=30).stdout
        return ["--push-mode", "docker"] if "--push-mode" in help_text else []

    def test_docker_push_reaches_both_region_registries(self):
        self.check_docker_push_to_both_regions("--publish-jobs", "1")

    def test_parallel_docker_logins_to_two_registries(self):
        """Both regions' `docker login`s run at once into the one private DOCKER_CONFIG; each
        push must still find its own registry's credentials there."""
        self.check_docker_push_to_both_regions()

    def check_docker_push_to_both_regions(self, *args):
        asset, path = self.fresh_assembly(REGIONS, (64 << 10,))
        run, calls = self.publish(path, *self.push_mode_args(), *args)
        self.assertEqual(run.code, OK, run.describe() + "\n--- engine calls\n" + json.dumps(calls, indent=1))
        self.assertEqual(run.states(), {(asset, region): "published" for region in REGIONS})
        image_id = self.ENGINE.image_id("cdkasset-" + asset)
        hosts = set()
        for region in REGIONS:
            outcome = run.outcome(asset, region)
            self.assertEqual(outcome["method"], "docker", outcome)
            reg, _ = self.registry_of_uri(outcome["imageUri"])
            self.assertEqual(reg["host"], self.registries[region]["host"])
            hosts.add(outcome["imageUri"].split("/", 1)[0])
            manifest = json.loads(self.skopeo_raw(outcome["imageUri"]))
            self.assertEqual(manifest["config"]["digest"], image_id)
        self.assertEqual(len(hosts), 2)
        logins = sorted(c["argv"][-1] for c in calls if subcommand(c["argv"]) == ["login"])
        pushes = sorted(c["argv"][-1].split("/", 1)[0] for c in calls if subcommand(c["argv"]) == ["push"])
        self.assertEqual(logins, sorted(hosts), calls)
        self.assertEqual(pushes, sorted(hosts), calls)


del NativePublish, NativeCase   # the engine-less bases hold no tests of their own

if __name__ == "__main__":
    main()
