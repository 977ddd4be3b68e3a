"""End-to-end: CDK Pipelines' docker credentials (CDK_DOCKER_CREDS_FILE / ~/.cdk/cdk-docker-creds.json).

A private dockerd (tests/support/dockerd.py, docker 20.10) builds an image
`FROM <base registry>/base:1`, where the base registry (a real `docker-registry` with htpasswd)
lets only user `puller` pull. BuildKit of docker 20.10 pulls from a loopback registry (insecure
by default) over plain HTTP only, so BuildKit builds pull from a plain-HTTP registry started
here, and one test builds with the classic builder (DOCKER_BUILDKIT=0, the daemon pulls over
TLS) from the TLS registry of tests/support/registry.py. Its password lives in a Secrets Manager secret of the
local endpoint (secrets_service.py, SigV4 verified by botocore) named in a creds file, so the
build can pull the base only through assetctl's credential helper (docker-credential-cdk-assets,
a symlink to assetctl in the private DOCKER_CONFIG's bin/). Without the file the same build
fails. The engine is a wrapper (written by this test) that records each call's argv, PATH and
a snapshot of every file under its DOCKER_CONFIG before and after the call: the password and
its base64 login form must be in none of them, nor in assetctl's stdout/stderr at -vv, nor in
the endpoint's request log.
"""
import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from assetctl_run import (ASSETS_FAILED, BIN, INPUT, OK, REGION, Run, assets_repository,  # noqa: E402
                          environment_without, isolated_aws, main, missing_path, skip, wait_for)

DOCKER = "/usr/bin/docker"  # the 20.10 client, matching the daemon
RUN_TIMEOUT = 240


def missing_prerequisite():
    if os.geteuid() != 0:
        return "needs root (a private dockerd)"
    return missing_path(("/usr/sbin/dockerd", DOCKER, "/usr/bin/docker-registry", "/bin/busybox",
                         "/usr/bin/htpasswd"))


try:
    import botocore.session  # noqa: E402,F401  (the endpoint verifies signatures with it)
    import dockerd as dockerd_support  # noqa: E402
    import registry as registry_support  # noqa: E402
    import secrets_service  # noqa: E402
    from stack import ACCOUNT_A, Stack  # noqa: E402
except ImportError as error:  # botocore missing: the harness cannot run
    skip(error)
if missing_prerequisite():
    skip(missing_prerequisite())

PULLER = "puller"
PASSWORD = "pw-" + secrets.token_hex(16)
LOGIN_B64 = base64.b64encode(("%s:%s" % (PULLER, PASSWORD)).encode()).decode()
SECRET_STRING = json.dumps({"username": PULLER, "secret": PASSWORD})
READER_ROLE = "arn:aws:iam::%s:role/base-image-reader" % ACCOUNT_A
SECRETS = {
    "base-login": {"secret_string": SECRET_STRING},
    "role-login": {"secret_string": json.dumps({"login": PULLER, "token": PASSWORD}),
                   "allowed_roles": [READER_ROLE]},
}

class PlainRegistry:
    """docker-registry over plain HTTP on 127.0.0.1 with htpasswd (registry.py is TLS only)."""

    def __init__(self, state_dir):
        self.state_dir = Path(state_dir)
        self.port = registry_support.free_port()
        self.host = "127.0.0.1:%d" % self.port
        self.htpasswd = str(self.state_dir / "htpasswd")
        self.process = None

    def start(self):
        self.state_dir.mkdir(parents=True)
        registry_support.set_htpasswd_user(self.htpasswd, "assetctl-admin", secrets.token_hex(8))
        config = self.state_dir / "registry.yml"
        config.write_text("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n"
                          "http:\n  addr: %s\nauth:\n  htpasswd:\n    realm: base\n    path: %s\n"
                          % (self.state_dir / "data", self.host, self.htpasswd))
        log = open(self.state_dir / "registry.log", "w")
        self.process = subprocess.Popen(["/usr/bin/docker-registry", "serve", str(config)], stdout=log,
                                        stderr=subprocess.STDOUT, preexec_fn=registry_support.die_with_parent)
        log.close()
        wait_for(self.answers, 30, "the plain-HTTP registry on " + self.host)

    def answers(self):
        if self.process.poll() is not None:
            raise AssertionError("docker-registry exited %d" % self.process.returncode)
        try:
            urllib.request.urlopen("http://%s/v2/" % self.host, timeout=0.5)
        except urllib.error.HTTPError as err:
            return err.code == 401
        except OSError:
            return False
        return False

    def add_user(self, user, password):
        registry_support.set_htpasswd_user(self.htpasswd, user, password)

    def stop(self):
        if self.process is not None:
            registry_support.terminate_pid(self.process.pid, self.process)
            self.process = None


# The recording engine: records, runs the real client as a child (so the private config still
# exists afterwards), records the config folder again and exits with the client's code.
ENGINE_WRAPPER = r'''#!/usr/bin/python3
import json, os, subprocess, sys
config = os.environ.get("DOCKER_CONFIG")
def snapshot():
    files = {}
    if config and os.path.isdir(config):
        for root, _dirs, names in os.walk(config):
            for name in names:
                path = os.path.join(root, name)
                rel = os.path.relpath(path, config)
                if os.path.islink(path):
                    files[rel] = {"link": os.readlink(path)}
                elif os.path.isfile(path):
                    with open(path, "rb") as handle:
                        files[rel] = {"text": handle.read().decode("utf-8", "replace")}
    return files
before = snapshot()
code = subprocess.call([os.environ["WRAPPER_REAL_ENGINE"], *sys.argv[1:]])
entry = {"argv": sys.argv[1:], "docker_config": config, "path": os.environ.get("PATH"),
         "before": before, "after": snapshot(), "exit": code}
fd = os.open(os.environ["WRAPPER_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
os.write(fd, (json.dumps(entry) + "\n").encode())
os.close(fd)
sys.exit(code)
'''


class DockerCredentialsCase(unittest.TestCase):
    """A fresh dockerd, a fresh stack with the secrets, and the base registry, for the class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="assetctl-e2e-dockercreds-")
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
        cls.stack = Stack(extra_config={"secrets": SECRETS, "roles": {READER_ROLE: {}}})
        cls.info = cls.stack.start()
        cls.addClassCleanup(cls.stack.stop)
        cls.base_registry = PlainRegistry(cls.dir / "base-registry")
        cls.addClassCleanup(cls.base_registry.stop)
        cls.base_registry.start()
        cls.tls_registry = registry_support.Registry(str(cls.dir / "tls-registry"))
        cls.addClassCleanup(cls.tls_registry.stop)
        cls.tls_registry.start()
        for registry in (cls.base_registry, cls.tls_registry):
            registry.add_user(PULLER, PASSWORD)
            cls.push_base_image(registry.host)
        cls.engine = cls.dir / "engine.py"
        cls.engine.write_text(ENGINE_WRAPPER)
        cls.engine.chmod(0o755)
        cls.tmpdir = cls.dir / "tmpdir"
        cls.tmpdir.mkdir()

    @classmethod
    def push_base_image(cls, host):
        """busybox as <host>/base:1, pushed with a login of its own, then removed from the
        daemon so that builds must pull it."""
        login_config = Path(tempfile.mkdtemp(dir=cls.dir, prefix="pusher-docker-config-"))
        env = cls.daemon.env(docker_config=str(login_config))
        cls.daemon.docker("login", "--username", PULLER, "--password-stdin", host, input=PASSWORD, env=env)
        cls.daemon.docker("tag", dockerd_support.BUSYBOX_IMAGE, host + "/base:1", env=env)
        cls.daemon.docker("push", host + "/base:1", env=env)
        cls.forget_base()

    @classmethod
    def forget_base(cls):
        for registry in (cls.base_registry, cls.tls_registry):
            cls.daemon.docker("rmi", "--force", registry.host + "/base:1", check=False)
        cls.daemon.docker("builder", "prune", "--all", "--force", check=False)

    # --- running ------------------------------------------------------------------------

    def env(self, home, **extra):
        base = environment_without(("AWS_", "DOCKER_"), ("CDK_DOCKER", "CDK_DOCKER_CREDS_FILE", "TMPDIR"))
        user_config = Path(home) / "user-docker-config"
        user_config.mkdir(exist_ok=True)
        env = self.daemon.env(base=base, docker_config=str(user_config))
        env.update(self.info["env"])
        env.update(isolated_aws(home))
        env.update({"TMPDIR": str(self.tmpdir), "NO_COLOR": "1", "WRAPPER_REAL_ENGINE": DOCKER,
                    "WRAPPER_LOG": str(Path(home) / "engine.jsonl")})
        env.update(extra)
        return env

    def build(self, env, base_host=None):
        assets = self.assembly(base_host or self.base_registry.host)
        proc = subprocess.run([BIN, "build", "-vv", "--json", "--docker", str(self.engine), "--path",
                               str(assets)], capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT)
        return Run(proc.returncode, proc.stdout, proc.stderr, self)

    def assembly(self, base_host):
        """One image asset `FROM <base_host>/base:1` with a fresh id and tag."""
        root = Path(tempfile.mkdtemp(dir=self.dir, prefix="assembly-"))
        asset_id = secrets.token_hex(32)
        folder = root / ("asset." + asset_id)
        folder.mkdir()
        (folder / "Dockerfile").write_text("FROM %s/base:1\nCOPY payload.txt /payload.txt\n" % base_host)
        (folder / "payload.txt").write_text("payload\n")
        destination = {"repositoryName": assets_repository(ACCOUNT_A), "imageTag": asset_id, "region": REGION}
        path = root / "Creds.assets.json"
        path.write_text(json.dumps({"version": "55.0.0", "dockerImages": {asset_id: {
            "source": {"directory": "asset." + asset_id},
            "destinations": {"%s-%s" % (ACCOUNT_A, REGION): destination}}}}, indent=1))
        return path

    def home(self):
        return Path(tempfile.mkdtemp(dir=self.dir, prefix="home-"))

    @staticmethod
    def creds_file(path, domains):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"version": "1.0", "domainCredentials": domains}))

    def engine_calls(self, home):
        with open(Path(home) / "engine.jsonl") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def endpoint_log(self):
        with open(self.info["log_file"]) as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def secret_reads(self, secret_id):
        return [e for e in self.endpoint_log()
                if e["service"] == "secretsmanager" and e.get("secret_id") == secret_id]

    # --- checks ---------------------------------------------------------------------------

    def assert_no_secret_in(self, text, where):
        for needle in (PASSWORD, LOGIN_B64):
            self.assertNotIn(needle, text, "a secret in " + where)

    def assert_secrets_kept(self, run, home):
        self.assert_no_secret_in(run.out, "stdout")
        self.assert_no_secret_in(run.err, "stderr at -vv")
        with open(self.info["log_file"]) as handle:
            self.assert_no_secret_in(handle.read(), "the endpoint's request log")
        for call in self.engine_calls(home):
            self.assert_no_secret_in(json.dumps(call["argv"]), "engine argv %s" % call["argv"])
            for moment in ("before", "after"):
                for name, content in call[moment].items():
                    self.assert_no_secret_in(json.dumps(content), "%s (%s %s)" % (name, moment, call["argv"][:1]))

    def build_call(self, home):
        (call,) = [c for c in self.engine_calls(home) if c["argv"][:1] == ["build"]]
        return call


class DockerCredentialsTest(DockerCredentialsCase):
    def test_base_image_pulled_only_through_the_helper(self):
        arn = secrets_service.secret_arn("base-login", SECRETS["base-login"], ACCOUNT_A)
        self.forget_base()
        # Without a creds file the base registry refuses the anonymous pull.
        home = self.home()
        without = self.build(self.env(home))
        self.assertEqual(without.code, ASSETS_FAILED, without.describe())
        self.assertEqual([a["state"] for a in without.summary["assets"]], ["failed"], without.describe())
        self.assertEqual(self.secret_reads(arn), [])

        home = self.home()
        creds = home / "creds" / "docker-creds.json"
        self.creds_file(creds, {self.base_registry.host: {"secretsManagerSecretId": arn}})
        run = self.build(self.env(home, CDK_DOCKER_CREDS_FILE=str(creds)))
        self.assertEqual(run.code, OK, run.describe())
        self.assertEqual([a["state"] for a in run.summary["assets"]], ["built"], run.describe())
        reads = self.secret_reads(arn)
        self.assertGreaterEqual(len(reads), 1)
        self.assertTrue(all(r["signature_verified"] and r["status"] == 200 for r in reads), reads)

        call = self.build_call(home)
        config = json.loads(call["before"]["config.json"]["text"])
        self.assertEqual(config["credHelpers"].get(self.base_registry.host), "cdk-assets")
        self.assertNotIn(self.base_registry.host, config.get("auths", {}))
        helper = call["before"]["bin/docker-credential-cdk-assets"]["link"]
        self.assertEqual(os.path.realpath(helper), os.path.realpath(BIN))
        self.assertEqual(call["path"].split(":")[0], os.path.join(call["docker_config"], "bin"))
        self.assert_secrets_kept(run, home)
        self.forget_base()

    def test_default_file_in_home_with_an_assumed_role_and_custom_fields(self):
        self.forget_base()
        home = self.home()
        self.creds_file(home / ".cdk" / "cdk-docker-creds.json", {self.base_registry.host: {
            "secretsManagerSecretId": "role-login", "secretsUsernameField": "login",
            "secretsPasswordField": "token", "assumeRoleArn": READER_ROLE}})
        before = len(self.secret_reads("role-login"))
        run = self.build(self.env(home))
        self.assertEqual(run.code, OK, run.describe())
        reads = self.secret_reads("role-login")[before:]
        self.assertTrue(reads and all(r["status"] == 200 for r in reads), reads)
        self.assertTrue(all(":assumed-role/base-image-reader/" in r["principal_arn"] for r in reads), reads)
        self.assert_secrets_kept(run, home)
        self.forget_base()

    def test_a_helper_failure_fails_the_build(self):
        self.forget_base()
        home = self.home()
        creds = home / "creds.json"
        # The caller may not read this secret (only the reader role may).
        self.creds_file(creds, {self.base_registry.host: {"secretsManagerSecretId": "role-login"}})
        run = self.build(self.env(home, CDK_DOCKER_CREDS_FILE=str(creds)))
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        (outcome,) = run.summary["assets"]
        self.assertEqual(outcome["state"], "failed")
        denied = [r for r in self.secret_reads("role-login") if r["error_code"] == "AccessDeniedException"]
        self.assertTrue(denied, run.describe())
        self.assert_secrets_kept(run, home)

    def test_the_classic_builder_asks_the_helper_too(self):
        # The CLI sends the helper's logins to the daemon with the build request; here the
        # daemon pulls over TLS from the registry of tests/support/registry.py.
        self.forget_base()
        home = self.home()
        creds = home / "creds.json"
        self.creds_file(creds, {"https://" + self.tls_registry.host: {"secretsManagerSecretId": "base-login"}})
        before = len(self.secret_reads("base-login"))
        env = self.env(home, CDK_DOCKER_CREDS_FILE=str(creds), DOCKER_BUILDKIT="0")
        run = self.build(env, self.tls_registry.host)
        self.assertEqual(run.code, OK, run.describe())
        self.assertTrue(self.secret_reads("base-login")[before:])
        self.assert_secrets_kept(run, home)
        self.forget_base()

    def test_a_malformed_creds_file_is_an_input_error(self):
        home = self.home()
        creds = home / "creds.json"
        creds.write_text(json.dumps({"domainCredentials": {"r.example.com": {"secretsUsernameField": "u"}}}))
        run = self.build(self.env(home, CDK_DOCKER_CREDS_FILE=str(creds)))
        self.assertEqual(run.code, INPUT, run.describe())
        self.assertFalse((home / "engine.jsonl").exists(), "no engine command may run")


if __name__ == "__main__":
    main()
