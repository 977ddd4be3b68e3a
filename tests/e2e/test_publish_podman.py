"""End-to-end: podman 4.3 (Debian) as the engine (CDK_DOCKER), rootful with vfs storage (issue #12).

A private podman environment (tests/support/podman.py: its own storage, containers.conf,
registries.conf and REGISTRY_AUTH_FILE) builds the images; assetctl finds it through CDK_DOCKER,
which names recording_engine.py, a wrapper that logs every engine call's argv and execs
/usr/bin/podman. The stack (tests/support/stack.py, `repository_uri_host: registry`) gives the
ECR/STS endpoint and one TLS registry with htpasswd auth. podman trusts the registry's CA the
way containers/image looks for it: $HOME/.config/containers/certs.d/<host:port>/ca.crt, with
HOME the test's own folder (assetctl's HOME, from isolated_aws); nothing is marked insecure.

What was published is read back with skopeo (PublishCase's helpers from test_publish.py, which
need no docker daemon); what assetctl did comes from its `--json` summary and the engine's call
log, never from log text.

  * PodmanPublishApp: the publish-app's image assets with `--push-mode docker --tarball-mode
    docker` (podman login, tag, push; the tarball through `podman load`, whose name is
    `localhost/...`), again (everything present, no engine build), then with new tags and one
    local image gone (podman inspect exits 125: a build, not an error).
  * PodmanBuildOptions: dockerBuildContexts with a relative path (cdk-assets runs the build in
    the asset directory), cacheTo/cacheFrom with the bare repository reference podman takes
    (proved by a RUN step's random uuid surviving the loss of every local layer), and options
    podman lacks refused for that asset only, before any build.

Native pushes with podman (the default --push-mode) are test_publish_native.py's
NativePublishPodman; this file does not repeat them.

    ASSETCTL_BIN=... ASSETCTL_SOURCE_DIR=... python3 tests/e2e/test_publish_podman.py [-v] [Class]
"""
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from assetctl_run import (ASSETS_FAILED, BIN, OK, Run, environment_without, isolated_aws,  # noqa: E402
                          main, missing_path, skip)

PODMAN = "/usr/bin/podman"
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"

if os.geteuid() != 0:
    skip("needs root (rootful podman with vfs storage)")
if missing_path((PODMAN, SKOPEO, "/usr/bin/docker-registry", "/bin/busybox", "/usr/bin/htpasswd")):
    skip(missing_path((PODMAN, SKOPEO, "/usr/bin/docker-registry", "/bin/busybox", "/usr/bin/htpasswd")))
try:
    import botocore.session  # noqa: E402,F401  (the endpoint verifies signatures with it)
    import podman as podman_support  # noqa: E402
    from stack import Stack  # noqa: E402
    # The publish-app's ids and the skopeo helpers; PublishCase itself is only used as a base
    # (its dockerd-starting setUpClass is replaced below).
    from test_publish import (ARGS_TARGET, EXECUTABLE, NO_CACHE, PUBLISH_APP, SECRET_NETWORK,  # noqa: E402
                              SHARED, STAGED, SUBDIR, TARBALL, TARBALL_IMAGE, PublishCase, image_selectors,
                              manifest_targets, tarball_image_id)
except ImportError as error:
    skip(error)

RECORDING_ENGINE = HERE / "recording_engine.py"
RUN_TIMEOUT = 240
UUID_DOCKERFILE = ("FROM local/busybox:latest\n"
                   "RUN echo {token} > /token.txt && cat /proc/sys/kernel/random/uuid > /uuid.txt\n")


def subcommand(argv):
    """The engine subcommand words of one call: ["image", "inspect"], ["build"], ..."""
    words = [word for word in argv if not word.startswith("-")]
    return words[:2] if words[:1] in (["image"], ["container"], ["system"]) else words[:1]


def option_value(argv, flag):
    """The values of `flag X` (and `flag=X`) in argv, in order."""
    values = []
    for index, word in enumerate(argv):
        if word == flag and index + 1 < len(argv):
            values.append(argv[index + 1])
        elif word.startswith(flag + "="):
            values.append(word[len(flag) + 1:])
    return values


class PodmanCase(PublishCase):
    """A private podman (busybox imported), a stack whose repository URIs point at its TLS
    registry, podman trusting that registry's CA through $HOME's certs.d, and the recording
    engine as CDK_DOCKER. PublishCase's skopeo and endpoint helpers work unchanged."""

    @classmethod
    def setUpClass(cls):  # noqa: N802 - not PublishCase's: no dockerd here
        cls.tmp = tempfile.TemporaryDirectory(prefix="assetctl-e2e-podman-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.dir = Path(cls.tmp.name)
        cls.podman = podman_support.Podman(state_dir=str(cls.dir / "podman"))
        cls.addClassCleanup(cls.podman.stop, remove_files=True)
        cls.podman.start()
        cls.podman.import_busybox()
        cls.stack = Stack(extra_config={"repository_uri_host": "registry"})
        cls.addClassCleanup(cls.stack.stop)
        cls.info = cls.stack.start()
        cls.url = cls.info["endpoint_url"]
        cls.registry = cls.info["registry"]
        cls.home = cls.dir / "home"
        certs = cls.home / ".config" / "containers" / "certs.d" / cls.registry["host"]
        certs.mkdir(parents=True)
        shutil.copyfile(cls.registry["ca_cert"], certs / "ca.crt")
        cls.tmpdir = cls.dir / "tmpdir"
        cls.tmpdir.mkdir()
        cls.wrapper = cls.dir / "recording_engine.py"  # a copy: the exec bit does not depend on the checkout
        shutil.copyfile(RECORDING_ENGINE, cls.wrapper)
        cls.wrapper.chmod(0o755)
        cls.runs = 0

    # --- environment and running --------------------------------------------------------------

    @classmethod
    def env(cls, engine_log=None, **extra):
        base = environment_without(("AWS_", "DOCKER_", "CONTAINERS_", "RECORDING_ENGINE_"),
                                   ("CDK_DOCKER", "TMPDIR", "REGISTRY_AUTH_FILE"))
        env = cls.podman.env(base=base)
        env.update(cls.info["env"])
        env.update(isolated_aws(cls.home))   # HOME: podman's certs.d for the registry's CA
        env.update({
            "TMPDIR": str(cls.tmpdir),
            "NO_COLOR": "1",
            "AWS_CA_BUNDLE": cls.registry["ca_cert"],
            "CDK_DOCKER": str(cls.wrapper),
            "RECORDING_ENGINE_REAL": PODMAN,
            "RECORDING_ENGINE_LOG": str(engine_log or os.devnull),
        })
        env.update(extra)
        return env

    @classmethod
    def publish(cls, path, *args, push_mode="docker"):
        """-> (Run, [engine calls]) of `assetctl publish --json --push-mode M args --path path`."""
        cls.runs += 1
        engine_log = cls.dir / ("engine-calls-%d.jsonl" % cls.runs)
        engine_log.touch()
        proc = subprocess.run([BIN, "publish", "--json", "--push-mode", push_mode, *map(str, args),
                               "--path", str(path)],
                              capture_output=True, text=True, env=cls.env(engine_log), timeout=RUN_TIMEOUT)
        calls = [json.loads(line)["argv"] for line in engine_log.read_text().splitlines() if line.strip()]
        return Run(proc.returncode, proc.stdout, proc.stderr), calls

    @classmethod
    def local_image_id(cls, ref):
        return cls.podman.image_id(ref)

    @classmethod
    def remove_image_everywhere(cls, image_id):
        """Every tag of the image and the image itself gone from podman's storage."""
        cls.podman.podman("rmi", "--force", image_id.removeprefix("sha256:"))

    @staticmethod
    def builds_of(calls, tag):
        return [argv for argv in calls if subcommand(argv) == ["build"] and tag in option_value(argv, "--tag")]

    def describe(self, run, calls):
        return run.describe() + "\n--- engine calls\n" + "\n".join(" ".join(argv) for argv in calls)


class PodmanPublishApp(PodmanCase):
    """The publish-app's image assets with podman's own login, tag and push, and the tarball
    through `podman load`; then again; then new tags with one local image gone."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.targets = manifest_targets(PUBLISH_APP)
        cls.missing_before = {asset: cls.podman.podman("inspect", "cdkasset-" + asset, check=False).returncode
                              for asset in (SUBDIR, SHARED)}
        cls.first, cls.first_calls = cls.publish(PUBLISH_APP, "--tarball-mode", "docker",
                                                 *image_selectors(PUBLISH_APP))
        cls.first_local = {outcome["imageUri"]: cls.local_image_id(outcome["imageUri"])
                           for outcome in cls.first.summary["assets"]}
        cls.second, cls.second_calls = cls.publish(PUBLISH_APP, "--tarball-mode", "docker",
                                                   *image_selectors(PUBLISH_APP))

    def test_every_image_published_with_podman(self):
        run, calls = self.first, self.first_calls
        self.assertEqual(run.code, OK, self.describe(run, calls))
        self.assertEqual(set(run.states()), set(self.targets))
        self.assertEqual(set(run.states().values()), {"published"}, run.states())
        self.assertEqual(run.summary["pushes"], len(self.targets))
        for outcome in run.summary["assets"]:
            uri = outcome["imageUri"]
            with self.subTest(uri=uri):
                self.assertTrue(uri.startswith(self.registry["host"] + "/"), uri)
                self.assertEqual(outcome["method"], "docker", outcome)
                # podman prints no digest: assetctl has it from --digestfile.
                self.assertEqual(outcome["digest"], self.remote_digest(uri), outcome)
                config = self.remote_manifest(uri)["config"]["digest"]
                # The pushed image is the one podman holds under the remote name it tagged.
                self.assertEqual(config, self.first_local[uri])
                if outcome["asset"] == TARBALL:
                    self.assertEqual(config, tarball_image_id(PUBLISH_APP / ("asset.%s.tar" % TARBALL)))
                elif outcome["asset"] != EXECUTABLE:
                    self.assertEqual(config, self.local_image_id("cdkasset-" + outcome["asset"]))
        tags = [argv for argv in calls if subcommand(argv) == ["tag"]]
        pushes = [argv for argv in calls if subcommand(argv) == ["push"]]
        self.assertEqual(sorted(argv[-1] for argv in pushes), sorted(o["imageUri"] for o in run.summary["assets"]))
        self.assertEqual(sorted(argv[-1] for argv in tags), sorted(argv[-1] for argv in pushes))
        logins = {argv[-1] for argv in calls if subcommand(argv) == ["login"]}
        self.assertEqual(logins, {self.registry["host"]}, calls)

    def test_logins_never_reach_the_users_registry_auth_file(self):
        """podman logs in to REGISTRY_AUTH_FILE when it is set (the test's podman environment
        sets it): assetctl points it at its private copy, so the user's file stays as it was."""
        self.assertEqual(self.first.code, OK, self.describe(self.first, self.first_calls))
        user_file = Path(self.podman.env()["REGISTRY_AUTH_FILE"])
        self.assertEqual(json.loads(user_file.read_text()), {})

    def test_published_images_hold_the_expected_files(self):
        self.assertEqual(self.first.code, OK, self.describe(self.first, self.first_calls))
        files = {asset: self.remote_files(self.first.outcome(asset, destination)["imageUri"])
                 for asset, destination in self.targets}
        self.assertEqual(files[ARGS_TARGET]["/greeting.txt"], b"hello from publish-app\n")
        self.assertEqual(files[ARGS_TARGET]["/spaced.txt"], b"two  spaces and a = sign\n")
        self.assertEqual(files[ARGS_TARGET]["/marker.txt"], b"publish-app args-target image\n")
        secret = (PUBLISH_APP / ("asset." + SECRET_NETWORK) / "secret.txt").read_bytes()
        self.assertEqual(int(files[SECRET_NETWORK]["/secret-bytes.txt"].strip()), len(secret))
        for path, content in files[SECRET_NETWORK].items():
            self.assertNotIn(secret.strip(), content, path)
        self.assertEqual(files[NO_CACHE]["/arch.txt"], b"x86_64\n")
        self.assertRegex(files[NO_CACHE]["/build-id.txt"].decode(), r"^[0-9a-f-]{36}\n$")
        for asset, name in ((SUBDIR, "subdir.txt"), (SHARED, "shared.txt"), (STAGED, "staged.txt")):
            folder = next(PUBLISH_APP.rglob("asset." + asset))
            expected = next(p for p in folder.rglob(name)).read_bytes()
            self.assertEqual(files[asset]["/" + name], expected, asset)
        self.assertIn("/executable.txt", files[EXECUTABLE])

    def test_missing_local_image_is_built_after_inspect_exit_125(self):
        """podman says 125 for an image it does not have; assetctl asked, then built."""
        run, calls = self.first, self.first_calls
        self.assertEqual(run.code, OK, self.describe(run, calls))
        self.assertEqual(self.missing_before, {SUBDIR: 125, SHARED: 125})
        for asset in {a for a, _ in self.targets} - {TARBALL, EXECUTABLE}:
            with self.subTest(asset=asset):
                tag = "cdkasset-" + asset
                inspects = [i for i, argv in enumerate(calls) if subcommand(argv) == ["inspect"] and argv[-1] == tag]
                builds = [i for i, argv in enumerate(calls) if argv in self.builds_of(calls, tag)]
                self.assertEqual(len(builds), 1, calls)
                self.assertTrue(inspects and inspects[0] < builds[0], calls)
                self.assertEqual(len([e for e in run.of("build", asset) if e["message"].startswith("building")]), 1)
                self.assertEqual(run.of("cached", asset), [])

    def test_tarball_goes_through_podman_load(self):
        run, calls = self.first, self.first_calls
        self.assertEqual(run.code, OK, self.describe(run, calls))
        tarball = str(PUBLISH_APP / ("asset.%s.tar" % TARBALL))
        loads = [argv for argv in calls if subcommand(argv) == ["load"]]
        self.assertEqual(loads, [["load", "-i", tarball]])
        # podman stores the tarball's unqualified name under localhost/; assetctl tags the
        # image it loaded, whichever name it gives.
        self.assertEqual(self.local_image_id("localhost/" + TARBALL_IMAGE),
                         tarball_image_id(PUBLISH_APP / ("asset.%s.tar" % TARBALL)))
        uri = run.outcome(TARBALL)["imageUri"]
        (tag,) = [argv for argv in calls if subcommand(argv) == ["tag"] and argv[-1] == uri]
        self.assertEqual(self.local_image_id(tag[-2]), tarball_image_id(PUBLISH_APP / ("asset.%s.tar" % TARBALL)))
        self.assertEqual(run.outcome(TARBALL)["method"], "docker")

    def test_second_publish_finds_everything(self):
        run, calls = self.second, self.second_calls
        self.assertEqual(run.code, OK, self.describe(run, calls))
        self.assertEqual((run.summary["builds"], run.summary["pushes"]), (0, 0))
        self.assertEqual(set(run.states().values()), {"present"}, run.states())
        self.assertEqual(len(run.states()), len(self.targets))
        self.assertEqual([argv for argv in calls if subcommand(argv) in (["build"], ["load"], ["push"], ["login"])],
                         [], calls)

    def retagged_copy(self):
        """A copy of the publish-app whose every image destination has a new tag."""
        suffix = secrets.token_hex(4)
        app = self.dir / ("publish-app-" + suffix)
        shutil.copytree(PUBLISH_APP, app, symlinks=True)
        for path in app.rglob("*.assets.json"):
            document = json.loads(path.read_text())
            for asset_id, asset in document.get("dockerImages", {}).items():
                for destination in asset["destinations"].values():
                    destination["imageTag"] = "%s-%s" % (asset_id, suffix)
            path.write_text(json.dumps(document, indent=1))
        return app

    def test_native_push_gives_the_same_images(self):
        """The same assets under new tags with assetctl's own push (the default): the
        registry holds the same images (config digests) as podman's push gave."""
        self.assertEqual(self.first.code, OK, self.describe(self.first, self.first_calls))
        run, calls = self.publish(self.retagged_copy(), *image_selectors(PUBLISH_APP), push_mode="native")
        self.assertEqual(run.code, OK, self.describe(run, calls))
        self.assertEqual(set(run.states().values()), {"published"}, run.states())
        # Every directory asset's local image reused (the executable's script builds anew).
        self.assertEqual([argv for argv in calls if subcommand(argv) == ["build"] and option_value(argv, "--tag")],
                         [], calls)
        self.assertEqual([argv for argv in calls if subcommand(argv) in (["login"], ["push"], ["tag"])], [], calls)
        for outcome in run.summary["assets"]:
            with self.subTest(asset=outcome["asset"], destination=outcome["destination"]):
                self.assertEqual(outcome["method"], "native", outcome)
                via_podman = self.first.outcome(outcome["asset"], outcome["destination"])["imageUri"]
                self.assertEqual(self.remote_manifest(outcome["imageUri"])["config"]["digest"],
                                 self.remote_manifest(via_podman)["config"]["digest"])
                self.assertEqual(self.remote_digest(outcome["imageUri"]), outcome["digest"])

    def test_z_new_tags_with_one_local_image_gone(self):
        """New destination tags (ECR lacks them) for two assets; podman lost one's local
        name: that one is built again, the other's local image is reused."""
        self.assertEqual(self.first.code, OK, self.describe(self.first, self.first_calls))
        app = self.retagged_copy()
        kept = self.local_image_id("cdkasset-" + SHARED)
        self.podman.podman("rmi", "cdkasset-" + SUBDIR)     # the name only (other tags keep the image)
        self.assertEqual(self.podman.podman("inspect", "cdkasset-" + SUBDIR, check=False).returncode, 125)
        run, calls = self.publish(app, SUBDIR, SHARED)
        self.assertEqual(run.code, OK, self.describe(run, calls))
        self.assertEqual(set(run.states().values()), {"published"}, run.states())
        self.assertEqual(len(self.builds_of(calls, "cdkasset-" + SUBDIR)), 1, calls)
        self.assertEqual(self.builds_of(calls, "cdkasset-" + SHARED), [], calls)
        self.assertEqual(len(run.of("cached", SHARED)), 1, run.describe())
        self.assertEqual(run.summary["builds"], 1)
        for outcome in run.summary["assets"]:
            config = self.remote_manifest(outcome["imageUri"])["config"]["digest"]
            self.assertEqual(config, self.local_image_id("cdkasset-" + outcome["asset"]), outcome)
        self.assertEqual(self.local_image_id("cdkasset-" + SHARED), kept)


class PodmanBuildOptions(PodmanCase):
    """Build options through podman: named build contexts, registry cache, and refusals."""

    def write_assembly(self, images):
        """images: [(asset id, {file: text}, extra source fields)], one destination each (tag =
        asset id). Returns the *.assets.json path; asset folders are asset.<id> next to it."""
        root = Path(tempfile.mkdtemp(dir=self.dir, prefix="assembly-"))
        docker_images = {}
        for asset_id, files, extra in images:
            folder = root / ("asset." + asset_id)
            folder.mkdir()
            for name, text in files.items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(text)
            docker_images[asset_id] = {"source": {"directory": "asset." + asset_id, **extra},
                                       "destinations": {"d": self.destination(asset_id)}}
        path = root / "Podman.assets.json"
        path.write_text(json.dumps({"version": "55.0.0", "dockerImages": docker_images}, indent=1))
        return path

    def test_build_contexts_relative_and_absolute(self):
        """`COPY --from=extra`: the file comes from the named folder. A relative path is
        relative to the asset directory (cdk-assets runs the build there)."""
        relative, absolute = self.fresh("ctx-rel"), self.fresh("ctx-abs")
        dockerfile = "FROM scratch\nCOPY --from=extra /x.txt /x.txt\n"
        outside = Path(tempfile.mkdtemp(dir=self.dir, prefix="extra-abs-"))
        (outside / "x.txt").write_text("absolute context %s\n" % absolute)
        path = self.write_assembly([
            (relative, {"Dockerfile": dockerfile, "../extra-rel/x.txt": "relative context %s\n" % relative,
                        "x.txt": "the asset's own x.txt: wrong\n"},
             {"dockerBuildContexts": {"extra": "../extra-rel"}}),
            (absolute, {"Dockerfile": dockerfile}, {"dockerBuildContexts": {"extra": str(outside)}}),
        ])
        run, calls = self.publish(path)
        self.assertEqual(run.code, OK, self.describe(run, calls))
        self.assertEqual(set(run.states().values()), {"published"}, run.states())
        self.assertEqual(option_value(self.builds_of(calls, "cdkasset-" + relative)[0], "--build-context"),
                         ["extra=../extra-rel"])
        self.assertEqual(self.remote_files(run.outcome(relative)["imageUri"])["/x.txt"],
                         ("relative context %s\n" % relative).encode())
        self.assertEqual(self.remote_files(run.outcome(absolute)["imageUri"])["/x.txt"],
                         ("absolute context %s\n" % absolute).encode())

    def remote_tags(self, repository):
        result = subprocess.run([SKOPEO, "list-tags", "--cert-dir", self.registry["cert_dir"], "--creds",
                                 "%s:%s" % (self.registry["admin_user"], self.registry["admin_password"]),
                                 "docker://" + repository], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)["Tags"]

    def remote_uuid(self, run, asset):
        return self.remote_files(run.outcome(asset)["imageUri"])["/uuid.txt"]

    def layers(self, ref):
        return json.loads(self.podman.podman("image", "inspect", "--format", "{{json .RootFS.Layers}}", ref).stdout)

    def forget_locally(self, run, asset):
        """The asset's image (every tag: cdkasset-, the pushed name, a cache tag) gone from
        podman's storage, and no image left that holds its RUN layer: no later build can reuse
        that layer locally."""
        image_id = self.local_image_id("cdkasset-" + asset)  # pushed natively: no remote tag here
        self.assertIsNotNone(image_id)
        run_layer = self.layers(image_id.removeprefix("sha256:"))[-1]
        self.remove_image_everywhere(image_id)
        self.podman.podman("image", "prune", "--force")             # dangling intermediates
        self.assertIsNone(self.local_image_id(image_id.removeprefix("sha256:")))
        for left in set(self.podman.podman("images", "--all", "--format", "{{.ID}}").stdout.split()):
            self.assertNotIn(run_layer, self.layers(left), left)

    def test_registry_cache_to_and_from_with_the_bare_repository(self):
        """A writes its layers to the cache repository; with every local layer gone, C (no
        cacheFrom) runs the RUN step again (a new uuid), B (cacheFrom) gets A's layer back."""
        token = secrets.token_hex(8)
        cache = "%s/podman-cache-%s" % (self.registry["host"], token)
        option = {"type": "registry", "params": {"ref": cache}}
        files = {"Dockerfile": UUID_DOCKERFILE.format(token=token)}
        a, b, c = self.fresh("cache-a"), self.fresh("cache-b"), self.fresh("cache-c")
        # The cache is pushed during the build and pulled before it, from the destination's
        # registry: assetctl logs podman in to it before the build, even under native pushes
        # (which need no engine login otherwise: C has none).
        run_a, calls_a = self.publish(self.write_assembly([(a, files, {"cacheTo": option})]), push_mode="native")
        self.assertEqual(run_a.code, OK, self.describe(run_a, calls_a))
        words = [subcommand(argv) for argv in calls_a]
        self.assertIn(["login"], words, calls_a)
        self.assertLess(words.index(["login"]), words.index(["build"]), calls_a)
        self.assertEqual([argv[-1] for argv in calls_a if subcommand(argv) == ["login"]], [self.registry["host"]])
        (build_a,) = self.builds_of(calls_a, "cdkasset-" + a)
        self.assertEqual(option_value(build_a, "--cache-to"), [cache])
        tags = self.remote_tags(cache)
        self.assertTrue(tags, "podman pushed no cache to %s" % cache)
        uuid_a = self.remote_uuid(run_a, a)
        self.forget_locally(run_a, a)

        run_c, calls_c = self.publish(self.write_assembly([(c, files, {})]), push_mode="native")
        self.assertEqual(run_c.code, OK, self.describe(run_c, calls_c))
        self.assertNotIn(["login"], [subcommand(argv) for argv in calls_c], calls_c)
        self.assertNotEqual(self.remote_uuid(run_c, c), uuid_a)      # the control: the step ran
        self.forget_locally(run_c, c)

        run_b, calls_b = self.publish(self.write_assembly([(b, files, {"cacheFrom": [option]})]), push_mode="native")
        self.assertEqual(run_b.code, OK, self.describe(run_b, calls_b))
        (build_b,) = self.builds_of(calls_b, "cdkasset-" + b)
        self.assertEqual(option_value(build_b, "--cache-from"), [cache])
        self.assertEqual(self.remote_uuid(run_b, b), uuid_a)         # A's layer, from the registry

    def test_options_podman_lacks_fail_that_asset_before_the_build(self):
        """A local cache, an OCI output and a tagged registry cache reference (podman 4.3 takes
        a repository only: `repository must contain neither a tag nor digest`, exit 125) each
        fail their asset with the option and podman named, and no build of it runs; the plain
        asset next to them is published."""
        local_cache, oci, tagged, good = (self.fresh("local-cache"), self.fresh("oci-out"), self.fresh("tagged"),
                                          self.fresh("good"))
        tagged_ref = "%s/podman-cache-%s:cache" % (self.registry["host"], secrets.token_hex(4))
        files = {"Dockerfile": "FROM scratch\nCOPY payload.txt /payload.txt\n", "payload.txt": "payload\n"}
        path = self.write_assembly([
            (local_cache, files, {"cacheFrom": [{"type": "local", "params": {"src": str(self.dir / "cache")}}]}),
            (oci, files, {"dockerOutputs": ["type=oci,dest=%s" % (self.dir / "image.oci")]}),
            (tagged, files, {"cacheTo": {"type": "registry", "params": {"ref": tagged_ref}}}),
            (good, files, {}),
        ])
        run, calls = self.publish(path)
        self.assertEqual(run.code, ASSETS_FAILED, self.describe(run, calls))
        self.assertEqual(run.states(), {(local_cache, "d"): "failed", (oci, "d"): "failed", (tagged, "d"): "failed",
                                        (good, "d"): "published"})
        for asset, option, flag in ((local_cache, "cacheFrom", "--cache-from type=local,src="),
                                    (oci, "dockerOutputs", "--output=type=oci"),
                                    (tagged, "cacheTo", "--cache-to " + tagged_ref)):
            with self.subTest(asset=asset):
                error = run.outcome(asset)["error"]
                self.assertIn(option + " (" + flag, error)
                self.assertIn("podman", error)
                self.assertEqual(self.builds_of(calls, "cdkasset-" + asset), [], calls)
                self.assertFalse(self.remote_exists(run.outcome(asset)["imageUri"]))
        self.assertEqual(len(self.builds_of(calls, "cdkasset-" + good)), 1, calls)
        self.assertFalse((self.dir / "image.oci").exists())

if __name__ == "__main__":
    main()
