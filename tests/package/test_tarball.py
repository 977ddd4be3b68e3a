#!/usr/bin/python3
"""Package test: the self-contained tarball (scripts/package.sh) in a fresh Debian 11 minbase
root (glibc 2.31, older than the glibc 2.36 it was built with; no compiler): unpacked under
/opt, its bundled loader resolves every library from the bundle's lib/ (none from the root);
`assetctl --version`, `ls` and a publish of examples/cdk.out (as test_deb.py) through the
bin/assetctl wrapper, with the credentials from a credential_process whose own process shows
that children get the root's libraries, not the bundle's (the loader's --library-path is not
inherited, there is no LD_LIBRARY_PATH), trusting the registry through the system CA bundle at
Amazon Linux's path (lib/http/ca_bundle.hpp); the cdk-assets and docker-credential-cdk-assets
links.
"""
import json
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

SUITE = "bullseye"
LOADER = "ld-linux-x86-64.so.2"

# A credential_process that records what a child of assetctl sees (its environment and the
# libraries mapped into a process it runs), then answers with the stack's keys.
CREDENTIAL_PROCESS = """#!/bin/sh
env > /work/child-env
cat /proc/self/maps > /work/child-maps
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}' "$KEY_ID" "$SECRET"
"""


class TarballInDebian11(PublishChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tarball = artefact("assetctl-*-linux-x86_64.tar.gz")
        cls.top = "/opt/" + cls.tarball.name[:-len(".tar.gz")]
        cls.root = roots.Root(SUITE).__enter__()
        cls.addClassCleanup(cls.root.__exit__, None, None, None)
        cls.root.copy_in(cls.tarball, "/tmp/" + cls.tarball.name)
        unpacked = cls.root.run(["tar", "-C", "/opt", "-xzf", "/tmp/" + cls.tarball.name], check=False)
        assert unpacked.returncode == 0, unpacked.stderr

    def run_in_root(self, *argv, env=None):
        return self.root.run(list(argv), env=env, check=False)

    def test_root_is_debian_11_without_a_compiler(self):
        self.assertEqual(which_compilers(self.root), [])
        glibc = self.run_in_root("getconf", "GNU_LIBC_VERSION")
        self.assertEqual(glibc.stdout.strip(), "glibc 2.31")

    def test_every_library_comes_from_the_bundle(self):
        lib = self.top + "/lib"
        listed = self.run_in_root(lib + "/" + LOADER, "--library-path", lib, "--list",
                                  self.top + "/libexec/assetctl")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        lines = [line.strip() for line in listed.stdout.splitlines() if line.strip()]
        self.assertGreater(len(lines), 5)
        foreign = [line for line in lines
                   if not line.startswith("linux-vdso") and lib + "/" not in line]
        self.assertEqual(foreign, [], listed.stdout)

    def test_version_and_links(self):
        result = self.run_in_root(self.top + "/bin/assetctl", "--version")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(version(), result.stdout)
        helper = self.run_in_root(self.top + "/bin/docker-credential-cdk-assets", "list")
        self.assertEqual((helper.returncode, helper.stdout.strip()), (0, "{}"), helper.stderr)
        cdk_assets = self.run_in_root(self.top + "/bin/cdk-assets", "--version")
        self.assertEqual(cdk_assets.returncode, 0, cdk_assets.stderr)
        self.assertIn("assetctl", cdk_assets.stdout)

    def test_links_from_another_folder_on_path(self):
        # docs/install.md: `ln -sf /opt/assetctl-*/bin/* /usr/local/bin/`, then by name.
        for name in ("assetctl", "cdk-assets", "docker-credential-cdk-assets"):
            (self.root.path / "usr/local/bin" / name).symlink_to(self.top + "/bin/" + name)
        self.assertIn(version(), self.run_in_root("assetctl", "--version").stdout)
        helper = self.run_in_root("docker-credential-cdk-assets", "list")
        self.assertEqual((helper.returncode, helper.stdout.strip()), (0, "{}"), helper.stderr)
        self.assertIn("assetctl", self.run_in_root("cdk-assets", "--version").stdout)

    def test_ls_and_publish_the_example(self):
        with Stack(**example_stack_options()) as stack, Dockerd() as dockerd:
            env = prepare_example_publish(self.root, stack, dockerd)
            files, images = example_assets()
            assetctl = self.top + "/bin/assetctl"
            listed = self.run_in_root(assetctl, "ls", "--json", "--path", "/work/cdk.out", env=env)
            self.assertEqual(listed.returncode, 0, listed.stderr)
            self.assertEqual({a["id"] for a in json.loads(listed.stdout)["assets"]}, set(files + images))

            (self.root.path / "work/credentials.sh").write_text(CREDENTIAL_PROCESS)
            (self.root.path / "work/credentials.sh").chmod(0o755)
            (self.root.path / "work/aws-config").write_text(
                "[default]\ncredential_process = /work/credentials.sh\n")
            # The system CA bundle where Amazon Linux keeps it (this root has none at Debian's
            # path, libcurl's default): the registry's TLS is trusted only if assetctl finds it.
            self.assertFalse((self.root.path / "etc/ssl/certs/ca-certificates.crt").exists())
            self.root.copy_in(self.root.path / "work/registry-ca.pem", "/etc/pki/tls/certs/ca-bundle.crt")
            keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_CA_BUNDLE")
            process_env = {name: value for name, value in env.items() if name not in keys}
            process_env.update({"KEY_ID": env[keys[0]], "SECRET": env[keys[1]],
                                "AWS_CONFIG_FILE": "/work/aws-config"})
            first = self.run_in_root(assetctl, "publish", "--path", "/work/cdk.out", "--json", env=process_env)
            self.assert_all(first, "published", example_targets())
            self.check_child_saw_the_roots_libraries()
            again = self.run_in_root(assetctl, "publish", "--path", "/work/cdk.out", "--json", env=process_env)
            self.assert_all(again, "present", example_targets())

    def check_child_saw_the_roots_libraries(self):
        child_env = (self.root.path / "work/child-env").read_text().splitlines()
        self.assertEqual([line for line in child_env if line.startswith("LD_")], [])
        maps = (self.root.path / "work/child-maps").read_text()
        libraries = {line.split()[-1] for line in maps.splitlines() if ".so" in line}
        self.assertTrue(libraries, maps)
        self.assertEqual([path for path in libraries if path.startswith(self.top)], [], maps)
        self.assertTrue(any(path.endswith("/libc-2.31.so") for path in libraries), libraries)


if __name__ == "__main__":
    main()
