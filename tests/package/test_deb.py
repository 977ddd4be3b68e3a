#!/usr/bin/python3
"""Package test: the .deb (scripts/package.sh) in a fresh Debian 12 minbase root (tests/package/
roots.py; no compiler in it): `apt-get install ./assetctl_*.deb` resolves its Depends from the
mirror, then `assetctl --version`, `ls` and a publish of examples/cdk.out (three images built by
a private dockerd through the bind-mounted socket, pushed natively to the local registry, and
two file assets to the local S3 endpoint; tests/support/stack.py), the cdk-assets and
docker-credential-cdk-assets links, and `apt-get remove --purge` leaving none of its files.
"""
import json
import os
import subprocess
import unittest

from package_env import (PublishChecks, artefact, example_assets, example_stack_options,
                         example_targets, main, missing_prerequisites, prepare_example_publish,
                         skip, version, which_compilers)

reason = missing_prerequisites()
if reason:
    skip(reason)

import roots  # noqa: E402
from dockerd import Dockerd  # noqa: E402
from stack import Stack  # noqa: E402

SUITE = "bookworm"


class DebInDebian12(PublishChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deb = artefact("assetctl_*_amd64.deb")
        cls.root = roots.Root(SUITE).__enter__()
        cls.addClassCleanup(cls.root.__exit__, None, None, None)

    def run_in_root(self, *argv, env=None, check=False):
        return self.root.run(list(argv), env=env, check=check)

    def install(self):
        self.root.copy_in(self.deb, "/tmp/" + self.deb.name)
        return self.run_in_root("apt-get", "install", "-y", "-q", "--no-install-recommends",
                                "-o", "APT::Sandbox::User=root", "/tmp/" + self.deb.name)

    def test_install_run_publish_purge(self):
        self.assertEqual(which_compilers(self.root), [])
        listed = subprocess.run(["dpkg-deb", "-c", str(self.deb)], capture_output=True, text=True, check=True)
        contents = [os.path.normpath("/" + line.split()[5]) for line in listed.stdout.splitlines()]
        existed = {path for path in contents if (self.root.path / path.lstrip("/")).exists()}

        installed = self.install()
        self.assertEqual(installed.returncode, 0, installed.stdout + installed.stderr)
        self.assertEqual(self.run_in_root("dpkg-query", "-W", "-f=${Status}", "assetctl").stdout,
                         "install ok installed")
        files = self.run_in_root("dpkg", "-L", "assetctl").stdout.split()
        for path in ("/usr/bin/assetctl", "/usr/bin/cdk-assets", "/usr/bin/docker-credential-cdk-assets",
                     "/usr/share/doc/assetctl/README.md"):
            self.assertIn(path, files)

        with self.subTest("version"):
            result = self.run_in_root("assetctl", "--version")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(version(), result.stdout)
        with self.subTest("links select their modes"):
            helper = self.run_in_root("docker-credential-cdk-assets", "list")
            self.assertEqual((helper.returncode, helper.stdout.strip()), (0, "{}"), helper.stderr)
            cdk_assets = self.run_in_root("cdk-assets", "--version")
            self.assertEqual(cdk_assets.returncode, 0, cdk_assets.stderr)
        with self.subTest("publish"):
            self.check_ls_and_publish()

        purged = self.run_in_root("apt-get", "remove", "--purge", "-y", "-q", "assetctl")
        self.assertEqual(purged.returncode, 0, purged.stdout + purged.stderr)
        left = [path for path in files
                if path not in existed and (self.root.path / path.lstrip("/")).exists()
                and not (self.root.path / path.lstrip("/")).is_dir()]
        self.assertEqual(left, [], "files of the package left after purge")
        left_dirs = [path for path in files
                     if path not in existed and (self.root.path / path.lstrip("/")).is_dir()]
        self.assertEqual(left_dirs, [], "folders of the package left after purge")

    def check_ls_and_publish(self):
        with Stack(**example_stack_options()) as stack, Dockerd() as dockerd:
            env = prepare_example_publish(self.root, stack, dockerd)
            files, images = example_assets()
            listed = self.run_in_root("assetctl", "ls", "--json", "--path", "/work/cdk.out", env=env)
            self.assertEqual(listed.returncode, 0, listed.stderr)
            self.assertEqual({a["id"] for a in json.loads(listed.stdout)["assets"]}, set(files + images))
            first = self.run_in_root("assetctl", "publish", "--path", "/work/cdk.out", "--json", env=env)
            self.assert_all(first, "published", example_targets())
            again = self.run_in_root("assetctl", "publish", "--path", "/work/cdk.out", "--json", env=env)
            self.assert_all(again, "present", example_targets())


if __name__ == "__main__":
    main()
