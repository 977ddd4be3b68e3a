#!/usr/bin/python3
"""Package test: the container image (packaging/Dockerfile over the context scripts/package.sh
writes) built by the tests' private dockerd (tests/support/dockerd.py) FROM a Debian 12 base made
offline (the cached debootstrap root of roots.py, `docker import`ed): `--version`, `ls` of
examples/cdk.out bind-mounted, and a publish of its file assets to the local S3 endpoint with
--network host (the images would need an engine inside the container).
"""
import json
import subprocess
import unittest

from package_env import (EXAMPLE, PACKAGES, PublishChecks, client_env, example_assets,
                         example_stack_options, main, missing_prerequisites, skip, version)

reason = missing_prerequisites()
if reason:
    skip(reason)

import roots  # noqa: E402
from dockerd import Dockerd  # noqa: E402
from stack import Stack  # noqa: E402

BASE = "local/debian-minbase:bookworm"
IMAGE = "assetctl:package-test"


class ImageInDockerd(PublishChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dockerd = Dockerd().__enter__()
        cls.addClassCleanup(cls.dockerd.__exit__, None, None, None)
        with open(roots.ensure_tarball("bookworm"), "rb") as rootfs:
            subprocess.run(["/usr/bin/docker", "import", "-", BASE], stdin=rootfs, env=cls.dockerd.env(),
                           check=True, capture_output=True)
        built = cls.dockerd.docker("build", "--build-arg", "BASE=" + BASE, "-t", IMAGE, str(PACKAGES / "image"),
                                   check=False, timeout=300)
        assert built.returncode == 0, built.stdout + built.stderr

    def docker_run(self, *args, env=None, volumes=()):
        argv = ["run", "--rm", "--network", "host"]
        for name, value in (env or {}).items():
            argv += ["-e", name]      # the value from the client's environment: not in argv
        for volume in volumes:
            argv += ["-v", volume]
        client = self.dockerd.env()
        client.update(env or {})
        return self.dockerd.docker(*argv, IMAGE, *args, env=client, check=False, timeout=180)

    def test_version(self):
        result = self.docker_run("--version")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(version(), result.stdout)

    def test_ls_of_a_mounted_assembly(self):
        files, images = example_assets()
        result = self.docker_run("ls", "--json", "--path", "/work/cdk.out", volumes=["%s:/work/cdk.out:ro" % EXAMPLE])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual({a["id"] for a in json.loads(result.stdout)["assets"]}, set(files + images))

    def test_publish_the_file_assets(self):
        files, _ = example_assets()
        with Stack(**example_stack_options()) as stack:
            env = client_env(stack.info)
            copy = self.enterContext_tempdir()
            subprocess.run(["cp", "-a", str(EXAMPLE), copy + "/cdk.out"], check=True)
            volumes = ["%s/cdk.out:/work/cdk.out" % copy]
            first = self.docker_run("publish", "--path", "/work/cdk.out", "--json", *files, env=env, volumes=volumes)
            self.assertEqual(first.returncode, 0, self.describe(first))
            targets = {(a["asset"], a["state"]) for a in self.summary_of(first)["assets"]}
            self.assertEqual({asset for asset, _ in targets}, set(files))
            self.assertEqual({state for _, state in targets}, {"published"}, self.describe(first))

    def enterContext_tempdir(self):
        import tempfile
        folder = tempfile.TemporaryDirectory(prefix="assetctl-image-")
        self.addCleanup(folder.cleanup)
        return folder.name


if __name__ == "__main__":
    main()
