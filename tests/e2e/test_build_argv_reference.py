"""End-to-end (issue #12, "The reference behaviour"): assetctl runs `docker build` exactly as the
real cdk-assets 4.7.3 does, for every image asset of the fixture apps and of the real-world
assemblies in ../shared/testdata/realworld-cdk/.

Both tools publish the same asset manifests against the local stack (tests/support/stack.py: the
ECR/STS endpoint, botocore-verified SigV4, whose default config has every bootstrap role and
repository the manifests name: `${AWS::AccountId}`/`${AWS::Region}` resolve to account A in
us-east-1, the fixture apps pin account A in us-east-1 and eu-west-1; no destination is
rewritten), each with CDK_DOCKER set to argv_recording_engine.py: a stand-in engine that records
every call as a JSON line and answers like docker (no image before its build, then it exists;
login, tag, push succeed) without running any engine. Per asset manifest, cdk-assets runs
`cdk-assets -p <manifest> publish` and assetctl `assetctl publish --push-mode docker --path
<manifest>` (docker login, tag and push, like cdk-assets); then assetctl publishes the whole
assembly (`--path <assembly>`, its usual input), which also reaches nested assemblies. assetctl
runs under two engine identities of the stand-in, since its build options depend on the engine
and cdk-assets' do not: docker 20.10.24 without buildx (no `buildx version` query) and docker
27.5.1 with buildx. Every build call of assetctl must be the one cdk-assets made for that asset:
the same argv (the exact list, the local tag `cdkasset-<id lowercased>` included: both name it
so), the same working folder and BUILDX_NO_DEFAULT_ATTESTATIONS; a missing or different call
fails the test with the asset, the input, the engine and both calls. DOCKER_CONFIG's presence is
recorded and printed, not compared (assetctl's --push-mode docker uses a private DOCKER_CONFIG).
Each run starts with a stand-in that knows no image; a call it cannot answer fails the test.

The manifests are rewritten in a temporary copy of each assembly (relative paths resolve as in
the original): `"version": "48.0.0"` (cdk-assets 4.7.3 refuses schema 55) and only
`dockerImages` (file assets are not `docker build`). Image assets that are not `docker build`
either are left out, and so out of the comparison: `executable` sources (their command makes
the image) and tarball or OCI-layout `directory` sources (assetctl reads them without an
engine). Asset manifests are found through manifest.json (asset-manifest artifacts, nested
assemblies), never a glob (some real-world folders hold asset manifests their manifest.json does
not name).

FixtureApps: tests/fixtures/cdk-app and publish-app (tests/fixtures/cdk-v1-legacy has no asset
manifest: legacy synthesis, nothing either tool would build; checked to stay so). RealWorld: the
shared snapshots, whose asset folders are absent: each image asset's `directory` gets an empty
Dockerfile (or its `dockerFile`) in the copy; the class skips when ../shared/testdata (or
ASSETCTL_SHARED_TESTDATA) has no realworld-cdk. Both skip without node and npm (the reference
cdk-assets comes from npm; reference_cdk_assets of test_cdk_assets_cli.py installs bench/'s
lockfile). A skipped class makes the script exit 77.

ARGV_REFERENCE_SHOW=1 prints every compared call.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from assetctl_run import BIN, SOURCE_DIR, environment_without, isolated_aws, main, skip  # noqa: E402

if importlib.util.find_spec("botocore") is None:  # the endpoint verifies signatures with it
    skip("botocore is not installed")
from stack import Stack  # noqa: E402
from argv_recording_engine import command_words, is_known  # noqa: E402
from test_cdk_assets_cli import reference_cdk_assets  # noqa: E402

STAND_IN = str(HERE / "argv_recording_engine.py")
SCHEMA_VERSION = "48.0.0"
RUN_TIMEOUT = 120
LOCAL_TAG_PREFIX = "cdkasset-"  # cdk-assets' local tag: cdkasset-<asset id lowercased>
FIXTURE_APPS = ("cdk-app", "publish-app")
SHARED = Path(os.environ.get("ASSETCTL_SHARED_TESTDATA") or SOURCE_DIR.parent / "shared" / "testdata")
REALWORLD = SHARED / "realworld-cdk"
TARBALL_SUFFIXES = (".tar", ".tar.gz", ".tgz")
SHOW = os.environ.get("ARGV_REFERENCE_SHOW") == "1"
# The engine identities assetctl sees (its build options depend on them; cdk-assets' do not):
# docker 20.10 (BuildKit inside dockerd, no buildx: no `buildx version` query) and docker 27
# with the buildx plugin.
ENGINES = (("docker 20.10.24 without buildx", {"ARGV_ENGINE_VERSION": "20.10.24+dfsg1"}),
           ("docker 27.5.1 with buildx", {"ARGV_ENGINE_VERSION": "27.5.1", "ARGV_ENGINE_BUILDX": "1"}))

STACK = None
MODULE_DIR = None
REFERENCE = []  # [argv prefix of cdk-assets 4.7.3], filled once


def setUpModule():
    global STACK, MODULE_DIR
    MODULE_DIR = tempfile.TemporaryDirectory(prefix="assetctl-e2e-argv-reference-")
    unittest.addModuleCleanup(MODULE_DIR.cleanup)
    STACK = Stack()
    unittest.addModuleCleanup(STACK.stop)
    STACK.start()


def reference():
    """cdk-assets 4.7.3's argv prefix (npm ci once per run); SkipTest without node and npm."""
    if not REFERENCE:
        npm_dir = Path(MODULE_DIR.name) / "npm"
        npm_dir.mkdir(exist_ok=True)
        found = reference_cdk_assets(npm_dir)
        if found is None:
            raise unittest.SkipTest("node and npm are not installed (the reference cdk-assets comes from npm)")
        REFERENCE.append(found)
    return REFERENCE[0]


# --- assemblies ---------------------------------------------------------------------------------

def asset_manifests(assembly):
    """The asset manifests manifest.json names (artifacts of type cdk:asset-manifest), nested
    assemblies (cdk:cloud-assembly) included, in the manifests' order."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    found = []
    for artifact in manifest.get("artifacts", {}).values():
        properties = artifact.get("properties") or {}
        if artifact.get("type") == "cdk:asset-manifest":
            found.append(assembly / properties["file"])
        elif artifact.get("type") == "cdk:cloud-assembly":
            found.extend(asset_manifests(assembly / properties["directoryName"]))
    return found


def is_docker_build(folder, source):
    """Whether cdk-assets would `docker build` this image source (not an executable, not a
    tarball or OCI layout that assetctl reads without an engine)."""
    if "executable" in source or not source.get("directory"):
        return False
    named = source["directory"].split("#", 1)[0]  # `images.tar#app:v2` picks one image of several
    return not (named.endswith(TARBALL_SUFFIXES) or (folder / named / "oci-layout").exists())


def image_only_rewrite(path):
    """Rewrites the asset manifest at `path` (in a temporary copy of its assembly): schema 48.0.0,
    only the image assets that are `docker build`. -> ({asset id: source}, [asset ids left out])."""
    manifest = json.loads(path.read_text())
    kept, left_out = {}, []
    for asset_id, asset in manifest.get("dockerImages", {}).items():
        if is_docker_build(path.parent, asset["source"]):
            kept[asset_id] = asset
        else:
            left_out.append(asset_id)
    path.write_text(json.dumps({"version": SCHEMA_VERSION, "dockerImages": kept}, indent=1))
    return {asset_id: asset["source"] for asset_id, asset in kept.items()}, left_out


def stub_build_contexts(path):
    """Creates the missing `directory` of each image asset of the asset manifest at `path`, with an
    empty Dockerfile (or its `dockerFile`): the shared snapshots come without asset folders."""
    made = []
    for asset in json.loads(path.read_text()).get("dockerImages", {}).values():
        source = asset["source"]
        if not is_docker_build(path.parent, source):
            continue
        directory = path.parent / source["directory"]
        dockerfile = directory / (source.get("dockerFile") or "Dockerfile")
        if not dockerfile.exists():
            dockerfile.parent.mkdir(parents=True, exist_ok=True)
            dockerfile.write_text("")
            made.append(dockerfile)
    return made


# --- the engine calls ---------------------------------------------------------------------------

def read_calls(log):
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def build_tag(argv):
    for index, word in enumerate(argv):
        if word == "--tag" and index + 1 < len(argv):
            return argv[index + 1]
    return None


def builds_by_asset(calls, asset_ids):
    """{asset id: [build call]} by the local tag, and [build calls whose tag names no asset]."""
    by_tag = {LOCAL_TAG_PREFIX + asset_id.lower(): asset_id for asset_id in asset_ids}
    found, stray = {asset_id: [] for asset_id in asset_ids}, []
    for call in calls:
        if command_words(call["argv"])[:1] != ["build"]:
            continue
        asset_id = by_tag.get(build_tag(call["argv"]))
        if asset_id is None:
            stray.append(call)
        else:
            found[asset_id].append(call)
    return found, stray


def comparable(call):
    """What must be the same for both tools: argv, working folder, BUILDX_NO_DEFAULT_ATTESTATIONS."""
    return {"argv": call["argv"], "cwd": call["cwd"],
            "BUILDX_NO_DEFAULT_ATTESTATIONS": call["env"]["BUILDX_NO_DEFAULT_ATTESTATIONS"]}


def distinct(calls):
    """The distinct comparable forms of `calls`, in order of first appearance."""
    forms = []
    for call in calls:
        if comparable(call) not in forms:
            forms.append(comparable(call))
    return forms


def output_type(value):
    """The type of a `--output` value: `type=`, else docker's default for a destination (local)."""
    attributes = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
    return attributes.get("type", "local")


def plain_registry_ref(value):
    """R when a `--cache-from`/`--cache-to` value is exactly `type=registry,ref=R`, else None."""
    parts = [part.split("=", 1) for part in value.split(",")]
    if len(parts) == 2 and parts[0] == ["type", "registry"] and parts[1][0] == "ref":
        return parts[1][1]
    return None


def expected_on(engine_env, form):
    """What assetctl must do where cdk-assets built with `form`, under the stand-in's engine
    identity: (the build form, []) or (None, [the flags it must refuse]). The divergences are
    assetctl's documented ones (docs/engines.md), written out here on their own: with buildx,
    none; on docker 20.10 (BuildKit in dockerd, no buildx) `--build-context`, `--cache-to`,
    outputs other than local/tar and cache options other than a plain registry reference fail
    the asset before any build, and a plain `type=registry,ref=R` cache is passed as `R`."""
    if engine_env.get("ARGV_ENGINE_BUILDX"):
        return form, []
    argv, refused, out, i = form["argv"], [], [], 0
    while i < len(argv):
        word = argv[i]
        if word in ("--build-context", "--cache-to"):
            refused.append(word)
        elif word.startswith("--output=") and output_type(word[len("--output="):]) not in ("local", "tar"):
            refused.append(word)
        elif word == "--cache-from":
            reference = plain_registry_ref(argv[i + 1])
            if reference is None:
                refused.append(word)
            else:
                out += [word, reference]
                i += 2
                continue
        out.append(word)
        i += 1
    return (None, refused) if refused else (dict(form, argv=out), [])


class ToolRun:
    """One tool's publish of one manifest, with its own engine log and tag state."""

    def __init__(self, name, proc, calls):
        self.name, self.proc, self.calls = name, proc, calls

    def unknown_calls(self):
        return [call["argv"] for call in self.calls if not is_known(call["argv"])]

    def build_docker_config(self):
        """Whether DOCKER_CONFIG was set, for each of this run's build calls."""
        return {call["env"]["DOCKER_CONFIG"] for call in self.calls if command_words(call["argv"])[:1] == ["build"]}

    def failures_of(self, asset_id):
        """The messages of the `fail` events of `asset_id` in a --json run's stdout."""
        messages = []
        for line in self.proc.stdout.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == "fail" and record.get("asset") == asset_id:
                messages.append(record.get("message", ""))
        return messages

    def describe(self):
        return "%s: exit %d\n--- stdout (tail)\n%s\n--- stderr (tail)\n%s" % (
            self.name, self.proc.returncode, self.proc.stdout[-3000:], self.proc.stderr[-3000:])


class BuildArgvCase(unittest.TestCase):
    """A temporary folder, the stack's environment, both tools on the same manifest copies."""

    @classmethod
    def setUpClass(cls):
        cls.reference = reference()
        cls.tmp = tempfile.TemporaryDirectory(prefix="assetctl-e2e-argv-", dir=MODULE_DIR.name)
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.dir = Path(cls.tmp.name)
        (cls.dir / "tmpdir").mkdir()
        cls.runs = 0
        cls.counts = {"manifests": 0, "assets": 0, "left out": 0, "comparisons": 0, "differing": 0, "refused": 0}
        cls.docker_config = {"cdk-assets": set(), "assetctl": set()}  # recorded, not compared

    @classmethod
    def tearDownClass(cls):
        print("\n%s: %d image assets of %d asset manifests (%d more not `docker build`, left out); "
              "%d comparisons of a build call with cdk-assets', %d differing, %d refused as documented"
              % (cls.__name__, cls.counts["assets"], cls.counts["manifests"], cls.counts["left out"],
                 cls.counts["comparisons"], cls.counts["differing"], cls.counts["refused"]), file=sys.stderr)
        print("%s: DOCKER_CONFIG set in build calls (recorded, not compared): %s" % (cls.__name__, ", ".join(
            "%s %s" % (tool, sorted(seen)) for tool, seen in cls.docker_config.items())), file=sys.stderr)

    def env(self, run_dir, extra):
        env = environment_without(("AWS_", "DOCKER_", "XDG_", "CDK_", "BUILDX_", "ARGV_ENGINE_"), ("TMPDIR",))
        env.update(STACK.info["env"])
        env.update(isolated_aws(self.dir))
        env.update({"AWS_CA_BUNDLE": STACK.info["registry"]["ca_cert"], "XDG_CACHE_HOME": str(self.dir / "cache"),
                    "TMPDIR": str(self.dir / "tmpdir"), "NO_COLOR": "1", "CDK_DOCKER": STAND_IN,
                    "DOCKER_HOST": "unix:///nonexistent/docker.sock",
                    "ARGV_ENGINE_LOG": str(run_dir / "engine.jsonl"), "ARGV_ENGINE_STATE": str(run_dir / "tags")})
        env.update(extra)
        return env

    def run_tool(self, name, argv, engine_env):
        """One publish with a fresh stand-in state (no image known) and log."""
        type(self).runs += 1
        run_dir = self.dir / ("run%03d-%s" % (type(self).runs, name))
        (run_dir / "tags").mkdir(parents=True)
        proc = subprocess.run([*map(str, argv)], capture_output=True, text=True, env=self.env(run_dir, engine_env),
                              cwd=self.dir, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
        run = ToolRun(name, proc, read_calls(run_dir / "engine.jsonl"))
        self.docker_config[name].update(run.build_docker_config())
        return run

    def assetctl(self, path, engine_env):
        return self.run_tool("assetctl", [BIN, "publish", "--push-mode", "docker", "--json", "--path", path],
                             engine_env)

    def compare_assembly(self, assembly, name):
        """Per asset manifest of `assembly`: cdk-assets publishes it, assetctl publishes it under each
        engine identity; then assetctl publishes the whole assembly under each. Every build call of
        assetctl must be the one cdk-assets made for that asset."""
        expected, sources = {}, {}
        for manifest in asset_manifests(assembly):
            label = "%s/%s" % (name, manifest.relative_to(assembly))
            kept, left_out = image_only_rewrite(manifest)
            self.counts["manifests"] += 1
            self.counts["left out"] += len(left_out)
            self.counts["assets"] += len(kept)
            if not kept:
                continue
            theirs = self.run_tool("cdk-assets", [*self.reference, "-p", manifest, "publish"], ENGINES[0][1])
            their_builds, their_stray = builds_by_asset(theirs.calls, kept)
            wanted = {asset_id: distinct(calls) for asset_id, calls in their_builds.items()}
            with self.subTest(manifest=label, tool="cdk-assets"):
                # The stand-in answers cdk-assets well enough that it builds each asset once.
                self.assertEqual(theirs.proc.returncode, 0, theirs.describe())
                self.assertEqual(theirs.unknown_calls(), [], "calls the stand-in cannot answer")
                self.assertEqual(their_stray, [], "cdk-assets built under a tag that names no asset")
                for asset_id, forms in wanted.items():
                    self.assertEqual(len(forms), 1, "cdk-assets built %s %d ways:\n%s\n%s"
                                     % (asset_id, len(forms), json.dumps(forms, indent=1), theirs.describe()))
            for asset_id, forms in wanted.items():
                expected.setdefault(asset_id, [])
                expected[asset_id].extend(form for form in forms if form not in expected[asset_id])
            sources.update(kept)
            for engine, engine_env in ENGINES:
                self.check_assetctl("--path " + label, engine, engine_env, self.assetctl(manifest, engine_env),
                                    wanted, kept)
        if sources:
            for engine, engine_env in ENGINES:
                self.check_assetctl("--path %s (the assembly)" % name, engine, engine_env,
                                    self.assetctl(assembly, engine_env), expected, sources)

    def check_assetctl(self, label, engine, engine_env, ours, wanted, sources):
        our_builds, our_stray = builds_by_asset(ours.calls, sources)
        expectations = {asset_id: [expected_on(engine_env, form) for form in forms]
                        for asset_id, forms in wanted.items()}
        any_refused = any(refused for pairs in expectations.values() for _, refused in pairs)
        with self.subTest(input=label, engine=engine, check="exit code, builds under other tags"):
            self.assertEqual(ours.proc.returncode, 1 if any_refused else 0, ours.describe())
            self.assertEqual(our_stray, [], "assetctl built under a tag that names no asset")
            self.assertEqual(ours.unknown_calls(), [], "calls the stand-in cannot answer")
        for asset_id, pairs in expectations.items():
            want = [form for form, _ in pairs if form is not None]
            refused = [flag for _, flags in pairs for flag in flags]
            got = distinct(our_builds[asset_id])
            self.counts["comparisons"] += 1
            if SHOW:
                print("%s [%s] %s\n  cdk-assets %s\n  assetctl   %s" % (label, engine, asset_id, want, got),
                      file=sys.stderr)
            if got != want:
                self.counts["differing"] += 1
            with self.subTest(input=label, engine=engine, asset=asset_id):
                if got != want:
                    self.fail(self.difference(label, engine, asset_id, sources[asset_id], want, got, ours))
                if refused:
                    self.counts["refused"] += 1
                    messages = "\n".join(ours.failures_of(asset_id))
                    self.assertIn("cannot honour", messages, ours.describe())
                    for flag in refused:
                        self.assertIn(flag.split("=")[0], messages)

    @staticmethod
    def difference(label, engine, asset_id, source, want, got, ours):
        lines = ["docker build differs for asset %s, assetctl publish %s, stand-in %s" % (asset_id, label, engine),
                 "  source:     %s" % json.dumps(source)]
        for name, forms in (("cdk-assets", want), ("assetctl", got)):
            if not forms:
                lines.append("  %-11s no build call" % (name + ":"))
            for form in forms:
                lines.append("  %-11s argv %s" % (name + ":", json.dumps(form["argv"])))
                lines.append("  %-11s cwd %s, BUILDX_NO_DEFAULT_ATTESTATIONS=%s"
                             % ("", form["cwd"], form["BUILDX_NO_DEFAULT_ATTESTATIONS"]))
        if want and got and want[0]["argv"] != got[0]["argv"]:
            a, b = want[0]["argv"], got[0]["argv"]
            lines.append("  only cdk-assets: %s" % json.dumps([w for w in a if w not in b]))
            lines.append("  only assetctl:   %s" % json.dumps([w for w in b if w not in a]))
        if not got:
            failures = ours.failures_of(asset_id)
            lines.extend("  assetctl's fail event: %s" % message for message in failures)
            if not failures:
                lines.append(ours.describe())
        return "\n".join(lines)

    def copy_assembly(self, source, name):
        target = self.dir / name
        shutil.copytree(source, target, symlinks=True)
        return target


class FixtureApps(BuildArgvCase):
    """tests/fixtures/cdk-app and publish-app, every asset manifest of each (nested ones too)."""

    def test_each_image_asset_is_built_with_the_argv_of_cdk_assets(self):
        for app in FIXTURE_APPS:
            assembly = self.copy_assembly(SOURCE_DIR / "tests" / "fixtures" / app / "cdk.out", app)
            self.assertNotEqual(asset_manifests(assembly), [], app)
            self.compare_assembly(assembly, app)
        self.assertGreater(self.counts["comparisons"], 0)

    def test_the_cdk_v1_legacy_app_has_no_asset_manifest_to_compare(self):
        # Legacy synthesis: assets only as `aws:cdk:asset` metadata, which neither tool builds
        # (assetctl refuses the assembly, cdk-assets has no asset manifest to read).
        self.assertEqual(asset_manifests(SOURCE_DIR / "tests" / "fixtures" / "cdk-v1-legacy" / "cdk.out"), [])


class RealWorld(BuildArgvCase):
    """The real-world snapshots of ../shared/testdata/realworld-cdk (SOURCES.md)."""

    @classmethod
    def setUpClass(cls):
        if not REALWORLD.is_dir():
            raise unittest.SkipTest("%s is absent (the shared test data)" % REALWORLD)
        super().setUpClass()

    def test_each_image_asset_is_built_with_the_argv_of_cdk_assets(self):
        snapshots = sorted(p for p in REALWORLD.iterdir() if (p / "manifest.json").is_file())
        self.assertNotEqual(snapshots, [])
        for snapshot in snapshots:
            assembly = self.copy_assembly(snapshot, snapshot.name)
            for manifest in asset_manifests(assembly):
                stub_build_contexts(manifest)
            self.compare_assembly(assembly, snapshot.name)
        self.assertGreater(self.counts["comparisons"], 0)


if __name__ == "__main__":
    main()
