"""Runs the built assetctl binary for end-to-end tests, and what every e2e script shares: the
run's JSON records (Run), polling (wait_for), the bootstrap role and repository names, the
isolated AWS environment, and main() (the CTest exit codes: 77 when anything skipped).

CTest passes the binary in ASSETCTL_BIN and the repository root in ASSETCTL_SOURCE_DIR.
"""
import json
import os
import subprocess
import sys
import time
import unittest
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import unittest_ctest  # noqa: E402  (tests/unittest_ctest.py)

BIN = os.environ["ASSETCTL_BIN"]
SOURCE_DIR = Path(os.environ["ASSETCTL_SOURCE_DIR"])
FIXTURE = SOURCE_DIR / "tests" / "fixtures" / "cdk-app" / "cdk.out"

# Exit codes (README.md, "Exit codes").
OK, ASSETS_FAILED, USAGE, INPUT, INTERRUPTED = 0, 1, 2, 3, 130

SKIPPED = 77  # the e2e tests' SKIP_RETURN_CODE: CTest reports Skipped, never Passed


def skip(reason):
    """Ends the script as Skipped: a prerequisite is missing, so nothing was tested."""
    print(f"SKIP: {reason}", file=sys.stderr)
    sys.exit(SKIPPED)


def missing_path(paths):
    """'<path> is not installed' for the first of `paths` that does not exist, else None."""
    for path in paths:
        if not os.path.exists(path):
            return "%s is not installed" % path
    return None


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


def assetctl(*args, env=None, cwd=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=60)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def main():
    """Runs the calling script's tests (instead of unittest.main()): exit 0 when all ran and
    passed, 1 on any failure, 77 (Skipped) when all that ran passed but something skipped."""
    unittest_ctest.main(module="__main__")


# --- the local stack's bootstrap names (tests/support/stack.py) ------------------------------

REGION = "us-east-1"
QUALIFIER = "hnb659fds"  # the default bootstrap qualifier


def publishing_role_arn(account, region=REGION):
    """The bootstrap image-publishing role of `account` in `region`."""
    return f"arn:aws:iam::{account}:role/cdk-{QUALIFIER}-image-publishing-role-{account}-{region}"


def assets_repository(account, region=REGION):
    """The bootstrap container-assets repository of `account` in `region`."""
    return f"cdk-{QUALIFIER}-container-assets-{account}-{region}"


def external_id_role_arn(account):
    """The stack's role that needs the external id (stack.EXTERNAL_ID)."""
    return f"arn:aws:iam::{account}:role/assetctl-publisher-with-external-id"


def web_identity_role_arn(account):
    return f"arn:aws:iam::{account}:role/assetctl-web-identity-role"


# --- environment ------------------------------------------------------------------------------

def environment_without(prefixes=(), names=()):
    """os.environ without the variables starting with one of `prefixes` or named in `names`."""
    return {k: v for k, v in os.environ.items() if not k.startswith(tuple(prefixes)) and k not in names}


def isolated_aws(home):
    """HOME and the AWS files pointed into `home` (where no AWS file exists) and no instance
    metadata: only what a test passes explicitly can give assetctl credentials."""
    home = Path(home)
    return {
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


# --- polling and processes -------------------------------------------------------------------

def wait_for(predicate, seconds, what):
    """Polls predicate until it returns a true value, which it returns (not a sleep used as
    synchronisation: the deadline only bounds the wait); fails with `what` after the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (seconds, what))
        time.sleep(0.05)


def pid_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def group_gone(pgid):
    """True when no live process of process group `pgid` is left (a zombie, which only waits
    for its parent or init to reap it, counts as gone)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in ("Z", "X"):
            return False
    return True


# --- a `--json` run's records ------------------------------------------------------------------

class Run:
    """The outcome of one `assetctl ... --json` run: exit code, stdout (JSON lines: events and one
    summary) and stderr. Its checks are unittest assertions (`test`, the calling test case; a
    plain TestCase for runs made in setUpClass), so they hold under python -O too; every stdout
    line must be JSON (results only go to stdout)."""

    def __init__(self, code, out, err, test=None):
        self.code, self.out, self.err = code, out, err
        self.test = test if test is not None else unittest.TestCase()
        self.records = []
        for number, line in enumerate(out.splitlines(), 1):
            if line.strip():
                try:
                    self.records.append(json.loads(line))
                except ValueError:
                    test.fail("stdout line %d is not JSON: %r\n%s" % (number, line, self.describe()))

    @property
    def summary(self):
        summaries = [r for r in self.records if r.get("event") == "summary"]
        self.test.assertEqual(len(summaries), 1, "expected one summary:\n" + self.describe())
        return summaries[0]

    @property
    def events(self):
        return [r for r in self.records if r.get("event") != "summary"]

    def states(self):
        return {(a["asset"], a["destination"]): a["state"] for a in self.summary["assets"]}

    def outcome(self, asset, destination=None):
        matches = [a for a in self.summary["assets"]
                   if a["asset"] == asset and destination in (None, a["destination"])]
        self.test.assertEqual(len(matches), 1, "outcomes for %s:\n%s" % (asset, self.describe()))
        return matches[0]

    def of(self, event, asset=None):
        return [e for e in self.events if e["event"] == event and asset in (None, e["asset"])]

    def describe(self):
        return "exit %d\n--- stdout\n%s--- stderr\n%s" % (self.code, self.out, self.err[-6000:])
