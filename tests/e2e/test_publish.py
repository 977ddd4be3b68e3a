"""End-to-end: `assetctl build` and `assetctl publish` with real components.

A private dockerd (tests/support/dockerd.py, docker 20.10 + BuildKit) builds the images; the
local ECR/STS endpoint (which checks every SigV4 signature with botocore) hands out repository
URIs that point at a real TLS registry with htpasswd auth (stack.py with
`repository_uri_host: registry`). What was published is checked independently with skopeo
against the registry and `docker image inspect` against the daemon; what assetctl did is read
from its JSON events and summary and from the endpoint's request log, never from log text.

Each class gets a fresh daemon and a fresh stack; temporary assemblies use fresh asset ids and
tags so the tests of one class do not see each other's images.
"""
import collections
import hashlib
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tarfile
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
from assetctl_run import (ASSETS_FAILED, BIN, INTERRUPTED, OK, REGION, SOURCE_DIR, Run, assets_repository,  # noqa: E402
                          environment_without, group_gone, isolated_aws, main, missing_path, pid_gone,
                          publishing_role_arn, skip, wait_for)

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
DOCKER = "/usr/bin/docker"  # the 20.10 client, matching the daemon


def missing_prerequisite():
    if os.geteuid() != 0:
        return "needs root (a private dockerd)"
    return missing_path(("/usr/sbin/dockerd", DOCKER, SKOPEO, "/usr/bin/docker-registry",
                         "/bin/busybox", "/usr/bin/htpasswd"))


try:
    import botocore.session  # noqa: E402,F401  (the endpoint verifies signatures with it)
    import dockerd as dockerd_support  # noqa: E402
    from stack import ACCOUNT_A, Stack  # noqa: E402
except ImportError as error:  # botocore missing: the harness cannot run
    skip(error)
if missing_prerequisite():
    skip(missing_prerequisite())

PUBLISH_APP = SOURCE_DIR / "tests" / "fixtures" / "publish-app" / "cdk.out"
FAKE_ENGINE = HERE / "fake_engine.sh"
PARTIAL_PUSH = HERE / "partial_push.py"  # the fake engine's push
RUN_TIMEOUT = 150

# The publish-app's image assets (ids from its committed manifests).
ARGS_TARGET = "df736eaf246637e9d90e1494a2f41ade537406199937edb5711f93641d0abe97"
SECRET_NETWORK = "a53c9f1e7c03652dbb950c3007eb709fdf598a627cae5454b023db52e05fb952"
NO_CACHE = "110a7994dfbb6a65d6cb38e1e78159cc77a68694f3095c1ab36bffae7274cd27"
TARBALL = "3bb69d878ca4f190b0f40a9e77417c4d0d616adf3329e966f6d61a2fd284922d"
SHARED = "a109b265b59afad4bf33bd5df28dbe10a39aca15c2d1763d4f34ae6dc49ca818"
EXECUTABLE = "6cba35337c6ba8483de14a52234f92458eb43724e1534088712db2bda35982c6"
SUBDIR = "6a107d7d084a5edc24bebf75fdae9bb1743165d6d75686553a1270f93baed8ba"
STAGED = "43d0713f7c95fd2c9c238c8ce075fd15325167e8f7eca5783ec9f3fd09c0579b"
TARBALL_IMAGE = "publish-app/tarball:v2"  # the name inside the tarball


def role_arn(region):
    return publishing_role_arn(ACCOUNT_A, region)


def repository(region):
    return assets_repository(ACCOUNT_A, region)


def manifest_targets(root):
    """{(asset id, destination id): source} of every image in root and its nested assemblies,
    read straight from the *.assets.json files."""
    targets = {}
    for path in sorted(Path(root).rglob("*.assets.json")):
        for asset_id, asset in json.loads(path.read_text()).get("dockerImages", {}).items():
            for destination_id in asset["destinations"]:
                targets[(asset_id, destination_id)] = asset["source"]
    return targets


def image_selectors(root):
    """Every image asset id of root, as selectors: the publish-app also has file assets, which
    this file leaves to test_publish_files.py."""
    return sorted({asset for asset, _ in manifest_targets(root)})


def directory_assets(root):
    return sorted({asset for (asset, _), source in manifest_targets(root).items() if "directory" in source})


def tarball_image_id(path):
    """The image id (config digest) of the one image in a docker-save tarball."""
    with tarfile.open(path) as tar:
        (entry,) = json.load(tar.extractfile("manifest.json"))
        return "sha256:" + hashlib.sha256(tar.extractfile(entry["Config"]).read()).hexdigest()


def snapshot(directory):
    """{relative path: bytes or '<dir>'} of everything under directory."""
    result = {}
    for path in sorted(Path(directory).rglob("*")):
        relative = str(path.relative_to(directory))
        result[relative] = path.read_bytes() if path.is_file() and not path.is_symlink() else "<dir>"
    return result


class PublishCase(unittest.TestCase):
    """A fresh dockerd (busybox imported) and a fresh stack whose repository URIs point at the
    local TLS registry, for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="assetctl-e2e-publish-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.dir = Path(cls.tmp.name)
        cls.daemon = dockerd_support.Dockerd()
        try:
            cls.daemon.start()
        except BaseException:
            cls.daemon.stop()
            raise
        cls.addClassCleanup(cls.daemon.stop)
        cls.daemon.import_busybox()
        cls.stack = Stack(extra_config={"repository_uri_host": "registry"})
        cls.info = cls.stack.start()
        cls.addClassCleanup(cls.stack.stop)
        cls.url = cls.info["endpoint_url"]
        cls.registry = cls.info["registry"]
        # The user's docker configuration: an unrelated login and a setting, to see that
        # assetctl never writes into it.
        cls.user_docker_config = cls.dir / "user-docker-config"
        cls.user_docker_config.mkdir()
        (cls.user_docker_config / "config.json").write_text(json.dumps(
            {"auths": {"registry.example.com": {"auth": b64encode(b"someone:pw").decode()}},
             "psFormat": "table {{.ID}}"}, indent=1) + "\n")
        cls.tmpdir = cls.dir / "tmpdir"  # assetctl's TMPDIR
        cls.tmpdir.mkdir()

    # --- environment and running --------------------------------------------------------------

    @classmethod
    def env(cls, credentials=True, **extra):
        """The stack's AWS settings (keys only with credentials=True), isolated AWS files, no
        instance metadata, and the daemon's client settings with the user's DOCKER_CONFIG."""
        base = environment_without(("AWS_", "DOCKER_"), ("CDK_DOCKER", "TMPDIR"))
        env = cls.daemon.env(base=base, docker_config=str(cls.user_docker_config))
        env.update(cls.info["env"])
        if not credentials:
            del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        env.update(isolated_aws(cls.dir))
        env.update({
            "TMPDIR": str(cls.tmpdir),
            "NO_COLOR": "1",
            # Native (daemonless) pushes of the tarball asset trust the registry's CA the way
            # the AWS client does; docker trusts it through the daemon's certs.d.
            "AWS_CA_BUNDLE": cls.registry["ca_cert"],
        })
        env.update(extra)
        return env

    @classmethod
    def assetctl(cls, *args, env=None):
        # This file is about `docker push` (login, tag, push, the private DOCKER_CONFIG);
        # test_publish_native.py covers the default native push.
        if args and args[0] == "publish":
            args = ("publish", "--push-mode", "docker", *args[1:])
        proc = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True,
                              env=env if env is not None else cls.env(), timeout=RUN_TIMEOUT)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    # --- endpoint ---------------------------------------------------------------------------

    @classmethod
    def control(cls, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(cls.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()

    @classmethod
    def clear_log(cls):
        cls.control("DELETE", "/__control/log")

    @classmethod
    def log(cls):
        text = cls.control("GET", "/__control/log")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    @staticmethod
    def operations(log, operation):
        return [entry for entry in log if entry["operation"] == operation]

    # --- registry (independent of assetctl: skopeo and the registry API) ---------------------

    @classmethod
    def skopeo(cls, *args, check=True):
        creds = "%s:%s" % (cls.registry["admin_user"], cls.registry["admin_password"])
        if args[0] == "inspect":
            argv = [SKOPEO, *args[:-1], "--cert-dir", cls.registry["cert_dir"], "--creds", creds, args[-1]]
        else:  # copy SRC DST
            argv = [SKOPEO, *args[:-2], "--src-cert-dir", cls.registry["cert_dir"], "--src-creds", creds,
                    *args[-2:]]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError("%s failed: %s" % (" ".join(argv[:3]), result.stderr))
        return result

    @classmethod
    def remote_manifest(cls, ref):
        return json.loads(cls.skopeo("inspect", "--raw", "docker://" + ref).stdout)

    @classmethod
    def remote_digest(cls, ref):
        return json.loads(cls.skopeo("inspect", "docker://" + ref).stdout)["Digest"]

    @classmethod
    def remote_exists(cls, ref):
        return cls.skopeo("inspect", "--raw", "docker://" + ref, check=False).returncode == 0

    @classmethod
    def blob_exists(cls, repository_name, digest):
        """Whether the registry holds the blob (a HEAD with the admin user, straight to the registry)."""
        context = ssl.create_default_context(cafile=cls.registry["ca_cert"])
        token = b64encode(("%s:%s" % (cls.registry["admin_user"], cls.registry["admin_password"])).encode())
        request = urllib.request.Request("%s/v2/%s/blobs/%s" % (cls.registry["url"], repository_name, digest),
                                         method="HEAD", headers={"Authorization": "Basic " + token.decode()})
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                return response.status == 200
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return False
            raise

    @classmethod
    def catalog(cls):
        context = ssl.create_default_context(cafile=cls.registry["ca_cert"])
        token = b64encode(("%s:%s" % (cls.registry["admin_user"], cls.registry["admin_password"])).encode())
        request = urllib.request.Request(cls.registry["url"] + "/v2/_catalog",
                                         headers={"Authorization": "Basic " + token.decode()})
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return json.loads(response.read())["repositories"]

    @classmethod
    def remote_files(cls, ref):
        """{path: bytes} of the image's files as published (every layer, in order), plus the
        raw config blob under the key '<config>'."""
        target = Path(tempfile.mkdtemp(dir=cls.dir, prefix="skopeo-"))
        cls.skopeo("copy", "docker://" + ref, "dir:" + str(target))
        manifest = json.loads((target / "manifest.json").read_text())
        files = {"<config>": (target / manifest["config"]["digest"].split(":")[1]).read_bytes()}
        for layer in manifest["layers"]:
            with tarfile.open(target / layer["digest"].split(":")[1], "r:*") as archive:
                for member in archive.getmembers():
                    if member.isfile():
                        files["/" + member.name.removeprefix("./").lstrip("/")] = archive.extractfile(member).read()
        return files

    # --- daemon -------------------------------------------------------------------------------

    @classmethod
    def docker(cls, *args, check=True):
        return cls.daemon.docker(*args, check=check, env=cls.daemon.env(docker_config=str(cls.dir / "test-docker")))

    @classmethod
    def local_image_id(cls, ref):
        result = cls.docker("image", "inspect", "--format", "{{.Id}}", ref, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    @classmethod
    def local_images(cls):
        return set(cls.docker("images", "--all", "--quiet", "--no-trunc").stdout.split())

    # --- temporary assemblies -----------------------------------------------------------------

    def destination(self, tag, region=REGION, repository_name=None, role=True):
        destination = {"repositoryName": repository_name or repository(region), "imageTag": tag,
                       "region": region}
        if role:
            destination["assumeRoleArn"] = role_arn(region)
        return destination

    def assembly(self, images):
        """Writes a one-manifest assembly: images is a list of (asset id, Dockerfile text,
        {destination id: destination}) in manifest order. Returns the *.assets.json path."""
        root = Path(tempfile.mkdtemp(dir=self.dir, prefix="assembly-"))
        docker_images = {}
        for asset_id, dockerfile, destinations in images:
            (root / ("asset." + asset_id)).mkdir()
            (root / ("asset." + asset_id) / "Dockerfile").write_text(dockerfile)
            (root / ("asset." + asset_id) / "payload.txt").write_text("payload of %s\n" % asset_id)
            docker_images[asset_id] = {"source": {"directory": "asset." + asset_id},
                                       "destinations": destinations}
        path = root / "Test.assets.json"
        path.write_text(json.dumps({"version": "55.0.0", "dockerImages": docker_images}, indent=1))
        return path

    @staticmethod
    def fresh(prefix):
        return "%s-%s" % (prefix, secrets.token_hex(6))


GOOD_DOCKERFILE = "FROM scratch\nCOPY payload.txt /payload.txt\n"
# The build prints "mark42er" (the shell computes it), which is not in the command text: seeing
# it in the failure output proves the output of the failing step is there, not just its command.
BAD_DOCKERFILE = "FROM local/busybox:latest\nRUN echo \"mark$((6*7))er\" && false\n"
BAD_MARK = "mark42er"


class PublishApp(PublishCase):
    """The whole publish-app, published once in setUpClass (cases 1-3)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.targets = manifest_targets(PUBLISH_APP)
        cls.user_config_before = snapshot(cls.user_docker_config)
        cls.clear_log()
        cls.first = cls.assetctl("publish", "--json", "--path", PUBLISH_APP, *image_selectors(PUBLISH_APP))
        cls.first_log = cls.log()
        cls.user_config_after = snapshot(cls.user_docker_config)
        cls.tmpdir_after = sorted(os.listdir(cls.tmpdir))

    def test_publish_whole_app(self):
        run = self.first
        self.assertEqual(run.code, OK, run.describe())
        summary = run.summary
        self.assertTrue(summary["ok"])
        self.assertEqual(set(run.states()), set(self.targets))
        self.assertEqual(set(run.states().values()), {"published"}, run.states())
        self.assertEqual(summary["pushes"], len(self.targets))
        self.assertEqual(summary["builds"], len({asset for asset, _ in self.targets}))
        for outcome in summary["assets"]:
            uri = outcome["imageUri"]
            self.assertTrue(uri.startswith(self.registry["host"] + "/"), uri)
            with self.subTest(uri=uri):
                # The pushed config is the image built locally (the tarball's own image id for
                # the tarball, pushed without the engine); the manifest is the one reported.
                config = self.remote_manifest(uri)["config"]["digest"]
                if outcome["asset"] == TARBALL:
                    self.assertEqual(outcome["method"], "native", outcome)
                    self.assertEqual(config, tarball_image_id(PUBLISH_APP / ("asset.%s.tar" % TARBALL)))
                else:
                    self.assertEqual(outcome["method"], "docker", outcome)
                    self.assertEqual(config, self.local_image_id(uri))
                if outcome["asset"] not in (EXECUTABLE, TARBALL):  # the script printed an id
                    self.assertEqual(config, self.local_image_id("cdkasset-" + outcome["asset"]))
                self.assertEqual(self.remote_digest(uri), outcome["digest"])
                (success,) = [e for e in run.of("success", outcome["asset"])
                              if e["destination"] == outcome["destination"]]
                self.assertEqual((success["imageUri"], success["digest"]), (uri, outcome["digest"]))

    def test_shared_asset_built_once_pushed_twice(self):
        run = self.first
        builds = [e["message"] for e in run.of("build", SHARED)]
        self.assertEqual(len([m for m in builds if m.startswith("building")]), 1, builds)
        self.assertEqual(len([m for m in builds if m.startswith("built")]), 1, builds)
        # A fresh daemon has no earlier build to reuse: a `cached` event would mean a second
        # job for the same asset that happened to find the first one's image.
        self.assertEqual(run.of("cached", SHARED), [])
        regions = {a["destination"]: a["state"] for a in run.summary["assets"] if a["asset"] == SHARED}
        self.assertEqual(len(regions), 2)
        self.assertEqual(set(regions.values()), {"published"})
        self.assertEqual(len(run.of("upload", SHARED)), 2)

    def test_executable_and_tarball_sources_published(self):
        for asset in (EXECUTABLE, TARBALL):
            outcome = self.first.outcome(asset)
            self.assertEqual(outcome["state"], "published", outcome)
            self.assertTrue(self.remote_exists(outcome["imageUri"]))
        executable = self.remote_files(self.first.outcome(EXECUTABLE)["imageUri"])
        self.assertIn("/executable.txt", executable)

    def test_one_assume_role_per_role(self):
        roles = collections.Counter(e["role_arn"] for e in self.operations(self.first_log, "AssumeRole"))
        self.assertEqual(roles, {role_arn("us-east-1"): 1, role_arn("eu-west-1"): 1})
        self.assertTrue(all(e["signature_verified"] for e in self.first_log))

    def test_user_docker_config_untouched_and_private_config_removed(self):
        self.assertEqual(self.first.code, OK, self.first.describe())
        after = dict(self.user_config_after)
        # The executable asset's own script runs `docker build` with the user's environment (as
        # cdk-assets runs it), and the docker CLI records a BuildKit node id in its config
        # folder; that file is the script's doing. assetctl's own commands use a private folder.
        after.pop(".buildNodeID", None)
        self.assertEqual(after, self.user_config_before)
        # assetctl did log in (somewhere else): the registry's AWS user got a token.
        self.assertTrue(self.operations(self.first_log, "GetAuthorizationToken"))
        leftovers = [name for name in self.tmpdir_after if name.startswith(("assetctl-docker-", "assetctl-logs-"))]
        self.assertEqual(leftovers, [])

    def test_second_publish_finds_everything(self):
        self.assertEqual(self.first.code, OK, self.first.describe())
        self.clear_log()
        run = self.assetctl("publish", "--json", "--path", PUBLISH_APP, *image_selectors(PUBLISH_APP))
        log = self.log()
        self.assertEqual(run.code, OK, run.describe())
        self.assertEqual((run.summary["builds"], run.summary["pushes"]), (0, 0))
        self.assertEqual(set(run.states().values()), {"present"}, run.states())
        self.assertEqual(len(run.states()), len(self.targets))
        self.assertEqual(run.of("build") + run.of("upload"), [])
        self.assertEqual(len(run.of("found")), len(self.targets))
        # One BatchGetImage per repository (both regions' repositories), no registry login.
        batch = self.operations(log, "BatchGetImage")
        self.assertEqual(sorted(e["repository_name"] for e in batch),
                         sorted([repository("eu-west-1"), repository("us-east-1")]))
        self.assertEqual(self.operations(log, "GetAuthorizationToken"), [])

    def test_build_args_target_and_secret_in_published_images(self):
        self.assertEqual(self.first.code, OK, self.first.describe())
        args = self.remote_files(self.first.outcome(ARGS_TARGET)["imageUri"])
        self.assertEqual(args["/greeting.txt"], b"hello from publish-app\n")
        self.assertEqual(args["/spaced.txt"], b"two  spaces and a = sign\n")
        self.assertEqual(args["/marker.txt"], b"publish-app args-target image\n")  # stage `final`

        secret_file = PUBLISH_APP / ("asset." + SECRET_NETWORK) / "secret.txt"
        secret = secret_file.read_bytes()
        image = self.remote_files(self.first.outcome(SECRET_NETWORK)["imageUri"])
        self.assertEqual(int(image["/secret-bytes.txt"].strip()), len(secret))
        for path, content in image.items():
            self.assertNotIn(secret.strip(), content, path)
        # networkMode host: the build step saw the daemon's bridge, not a container's eth0.
        self.assertIn(self.daemon.bridge.encode(), image["/net-interfaces.txt"])


class BuildOnly(PublishCase):
    """`assetctl build` (case 4): without credentials in setUpClass, then --force."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clear_log()
        cls.first = cls.assetctl("build", "--json", "--path", PUBLISH_APP, *image_selectors(PUBLISH_APP),
                                env=cls.env(credentials=False))
        cls.first_log = cls.log()

    def test_build_without_credentials(self):
        run = self.first
        self.assertEqual(run.code, OK, run.describe())
        targets = manifest_targets(PUBLISH_APP)
        self.assertEqual(set(run.states()), set(targets))
        self.assertEqual(set(run.states().values()), {"built"}, run.states())
        self.assertEqual((run.summary["builds"], run.summary["pushes"]), (len({a for a, _ in targets}), 0))
        for asset in directory_assets(PUBLISH_APP):
            self.assertIsNotNone(self.local_image_id("cdkasset-" + asset), asset)
        # The tarball was read and checked, not loaded: it is pushed without the engine.
        self.assertIsNone(self.local_image_id(TARBALL_IMAGE))
        self.assertEqual(self.first_log, [])  # nothing reached the endpoint
        self.assertEqual(self.catalog(), [])

    def test_force_rebuilds_without_consulting_ecr(self):
        self.assertEqual(self.first.code, OK, self.first.describe())
        before = {asset: self.local_image_id("cdkasset-" + asset) for asset in directory_assets(PUBLISH_APP)}
        self.assertNotIn(None, before.values())
        self.clear_log()
        # With credentials this time: --force must not consult ECR all the same.
        run = self.assetctl("build", "--force", "--json", "--path", PUBLISH_APP, *image_selectors(PUBLISH_APP))
        self.assertEqual(run.code, OK, run.describe())
        self.assertEqual(run.of("cached"), [])
        for asset in before:
            building = [e for e in run.of("build", asset) if e["message"].startswith("building")]
            self.assertEqual(len(building), 1, (asset, run.of("build", asset)))
        self.assertEqual(set(run.states().values()), {"built"})
        self.assertEqual(self.log(), [])
        # --no-cache asset: really rebuilt (a fresh /build-id.txt gives a new image id).
        self.assertNotEqual(self.local_image_id("cdkasset-" + NO_CACHE), before[NO_CACHE])


class DryRun(PublishCase):
    """`publish --dry-run` against an empty registry (case 5)."""

    def test_dry_run_plans_and_changes_nothing(self):
        images_before = self.local_images()
        self.clear_log()
        run = self.assetctl("publish", "--dry-run", "--json", "--path", PUBLISH_APP, *image_selectors(PUBLISH_APP))
        log = self.log()
        self.assertEqual(run.code, OK, run.describe())
        self.assertEqual(set(run.states()), set(manifest_targets(PUBLISH_APP)))
        self.assertEqual(set(run.states().values()), {"planned"}, run.states())
        self.assertEqual((run.summary["builds"], run.summary["pushes"]), (0, 0))
        self.assertEqual([e for e in run.of("build") if e["message"].startswith(("building", "built"))], [])
        self.assertEqual(self.catalog(), [])
        for outcome in run.summary["assets"]:
            self.assertFalse(self.remote_exists(outcome["imageUri"]), outcome)
        self.assertEqual(self.local_images(), images_before)
        self.assertTrue(self.operations(log, "BatchGetImage"))  # it did check ECR
        self.assertEqual(self.operations(log, "GetAuthorizationToken"), [])


class Failures(PublishCase):
    """Failing builds, missing repositories, no engine, --fail-fast and Ctrl-C (cases 6-8)."""

    def setUp(self):
        self.clear_log()

    def test_failing_build_does_not_stop_the_good_asset(self):
        bad, good = self.fresh("bad"), self.fresh("good")
        path = self.assembly([
            (bad, BAD_DOCKERFILE, {"d": self.destination(bad)}),
            (good, GOOD_DOCKERFILE, {"d": self.destination(good)}),
        ])
        run = self.assetctl("publish", "--json", "--path", path)
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        self.assertFalse(run.summary["ok"])
        self.assertEqual(run.states(), {(bad, "d"): "failed", (good, "d"): "published"})
        (failure,) = run.of("fail", bad)
        self.assertTrue(any(BAD_MARK in line for line in failure.get("output", [])), failure)
        self.assertTrue(run.outcome(bad)["error"])
        good_uri = run.outcome(good)["imageUri"]
        self.assertEqual(self.remote_digest(good_uri), run.outcome(good)["digest"])
        self.assertFalse(self.remote_exists(good_uri.rsplit(":", 1)[0] + ":" + bad))

    def test_missing_repository_is_not_bootstrapped(self):
        asset = self.fresh("norepo")
        path = self.assembly([(asset, GOOD_DOCKERFILE, {"d": self.destination(
            asset, repository_name="does-not-exist", role=False)})])
        run = self.assetctl("publish", "--json", "--path", path)
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        outcome = run.outcome(asset)
        self.assertEqual(outcome["state"], "failed")
        self.assertIn("Is this account bootstrapped?", outcome["error"])
        self.assertEqual(run.of("build") + run.of("upload"), [])
        self.assertEqual(self.operations(self.log(), "GetAuthorizationToken"), [])

    def test_engine_not_running(self):
        asset = self.fresh("noengine")
        path = self.assembly([(asset, GOOD_DOCKERFILE, {"d": self.destination(asset)})])
        run = self.assetctl("publish", "--json", "--path", path,
                            env=self.env(DOCKER_HOST="unix:///nonexistent.sock"))
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        error = [line for line in run.err.splitlines() if line.startswith("assetctl: error:")]
        self.assertEqual(len(error), 1, run.err)
        self.assertIn("container engine", error[0])
        self.assertIn("docker", error[0])
        self.assertIn("unix:///nonexistent.sock", error[0])
        self.assertEqual(self.operations(self.log(), "GetAuthorizationToken"), [])
        self.assertFalse(self.remote_exists("%s/%s:%s" % (self.registry["host"], repository(REGION), asset)))

    def test_fail_fast_skips_everything_after_the_first_failure(self):
        bad, good1, good2 = self.fresh("bad"), self.fresh("good"), self.fresh("good")
        path = self.assembly([
            (bad, BAD_DOCKERFILE, {"d": self.destination(bad)}),
            (good1, GOOD_DOCKERFILE, {"d": self.destination(good1)}),
            (good2, GOOD_DOCKERFILE, {"us": self.destination(good2),
                                      "eu": self.destination(good2, region="eu-west-1")}),
        ])
        run = self.assetctl("publish", "--fail-fast", "--build-jobs", "1", "--json", "--path", path)
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        self.assertEqual(run.states(), {(bad, "d"): "failed", (good1, "d"): "skipped",
                                        (good2, "us"): "skipped", (good2, "eu"): "skipped"})
        for asset in (good1, good2):
            self.assertEqual(run.of("build", asset) + run.of("upload", asset), [])
            self.assertIsNone(self.local_image_id("cdkasset-" + asset))
            for destination in run.summary["assets"]:
                if destination["asset"] == asset:
                    self.assertFalse(self.remote_exists(destination["imageUri"]), destination)
        self.assertEqual(run.summary["pushes"], 0)

    def test_sigint_during_push(self):
        """Ctrl-C while the engine's push is under way: exit 130 within seconds, the push's whole
        process group stopped, the private DOCKER_CONFIG removed, and no tag. The fake engine's
        push (partial_push.py, a child of the engine command) has uploaded blobs and tags the
        image as soon as the test releases it, so a push that outlived assetctl would tag."""
        state = self.dir / self.fresh("fake-engine")
        state.mkdir()
        engine = state / "fake_engine.sh"  # a copy, so the exec bit does not depend on the checkout
        shutil.copyfile(FAKE_ENGINE, engine)
        engine.chmod(0o755)
        asset = self.fresh("interrupted")
        path = self.assembly([(asset, GOOD_DOCKERFILE, {"d": self.destination(asset)})])
        out, err = open(state / "stdout", "w+"), open(state / "stderr", "w+")
        self.addCleanup(out.close)
        self.addCleanup(err.close)
        proc = subprocess.Popen([BIN, "publish", "--push-mode", "docker", "--json", "--docker", str(engine),
                                 "--path", str(path)],
                                stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=self.env(FAKE_ENGINE_STATE=str(state), FAKE_ENGINE_PUSHER=str(PARTIAL_PUSH),
                                             FAKE_ENGINE_CA=self.registry["ca_cert"],
                                             FAKE_ENGINE_AUTH="%s:%s" % (self.registry["admin_user"],
                                                                         self.registry["admin_password"])))
        release = state / "release"

        def stop_leftovers():
            release.touch()  # a surviving pusher finishes (and ends) instead of waiting
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for name in ("push-pid", "pusher-pid"):
                pid_file = state / name
                if not pid_file.exists():
                    continue
                pid = int(pid_file.read_text())
                try:  # only the fake push this test started, and only while it is still that
                    cmdline = Path("/proc/%d/cmdline" % pid).read_text(errors="replace")
                    if "fake_engine.sh" in cmdline or "partial_push.py" in cmdline:
                        os.kill(pid, signal.SIGKILL)
                except (FileNotFoundError, ProcessLookupError):
                    pass

        self.addCleanup(stop_leftovers)
        partial = state / "partial"
        wait_for(lambda: partial.exists() or proc.poll() is not None, 90, "the push to upload its blobs")
        self.assertTrue(partial.exists(), "assetctl ended before pushing: exit %s\n%s" % (
            proc.returncode, (state / "stderr").read_text()))
        wait_for(lambda: (state / "push-pid").exists(), 10, "the fake engine's pid")
        push_pid = int((state / "push-pid").read_text())
        push_group = os.getpgid(push_pid)
        self.assertNotEqual(push_group, os.getpgid(0))  # the engine command has its own group
        private_config = (state / "docker-config").read_text().strip()
        self.assertTrue(Path(private_config).is_dir())
        self.assertTrue(private_config.startswith(str(self.tmpdir / "assetctl-docker-")), private_config)
        ref = "%s/%s:%s" % (self.registry["host"], repository(REGION), asset)
        blobs = json.loads(partial.read_text())
        self.assertTrue(self.blob_exists(repository(REGION), blobs["layer"]["digest"]))  # the push was real

        os.kill(proc.pid, signal.SIGINT)
        started = time.monotonic()
        code = proc.wait(timeout=20)
        self.assertEqual(code, INTERRUPTED, (state / "stderr").read_text())
        self.assertLess(time.monotonic() - started, 10)
        release.touch()
        wait_for(lambda: group_gone(push_group) or (state / "tagged").exists(), 10,
                 "the push's process group (%d) to be gone" % push_group)
        self.assertFalse(self.remote_exists(ref))
        self.assertFalse((state / "tagged").exists())
        self.assertTrue(pid_gone(push_pid))
        self.assertFalse(os.path.exists(private_config))


if __name__ == "__main__":
    main()
