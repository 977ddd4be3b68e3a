"""End-to-end: assetctl answering the cdk-assets 4.7.3 command line (`cdk-assets` symlink and
`assetctl cdk-assets`), against the local stack.

The assets are CDK tarball image assets (tests/support/image_tarballs.py), which assetctl
pushes without a container engine, so no docker daemon is involved; the local ECR/STS
endpoint (botocore-verified SigV4) hands out the real TLS registry as every repository's
registry. What was published is read back from the registry's API; what the tool printed is
checked as cdk-assets' contract has it: exit codes, stdout (ls lines), and the shape of the
`<level>: [<pct>%] <event>: ...` lines on stderr.

CdkAssetsReference runs the real cdk-assets 4.7.3 (npm) beside assetctl with the same
arguments and compares exit codes, ls lines and event lines; it is its own CTest test
(e2e_cdk_assets_reference), skipped without node and npm.

The manifests say version 48.0.0: cdk-assets 4.7.3 refuses schema 55 (newer than it knows).
Every manifest also holds a file asset (a template into the local endpoint's S3 bucket);
CDK_ASSETS_E2E_FILES=0 leaves it out.
"""
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from assetctl_run import (BIN, REGION, SOURCE_DIR, environment_without, isolated_aws, main,  # noqa: E402
                          missing_path, publishing_role_arn, skip)

try:
    import botocore.session  # noqa: E402,F401  (the endpoint verifies signatures with it)
    import image_tarballs as it  # noqa: E402
    from stack import ACCOUNT_A, Stack  # noqa: E402
except ImportError as error:  # botocore missing: the harness cannot run
    skip(error)
if missing_path(("/usr/bin/docker-registry", "/usr/bin/htpasswd", "/usr/bin/openssl")):
    skip(missing_path(("/usr/bin/docker-registry", "/usr/bin/htpasswd", "/usr/bin/openssl")))

CDK_ASSETS = str(Path(BIN).parent / "cdk-assets")  # the build tree's symlink to assetctl
RUN_TIMEOUT = 120
NO_DAEMON = {"CDK_DOCKER": "/nonexistent/docker", "DOCKER_HOST": "unix:///nonexistent.sock"}
CDK_LOAD_SCRIPT = "docker load -i \"$1\" | tail -n 1 | sed \"s/Loaded image[^:]*: //g\""
SCHEMA_VERSION = "48.0.0"
WITH_FILES = os.environ.get("CDK_ASSETS_E2E_FILES", "1") == "1"

# cdk-assets' log line: level padded to 7, the percentage, the event type.
EVENT_LINE = re.compile(r"^(info   |verbose|error  ): \[(\d{1,3})%\] (\w+): (.*)$")

STACK = None


def setUpModule():
    global STACK
    STACK = Stack(extra_config={"repository_uri_host": "registry"})
    unittest.addModuleCleanup(STACK.stop)
    STACK.start()


def event_lines(err):
    """[(level, percent, event, message)] of every event line on stderr."""
    lines = []
    for line in err.splitlines():
        match = EVENT_LINE.match(line)
        if match:
            lines.append((match.group(1).strip(), int(match.group(2)), match.group(3), match.group(4)))
    return lines


class CdkAssetsCase(unittest.TestCase):
    """A temporary folder, the stack's environment, assemblies with fresh repositories."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="assetctl-e2e-cdk-assets-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.dir = Path(cls.tmp.name)
        cls.info = STACK.info
        cls.registry = cls.info["registry"]
        (cls.dir / "tmpdir").mkdir()

    def env(self, credentials=True, **extra):
        env = environment_without(("AWS_", "DOCKER_", "XDG_"), ("CDK_DOCKER", "TMPDIR"))
        env.update(self.info["env"])
        if not credentials:
            del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        env.update(NO_DAEMON)
        env.update(isolated_aws(self.dir))
        env.update({"AWS_CA_BUNDLE": self.registry["ca_cert"], "XDG_CACHE_HOME": str(self.dir / "cache"),
                    "TMPDIR": str(self.dir / "tmpdir"), "NO_COLOR": "1"})
        env.update(extra)
        return env

    def run_tool(self, argv, env=None):
        proc = subprocess.run(argv, capture_output=True, text=True, env=env or self.env(),
                              timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
        return proc

    def cdk_assets(self, *args, env=None):
        return self.run_tool([CDK_ASSETS, *map(str, args)], env)

    def assetctl_cdk_assets(self, *args, env=None):
        return self.run_tool([BIN, "cdk-assets", *map(str, args)], env)

    @staticmethod
    def describe(proc):
        return "exit %d\n--- stdout\n%s--- stderr\n%s" % (proc.returncode, proc.stdout, proc.stderr[-6000:])

    # --- the stack --------------------------------------------------------------------------

    def control(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.info["endpoint_url"] + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()

    def fresh_repository(self):
        name = "assetctl-e2e/cdk-assets-%s" % secrets.token_hex(5)
        self.control("POST", "/__control/repositories", {"name": name, "account": ACCOUNT_A})
        return name

    def remote_tags(self, repository):
        context = ssl.create_default_context(cafile=self.registry["ca_cert"])
        token = b64encode(("%s:%s" % (self.registry["admin_user"], self.registry["admin_password"])).encode())
        request = urllib.request.Request("%s/v2/%s/tags/list" % (self.registry["url"], repository),
                                         headers={"Authorization": "Basic " + token.decode()})
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                return json.loads(response.read()).get("tags") or []
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return []
            raise

    # --- assemblies ---------------------------------------------------------------------------

    def new_assembly(self, repositories, asset_id=None):
        """A folder with one tarball image asset published to `repositories` (one destination
        each, ids dest0, dest1, ...), as assets.json and as Test.assets.json. Returns
        (folder, asset id, tag, {destination id: repository})."""
        root = Path(tempfile.mkdtemp(dir=self.dir, prefix="assembly-"))
        seed = secrets.token_hex(6)
        image = it.sample_image("cdk-assets-%s" % seed, sizes=(24 << 10,), repo_tags=("e2e/cdk-assets:%s" % seed,))
        it.write_docker_save_legacy(str(root / "asset.image.tar"), [image])
        asset_id = asset_id or "image" + seed
        tag = "tag-" + seed
        destinations = {"dest%d" % i: repository for i, repository in enumerate(repositories)}
        manifest = {"version": SCHEMA_VERSION, "dockerImages": {asset_id: {
            "displayName": "Image " + seed,
            "source": {"executable": ["sh", "-c", CDK_LOAD_SCRIPT, "cdk-tarball-image-asset", "asset.image.tar"]},
            "destinations": {dest: {"repositoryName": repo, "imageTag": tag, "region": REGION,
                                    "assumeRoleArn": publishing_role_arn(ACCOUNT_A)}
                             for dest, repo in destinations.items()}}}}
        if WITH_FILES:
            # More than 22 bytes: an object that small counts as an empty zip, uploaded again.
            (root / "template.json").write_text('{"Resources": {}, "Seed": "%s"}\n' % seed)
            manifest["files"] = {"file" + seed: {
                "source": {"path": "template.json", "packaging": "file"},
                "destinations": {"dest0": {"bucketName": "cdk-hnb659fds-assets-%s-%s" % (ACCOUNT_A, REGION),
                                           "objectKey": seed + ".json", "region": REGION}}}}
        text = json.dumps(manifest, indent=1)
        (root / "assets.json").write_text(text)
        (root / "Test.assets.json").write_text(text)
        return root, asset_id, tag, destinations


class CdkAssetsCli(CdkAssetsCase):

    def test_ls_prints_each_asset_and_destination_as_cdk_assets_does(self):
        root, asset_id, _, _ = self.new_assembly(["repo-a", "repo-b"])
        manifest = json.loads((root / "assets.json").read_text())
        expected = []
        for section, kind in (("files", "file"), ("dockerImages", "docker-image")):
            for asset, body in manifest.get(section, {}).items():
                expected.append("%s %s %s" % (asset, kind, json.dumps(body["source"], separators=(",", ":"))))
                items = list(body["destinations"].items())
                for index, (dest, value) in enumerate(items):
                    box = "\u2514" if index == len(items) - 1 else "\u251c"
                    expected.append("  %s %s:%s %s" % (box, asset, dest, json.dumps(value, separators=(",", ":"))))
        for proc in (self.cdk_assets("ls", "--path", root),
                     self.assetctl_cdk_assets("-p", root / "Test.assets.json", "ls"),
                     self.cdk_assets("-v", "ls", "-p", root)):
            self.assertEqual(proc.returncode, 0, self.describe(proc))
            self.assertEqual(proc.stdout.splitlines(), expected, self.describe(proc))

    def test_version_is_cdk_assets_with_assetctl_as_build_metadata(self):
        for proc in (self.cdk_assets("--version"), self.assetctl_cdk_assets("ls", "--version")):
            self.assertEqual(proc.returncode, 0, self.describe(proc))
            self.assertRegex(proc.stdout, r"^4\.7\.3\+assetctl\.\d+\.\d+\.\d+\n$")

    def test_usage_errors_and_a_missing_manifest_exit_1_with_nothing_on_stdout(self):
        root, _, _, _ = self.new_assembly(["repo-a"])
        for args in ([], ["frobnicate"], ["ls", "--profile", "x", "-p", root], ["ls", "extra", "-p", root],
                     ["--path"], ["publish", "a:b:c", "-p", root], ["-p", self.dir / "missing", "ls"],
                     ["-p", self.dir / "missing", "publish"], ["-p", self.dir, "ls"]):
            for proc in (self.cdk_assets(*args), self.assetctl_cdk_assets(*args)):
                self.assertEqual(proc.returncode, 1, "%s\n%s" % (args, self.describe(proc)))
                self.assertEqual(proc.stdout, "", args)
                self.assertNotEqual(proc.stderr, "", args)

    def test_publish_all_then_again_with_verbose(self):
        repo_a, repo_b = self.fresh_repository(), self.fresh_repository()
        root, asset_id, tag, destinations = self.new_assembly([repo_a, repo_b])
        display_name = json.loads((root / "assets.json").read_text())["dockerImages"][asset_id]["displayName"]
        proc = self.cdk_assets("--path", root, "publish")
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        self.assertEqual(proc.stdout, "", "cdk-assets prints nothing on stdout when publishing")
        self.assertEqual(self.remote_tags(repo_a), [tag])
        self.assertEqual(self.remote_tags(repo_b), [tag])
        events = event_lines(proc.stderr)
        self.assertEqual({e[0] for e in events}, {"info"}, "without -v only info lines:\n" + proc.stderr)
        # Targets with a display name are named by it; the file asset has none: <id>:<dest>.
        files = json.loads((root / "assets.json").read_text()).get("files", {})
        file_targets = ["%s:%s" % (asset, dest) for asset, body in files.items() for dest in body["destinations"]]
        self.assertEqual(sorted(e[3] for e in events if e[2] == "start"),
                         sorted(["Publishing %s (%s)" % (display_name, dest) for dest in destinations] +
                                ["Publishing " + target for target in file_targets]))
        successes = [e for e in events if e[2] == "success"]
        self.assertEqual(len(successes), len(destinations) + len(file_targets), proc.stderr)
        self.assertEqual(successes[-1][1], 100, proc.stderr)

        again = self.assetctl_cdk_assets("--verbose", "--path", root / "Test.assets.json", "publish")
        self.assertEqual(again.returncode, 0, self.describe(again))
        kinds = {(e[0], e[2]) for e in event_lines(again.stderr)}
        for expected in (("info", "start"), ("verbose", "check"), ("verbose", "found"), ("info", "success")):
            self.assertIn(expected, kinds, again.stderr)
        self.assertIn("verbose: Loaded manifest from %s: %d assets found\n"
                      % (root / "Test.assets.json", len(destinations) + len(file_targets)), again.stderr)
        self.assertNotIn(("verbose", "upload"), kinds, "a present tag is not pushed again")

    def test_publish_one_destination_by_id(self):
        repo_a, repo_b = self.fresh_repository(), self.fresh_repository()
        root, asset_id, tag, _ = self.new_assembly([repo_a, repo_b])
        proc = self.cdk_assets("-p", root / "Test.assets.json", "publish", asset_id + ":dest1")
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        self.assertEqual(self.remote_tags(repo_a), [])
        self.assertEqual(self.remote_tags(repo_b), [tag])
        # ids are exact: a prefix, a glob or a display name selects nothing, and that is no error
        for selector in (asset_id[:-1], asset_id[:4] + "*", "*:dest", "Image"):
            nothing = self.assetctl_cdk_assets("-p", root, "publish", selector)
            self.assertEqual(nothing.returncode, 0, self.describe(nothing))
            self.assertEqual(event_lines(nothing.stderr), [], selector)
        self.assertEqual(self.remote_tags(repo_a), [])
        # an asset id alone takes every destination
        every = self.assetctl_cdk_assets("-p", root, "publish", asset_id)
        self.assertEqual(every.returncode, 0, self.describe(every))
        self.assertEqual(self.remote_tags(repo_a), [tag])

    def test_a_failed_asset_exits_1_and_the_others_are_published(self):
        good = self.fresh_repository()
        root, asset_id, tag, _ = self.new_assembly([good, "no-such-repository-" + secrets.token_hex(3)])
        proc = self.cdk_assets("-p", root, "publish")
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        self.assertEqual(self.remote_tags(good), [tag])
        failures = [e for e in event_lines(proc.stderr) if e[2] == "fail"]
        self.assertEqual(len(failures), 1, proc.stderr)
        self.assertEqual(failures[0][0], "error")
        self.assertIn("Failure: %s:dest1: " % asset_id, proc.stderr)

    def test_profile_selects_the_credentials(self):
        repo = self.fresh_repository()
        root, _, tag, _ = self.new_assembly([repo])
        home = Path(tempfile.mkdtemp(dir=self.dir, prefix="home-"))
        (home / "credentials").write_text("[ci]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (
            self.info["env"]["AWS_ACCESS_KEY_ID"], self.info["env"]["AWS_SECRET_ACCESS_KEY"]))
        env = self.env(credentials=False, AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"))
        without = self.cdk_assets("-p", root, "publish", env=env)
        self.assertEqual(without.returncode, 1, "no credentials without --profile:\n" + self.describe(without))
        self.assertEqual(self.remote_tags(repo), [])
        wrong = self.cdk_assets("-p", root, "publish", "--profile", "nope", env=env)
        self.assertEqual(wrong.returncode, 1, self.describe(wrong))
        right = self.cdk_assets("--profile", "ci", "-p", root, "publish", env=env)
        self.assertEqual(right.returncode, 0, self.describe(right))
        self.assertEqual(self.remote_tags(repo), [tag])


def reference_cdk_assets(workdir):
    """The path of cdk-assets 4.7.3's bin script: bench/node_modules when bench/run.sh
    installed it, else `npm ci` of bench's lockfile into `workdir`; None without node/npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return None
    script = SOURCE_DIR / "bench" / "node_modules" / "cdk-assets" / "bin" / "cdk-assets.js"
    if not script.is_file():
        for name in ("package.json", "package-lock.json"):
            shutil.copy(SOURCE_DIR / "bench" / name, workdir / name)
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=workdir, check=True, timeout=300,
                       capture_output=True)
        script = workdir / "node_modules" / "cdk-assets" / "bin" / "cdk-assets.js"
    version = subprocess.run([node, str(script), "--version"], capture_output=True, text=True, timeout=60)
    if version.stdout.strip() != "4.7.3":
        raise AssertionError("%s is cdk-assets %r, not 4.7.3" % (script, version.stdout))
    return [node, str(script)]


class CdkAssetsReference(CdkAssetsCase):
    """The real cdk-assets 4.7.3 and assetctl, same arguments, same stack."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        npm_dir = cls.dir / "npm"
        npm_dir.mkdir()
        cls.reference = reference_cdk_assets(npm_dir)
        if cls.reference is None:
            raise unittest.SkipTest("node and npm are not installed (the reference cdk-assets comes from npm)")

    def both(self, *args, env=None):
        ours = self.cdk_assets(*args, env=env)
        theirs = self.run_tool([*self.reference, *map(str, args)], env)
        return ours, theirs

    def test_exit_codes_and_ls_lines_match(self):
        root, _, _, _ = self.new_assembly(["repo-a", "repo-b"])
        for args in (["ls", "-p", root], ["-p", root / "Test.assets.json", "ls"], [], ["frobnicate"],
                     ["ls", "--profile", "x", "-p", root], ["-p", self.dir / "missing", "ls"],
                     ["publish", "", "-p", root], ["publish", "a:b:c", "-p", root], ["--version"]):
            ours, theirs = self.both(*args)
            self.assertEqual(ours.returncode, theirs.returncode,
                             "%s\n--- assetctl\n%s\n--- cdk-assets\n%s" % (args, self.describe(ours), self.describe(theirs)))
            if "ls" in args:
                self.assertEqual(set(ours.stdout.splitlines()), set(theirs.stdout.splitlines()), args)

    def test_publish_event_lines_have_the_same_shape(self):
        repo = self.fresh_repository()
        root, asset_id, tag, _ = self.new_assembly([repo, "no-such-repository-" + secrets.token_hex(3)])
        # assetctl publishes the image (cdk-assets would need a docker daemon for the tarball);
        # then both find it present, and both fail the destination without a repository.
        first = self.cdk_assets("-p", root, "publish")
        self.assertEqual(first.returncode, 1, self.describe(first))
        self.assertEqual(self.remote_tags(repo), [tag])
        for args in (["-p", root, "publish", asset_id + ":dest0"], ["-p", root, "-v", "publish"],
                     ["-p", root, "publish", "nothing:here"]):
            ours, theirs = self.both(*args)
            report = "%s\n--- assetctl\n%s\n--- cdk-assets\n%s" % (args, self.describe(ours), self.describe(theirs))
            self.assertEqual(ours.returncode, theirs.returncode, report)
            self.assertEqual(ours.stdout, theirs.stdout, report)
            our_kinds = {(e[0], e[2]) for e in event_lines(ours.stderr)}
            their_kinds = {(e[0], e[2]) for e in event_lines(theirs.stderr)}
            # cdk-assets' debug events have no counterpart in every assetctl run
            self.assertEqual(our_kinds - {("verbose", "debug")}, their_kinds - {("verbose", "debug")}, report)
            if args[-1] != "nothing:here":
                self.assertIn(("info", "start"), their_kinds, report)
                self.assertIn(("info", "success"), their_kinds, report)
            if os.environ.get("CDK_ASSETS_E2E_SHOW"):
                print(report, file=sys.stderr)
            self.assertEqual(sorted(e[3] for e in event_lines(ours.stderr) if e[2] in ("start", "success")),
                             sorted(e[3] for e in event_lines(theirs.stderr) if e[2] in ("start", "success")),
                             report)
            our_percents = sorted(e[1] for e in event_lines(ours.stderr) if e[2] in ("success", "fail"))
            their_percents = sorted(e[1] for e in event_lines(theirs.stderr) if e[2] in ("success", "fail"))
            self.assertEqual(our_percents, their_percents, report)


if __name__ == "__main__":
    main()
