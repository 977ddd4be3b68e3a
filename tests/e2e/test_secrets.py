"""End-to-end: no secret escapes a publish (issue #13, secrets).

The publish-app's images are published at `-vv` with `--json` and `--summary-file`, once with
`--push-mode docker` (docker login over stdin, tag, push) and once natively, each against a fresh
dockerd and stack (tests/support/stack.py: the endpoint hands out session credentials for the
publishing roles and ECR passwords, and tells them on /__control). The secrets looked for:

  * the caller's AWS secret access key (the stack's first key);
  * every assumed role's secret access key and session token (/__control/sessions afterwards);
  * every ECR password handed out (/__control/registry-password, per region), also in the
    base64 `AWS:<password>` form a docker config.json holds;
  * the publish-app's build secret (`dockerBuildSecrets` src=secret.txt) - its contents.

Where they must never be:

  * the command line of any process assetctl started, read from /proc/<pid>/cmdline by a
    watcher thread that polls every process descending from assetctl while it runs (polling
    finds what it finds: the recording engine wrapper below sees every engine call for sure);
  * the argv and environment of every engine call, recorded by recording_engine.py
    (CDK_DOCKER), and the environment of every descendant the watcher saw - except the
    caller's own key, which children inherit from the user's environment by design (credential
    helpers need it, as with cdk-assets); a secret assetctl obtained itself (a session token, an
    ECR password) is never put into an environment;
  * assetctl's stdout (events, summary), stderr (every log line at -vv) and the summary file;
    the build command lines logged at -v show build argument names, never their values;
  * any file under TMPDIR, XDG_CACHE_HOME or HOME, as the watcher saw them during the run and
    as they are afterwards - except docker's own login in the private DOCKER_CONFIG
    (config.json, written by `docker login`), which must then be a 0600 file in a 0700 folder
    `assetctl-docker-*` owned by us, and gone once assetctl ended.

    ASSETCTL_BIN=... ASSETCTL_SOURCE_DIR=... python3 tests/e2e/test_secrets.py [-v]
"""
import json
from base64 import b64encode
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from assetctl_run import BIN, OK, Run, main, missing_path, skip  # noqa: E402

if os.geteuid() != 0:
    skip("needs root (a private dockerd)")
if missing_path(("/usr/sbin/dockerd", "/usr/bin/docker-registry", "/bin/busybox", "/usr/bin/htpasswd")):
    skip(missing_path(("/usr/sbin/dockerd", "/usr/bin/docker-registry", "/bin/busybox", "/usr/bin/htpasswd")))
try:
    import botocore.session  # noqa: E402,F401  (the endpoint verifies signatures with it)
    import dockerd as dockerd_support  # noqa: E402
    from test_publish import ARGS_TARGET, PUBLISH_APP, SECRET_NETWORK, PublishCase, image_selectors  # noqa: E402
except ImportError as error:
    skip(error)

RECORDING_ENGINE = HERE / "recording_engine.py"
RUN_TIMEOUT = 300
POLL_SECONDS = 0.002  # the watcher's cadence; it never waits for anything


def parent_of(pid):
    """The parent pid from /proc/<pid>/stat (after the command's closing parenthesis)."""
    with open("/proc/%d/stat" % pid, "rb") as handle:
        text = handle.read()
    return int(text[text.rindex(b")") + 2:].split()[1])


def read_proc(pid, name):
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as handle:
            return handle.read()
    except OSError:
        return None  # ended meanwhile, or not ours to read


class Watcher(threading.Thread):
    """While assetctl runs: the cmdline and environ of every process descending from it, and
    every file under the watched folders (path -> bytes, its mode, its folder's mode)."""

    def __init__(self, root_pid, folders):
        super().__init__(daemon=True)
        self.root_pid, self.folders = root_pid, folders
        self.processes = {}   # (pid, cmdline) -> environ
        self.files = {}       # path -> (bytes, file mode, folder mode)
        self.done = threading.Event()

    def descendants(self):
        parents = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    parents[int(entry)] = parent_of(int(entry))
                except (OSError, ValueError, IndexError):
                    continue
        found, frontier = set(), {self.root_pid}
        while frontier:
            children = {pid for pid, parent in parents.items() if parent in frontier and pid not in found}
            found |= children
            frontier = children
        return found

    def scan(self):
        for pid in self.descendants():
            cmdline, environ = read_proc(pid, "cmdline"), read_proc(pid, "environ")
            if cmdline is not None:
                self.processes[(pid, cmdline)] = environ or b""
        for folder in self.folders:
            for dirpath, _, filenames in os.walk(folder):
                for name in filenames:
                    path = os.path.join(dirpath, name)
                    try:
                        if os.path.islink(path):
                            continue
                        with open(path, "rb") as handle:
                            data = handle.read(1 << 20)
                        self.files[path] = (data, stat.S_IMODE(os.stat(path).st_mode),
                                            stat.S_IMODE(os.stat(dirpath).st_mode))
                    except OSError:
                        continue

    def run(self):
        while not self.done.is_set():
            self.scan()
            self.done.wait(POLL_SECONDS)


class SecretsCase(PublishCase):
    push_mode = "docker"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.home = cls.dir / "home"
        cls.cache = cls.dir / "cache"
        cls.home.mkdir()
        cls.cache.mkdir()
        cls.wrapper = cls.dir / "recording_engine.py"
        shutil.copyfile(RECORDING_ENGINE, cls.wrapper)
        cls.wrapper.chmod(0o755)
        cls.engine_log = cls.dir / "engine-calls.jsonl"
        cls.engine_log.touch()
        cls.summary_file = cls.dir / "summary.json"
        env = cls.env(CDK_DOCKER=str(cls.wrapper), RECORDING_ENGINE_REAL=dockerd_support.DOCKER_CLIENT,
                      RECORDING_ENGINE_LOG=str(cls.engine_log), RECORDING_ENGINE_ENVIRONMENT="1",
                      XDG_CACHE_HOME=str(cls.cache), HOME=str(cls.home))
        args = [BIN, "publish", "-vv", "--json", "--push-mode", cls.push_mode, "--summary-file",
                str(cls.summary_file), "--path", str(PUBLISH_APP), *image_selectors(PUBLISH_APP)]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        cls.watcher = Watcher(proc.pid, [str(cls.tmpdir), str(cls.cache), str(cls.home)])
        cls.watcher.start()
        try:
            out, err = proc.communicate(timeout=RUN_TIMEOUT)
        finally:
            cls.watcher.done.set()
            cls.watcher.join()
        cls.run_result = Run(proc.returncode, out, err)
        cls.calls = [json.loads(line) for line in cls.engine_log.read_text().splitlines() if line.strip()]
        cls.user_secret = cls.info["env"]["AWS_SECRET_ACCESS_KEY"]
        sessions = json.loads(cls.control("GET", "/__control/sessions"))["sessions"]
        cls.obtained = {}
        for session in sessions:
            cls.obtained["session secret of " + session["arn"]] = session["secret_access_key"]
            cls.obtained["session token of " + session["arn"]] = session["session_token"]
        for region in ("us-east-1", "eu-west-1"):
            password = json.loads(cls.control("POST", "/__control/registry-password", {"region": region}))
            cls.obtained["ECR password for " + region] = password["password"]
            # ... and the form a docker config.json holds a login in.
            cls.obtained["ECR login (base64) for " + region] = b64encode(
                ("AWS:" + password["password"]).encode()).decode()
        secret_file = PUBLISH_APP / ("asset." + SECRET_NETWORK) / "secret.txt"
        cls.build_secret = secret_file.read_bytes().strip()

    def all_secrets(self):
        named = dict(self.obtained)
        named["the caller's secret access key"] = self.user_secret
        named["the build secret"] = self.build_secret.decode()
        return {name: value.encode() for name, value in named.items()}

    def assert_absent(self, where, data):
        for name, secret in self.all_secrets().items():
            self.assertNotIn(secret, data, "%s holds %s" % (where, name))

    # --- the run itself ---------------------------------------------------------------------

    def test_the_publish_succeeded_with_roles_and_logins(self):
        self.assertEqual(self.run_result.code, OK, self.run_result.describe())
        self.assertEqual(set(self.run_result.states().values()), {"published"})
        # Something to look for: roles were assumed and ECR handed out passwords.
        self.assertTrue(any(name.startswith("session token") for name in self.obtained), self.obtained)
        self.assertGreater(len(self.watcher.processes), 0, "the watcher saw no child of assetctl")

    # --- where secrets must never be --------------------------------------------------------

    def test_no_secret_in_any_command_line(self):
        for (pid, cmdline), _ in self.watcher.processes.items():
            self.assert_absent("the command line of pid %d (%r)" % (pid, cmdline[:200]), cmdline)
        for call in self.calls:
            self.assert_absent("engine argv %r" % call["argv"][:4], "\0".join(call["argv"]).encode())

    def test_no_obtained_secret_in_any_environment(self):
        environments = [environ for environ in self.watcher.processes.values()]
        environments += ["\0".join("%s=%s" % kv for kv in call["environment"].items()).encode()
                         for call in self.calls]
        self.assertGreater(len(self.calls), 0)
        for environ in environments:
            for name, secret in self.all_secrets().items():
                if name != "the caller's secret access key":
                    self.assertNotIn(secret, environ, "a child's environment holds " + name)

    def test_no_secret_in_output_logs_or_summary(self):
        self.assert_absent("stdout (events and summary)", self.run_result.out.encode())
        self.assert_absent("stderr at -vv", self.run_result.err.encode())
        self.assert_absent("the summary file", self.summary_file.read_bytes())
        # -vv did log: the check above looked at real log lines.
        self.assertRegex(self.run_result.err, r"\d trace http ")

    def test_logged_build_commands_hide_build_arg_values(self):
        # -v logs each build's command line (docker/build_arguments.hpp, redacted_command_line).
        # The values are not secrets here, but build arguments carry tokens often enough that
        # logs never show them (as cdk-assets); docker's own build output may still echo what a
        # RUN step prints - out of assetctl's hands.
        values = json.loads((PUBLISH_APP / "PublishAgnostic.assets.json").read_text())[
            "dockerImages"][ARGS_TARGET]["source"]["dockerBuildArgs"]
        commands = [line for line in self.run_result.err.splitlines() if " build --build-arg " in line]
        self.assertGreater(len(commands), 0, "no build command line logged at -vv")
        for line in commands:
            for name, value in values.items():
                self.assertIn("%s=<redacted>" % name, line)
                self.assertNotIn(value, line)
            self.assertNotIn("src=secret.txt", line)

    def test_no_secret_in_files_but_the_private_docker_login(self):
        for path, (data, mode, folder_mode) in self.watcher.files.items():
            held = [name for name, secret in self.all_secrets().items() if secret in data]
            if not held:
                continue
            folder = Path(path).parent
            # docker login writes config.json<random digits> (0600) beside it, then renames it:
            # the watcher may catch that temporary file too.
            self.assertTrue(folder.name.startswith("assetctl-docker-")
                            and re.fullmatch(r"config\.json\d*", Path(path).name) is not None
                            and self.push_mode == "docker",
                            "%s held %s" % (path, ", ".join(held)))
            self.assertEqual(mode, 0o600, path)
            self.assertEqual(folder_mode, 0o700, path)
            self.assertFalse(Path(path).exists(), "%s still exists after the run" % path)
        for folder in (self.tmpdir, self.cache, self.home):
            for path in Path(folder).rglob("*"):
                if path.is_file() and not path.is_symlink():
                    self.assert_absent(str(path), path.read_bytes())


class SecretsDockerPush(SecretsCase):
    """docker login (password on stdin), tag and push through the private DOCKER_CONFIG."""
    push_mode = "docker"

    def test_docker_login_was_used(self):
        logins = [call for call in self.calls if call["argv"][:1] == ["login"]]
        self.assertGreater(len(logins), 0, [call["argv"][:3] for call in self.calls])
        for call in logins:
            self.assertIn("--password-stdin", call["argv"])

    def test_the_watcher_sees_what_it_looks_for(self):
        # docker's own login lands in the private config.json: the file scan found it there,
        # so the scan works (and the test above checked where it was and that it is gone).
        passwords = [secret.encode() for name, secret in self.obtained.items() if name.startswith("ECR login")]
        hits = [path for path, (data, _, _) in self.watcher.files.items()
                if any(password in data for password in passwords)]
        self.assertGreater(len(hits), 0, sorted(self.watcher.files)[:20])
        self.assertTrue(any(b"login" in cmdline for _, cmdline in self.watcher.processes), "no login seen")


class SecretsNativePush(SecretsCase):
    """Native pushes: the ECR password stays in assetctl's memory."""
    push_mode = "native"


del SecretsCase  # a base, not a test class of its own

if __name__ == "__main__":
    main()
