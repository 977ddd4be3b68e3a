"""What the package tests share: the artefacts scripts/package.sh made (ASSETCTL_PACKAGES), the
local stack set up for the example app's account (as scripts/demo.sh does), a private dockerd,
and running the example publish inside a Debian root.

CTest passes ASSETCTL_PACKAGES (package_build's --out folder) and ASSETCTL_SOURCE_DIR.
"""
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "support"))
import unittest_ctest  # noqa: E402

SKIPPED = 77
SOURCE_DIR = Path(os.environ["ASSETCTL_SOURCE_DIR"])
PACKAGES = Path(os.environ["ASSETCTL_PACKAGES"])
EXAMPLE = SOURCE_DIR / "examples" / "cdk.out"
ACCOUNT = "123456789012"
QUALIFIER = "hnb659fds"
REGIONS = ("us-east-1", "eu-west-1")
# The docker CLI the roots use: the static 28.x client (no glibc of its own to match the root);
# it has no buildx, so builds use the classic builder (DOCKER_BUILDKIT=0), enough for the
# example's FROM scratch + COPY images.
STATIC_DOCKER_CLIENT = Path("/usr/local/bin/docker")
DOCKER_SOCKET_DIR = "/run/assetctl-test-docker"   # where a root sees the dockerd's socket


def skip(reason):
    print("SKIP: %s" % reason, file=sys.stderr)
    sys.exit(SKIPPED)


def main():
    unittest_ctest.main(module="__main__")


def version():
    """project()'s version, as the packages carry it (the CMake cache of the packaged build)."""
    return (PACKAGES / "VERSION").read_text().strip()


def artefact(pattern):
    matches = sorted(PACKAGES.glob(pattern))
    if len(matches) != 1:
        raise AssertionError("expected one %s in %s, found %s" % (pattern, PACKAGES, matches))
    return matches[0]


def example_assets():
    """(file asset ids, image asset ids) of examples/cdk.out, from its manifests."""
    files, images = set(), set()
    for manifest in EXAMPLE.glob("*.assets.json"):
        data = json.loads(manifest.read_text())
        files.update(data.get("files", {}))
        images.update(data.get("dockerImages", {}))
    return sorted(files), sorted(images)


def example_targets():
    """Every (asset, destination) of examples/cdk.out."""
    targets = set()
    for manifest in EXAMPLE.glob("*.assets.json"):
        data = json.loads(manifest.read_text())
        for kind in ("files", "dockerImages"):
            for asset, entry in data.get(kind, {}).items():
                targets.update((asset, destination) for destination in entry["destinations"])
    return targets


def example_stack_options():
    """Stack() arguments giving the example's account its bootstrap roles, repositories (on the
    local registry) and buckets, as scripts/demo.sh does."""
    config = {
        "repository_uri_host": "registry",
        "roles": {"arn:aws:iam::%s:role/cdk-%s-%s-publishing-role-%s-%s" % (ACCOUNT, QUALIFIER, kind, ACCOUNT, region): {}
                  for region in REGIONS for kind in ("image", "file")},
        "repositories": [{"name": "cdk-%s-container-assets-%s-%s" % (QUALIFIER, ACCOUNT, region), "account": ACCOUNT}
                         for region in REGIONS],
    }
    buckets = [{"name": "cdk-%s-assets-%s-%s" % (QUALIFIER, ACCOUNT, region), "region": region,
                "account": ACCOUNT, "encryption": {"kms": None}} for region in REGIONS]
    return {"extra_config": config, "buckets": buckets}


def client_env(info, inside_state="/nonexistent-aws"):
    """The stack's client environment for a process in a root: the stack's keys, region and
    endpoint overrides (127.0.0.1: a chroot shares the network namespace), no shared AWS files,
    no instance metadata."""
    env = dict(info["env"])
    env.update({"AWS_CONFIG_FILE": inside_state + "/config",
                "AWS_SHARED_CREDENTIALS_FILE": inside_state + "/credentials",
                "AWS_EC2_METADATA_DISABLED": "true"})
    return env


def prepare_example_publish(root, stack, dockerd):
    """Puts what publishing examples/cdk.out from inside `root` needs there: a copy of the
    assembly (/work/cdk.out), the registry's CA (/work/registry-ca.pem), the dockerd socket's
    folder and the static docker CLI (bind mounts). Returns the environment for the publish."""
    root.copy_in(EXAMPLE, "/work/cdk.out")
    root.copy_in(stack.info["registry"]["ca_cert"], "/work/registry-ca.pem")
    root.mounts.bind(os.path.dirname(dockerd.socket), DOCKER_SOCKET_DIR)
    root.mounts.bind_file(STATIC_DOCKER_CLIENT, "/usr/local/bin/docker")
    env = client_env(stack.info)
    env.update({"DOCKER_HOST": "unix://%s/%s" % (DOCKER_SOCKET_DIR, os.path.basename(dockerd.socket)),
                "DOCKER_BUILDKIT": "0",
                # assetctl pushes natively: it trusts the registry's own CA through AWS_CA_BUNDLE.
                "AWS_CA_BUNDLE": "/work/registry-ca.pem"})
    return env


def missing_prerequisites():
    """Why the root-based tests cannot run here, else None."""
    import roots
    reason = roots.missing_tools()
    if reason:
        return reason
    for path in (STATIC_DOCKER_CLIENT, Path("/usr/sbin/dockerd")):
        if not path.exists():
            return "%s is not installed" % path
    try:
        import botocore.session  # noqa: F401  (the endpoint verifies signatures with it)
    except ImportError as error:
        return str(error)
    return None


class PublishChecks:
    """Assertions on a `publish --json` run of examples/cdk.out (a unittest.TestCase mixin)."""

    def summary_of(self, result):
        records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        summaries = [r for r in records if r.get("event") == "summary"]
        self.assertEqual(len(summaries), 1, self.describe(result))
        return summaries[0]

    def assert_all(self, result, state, targets):
        self.assertEqual(result.returncode, 0, self.describe(result))
        summary = self.summary_of(result)
        states = {(a["asset"], a["destination"]): a["state"] for a in summary["assets"]}
        self.assertEqual(set(states), set(targets), self.describe(result))
        self.assertEqual(set(states.values()), {state}, states)

    @staticmethod
    def describe(result):
        return "exit %d\n--- stdout\n%s--- stderr\n%s" % (result.returncode, result.stdout, result.stderr[-6000:])


def which_compilers(root):
    """The C/C++ compilers present in `root` (there must be none)."""
    return [name for name in ("cc", "gcc", "c++", "g++", "clang") if shutil.which(name, path=str(root.path / "usr/bin"))]
