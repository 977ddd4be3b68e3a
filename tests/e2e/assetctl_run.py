"""Runs the built assetctl binary for end-to-end tests.

CTest passes the binary in ASSETCTL_BIN and the repository root in ASSETCTL_SOURCE_DIR.
"""
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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
