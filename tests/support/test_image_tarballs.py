"""Tests of image_tarballs.py: the good fixtures are read by skopeo (an independent reader) and
give back our config and diff_ids; the hostile ones have exactly the defect they claim.

Run: /usr/bin/python3 -m unittest discover -s tests/support -p 'test_*.py'
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import image_tarballs as it  # noqa: E402

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"


def skopeo(*args) -> bytes:
    result = subprocess.run([SKOPEO, "--insecure-policy", *args], capture_output=True, timeout=60,
                            env=dict(os.environ, HOME=tempfile.gettempdir()))
    if result.returncode != 0:
        raise AssertionError("skopeo %s failed: %s" % (" ".join(args), result.stderr.decode(errors="replace")))
    return result.stdout


def members(path: str) -> dict:
    with tarfile.open(path, "r:*") as tar:
        return {m.name: m for m in tar.getmembers()}


@unittest.skipUnless(os.path.exists(SKOPEO), "skopeo not installed (Debian package skopeo)")
class GoodSourcesReadBySkopeo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="assetctl-image-tarballs-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.one = it.sample_image("one", sizes=(40 << 10, 90 << 10, 10 << 10), repo_tags=["app:v1"])
        cls.two = it.sample_image("two", sizes=(30 << 10,), repo_tags=["app:v2", "other/app:latest"])

    def path(self, name):
        return os.path.join(self.tmp, name)

    def gunzipped(self, written):
        """skopeo 1.9 cannot read gzip-compressed docker archives: check the gzip wrapper here
        and give skopeo the plain tar inside."""
        with open(written.path, "rb") as handle:
            data = handle.read()
        self.assertEqual(data[:2], b"\x1f\x8b")
        plain = tempfile.mktemp(dir=self.tmp, suffix=".tar")
        with open(plain, "wb") as handle:
            handle.write(gzip.decompress(data))
        return it.Written(plain, written.format, written.images, False, written.manifests, written.names)

    def assert_docker_archive(self, ref, image):
        manifest = json.loads(skopeo("inspect", "--raw", ref))
        self.assertEqual(manifest["config"]["digest"], image.config_digest)
        self.assertEqual([l["digest"] for l in manifest["layers"]], image.diff_ids)
        self.assertEqual(skopeo("inspect", "--config", "--raw", ref), image.config)
        self.assertEqual(image.config_diff_ids, image.diff_ids)

    def assert_oci(self, ref, image, manifest_bytes):
        raw = skopeo("inspect", "--raw", ref)
        self.assertEqual(raw, manifest_bytes)   # skopeo reads our manifest byte for byte
        manifest = json.loads(raw)
        self.assertEqual(manifest["config"]["digest"], image.config_digest)
        self.assertEqual([l["digest"] for l in manifest["layers"]], [l.gz_digest for l in image.layers])
        self.assertEqual(skopeo("inspect", "--config", "--raw", ref), image.config)
        # A full copy verifies every blob's digest (and skopeo checks the diff_ids on the way).
        target = tempfile.mkdtemp(dir=self.tmp)
        skopeo("copy", ref, "dir:" + target)
        for layer in image.layers:
            with open(os.path.join(target, it.hex_of(layer.gz_digest)), "rb") as handle:
                self.assertEqual(hashlib.sha256(gzip.decompress(handle.read())).hexdigest(), it.hex_of(layer.diff_id))

    def test_legacy_single_and_several_images(self):
        single = it.write_docker_save_legacy(self.path("legacy1.tar"), [self.one])
        self.assert_docker_archive(single.skopeo_ref(), self.one)
        several = it.write_docker_save_legacy(self.path("legacy2.tar"), [self.one, self.two])
        self.assert_docker_archive(several.skopeo_ref("app:v1"), self.one)
        self.assert_docker_archive(several.skopeo_ref("app:v2"), self.two)
        self.assert_docker_archive(several.skopeo_ref("@1"), self.two)   # the last = what docker load prints last
        with open(self.path("legacy2.tar"), "rb") as handle:
            manifest = json.loads(tarfile.open(fileobj=handle).extractfile("manifest.json").read())
        self.assertEqual([m["RepoTags"] for m in manifest], [["app:v1"], ["app:v2", "other/app:latest"]])

    def test_legacy_gzipped(self):
        written = it.write_docker_save_legacy(self.path("legacy.tar.gz"), [self.one], gzip=True)
        self.assert_docker_archive(self.gunzipped(written).skopeo_ref(), self.one)

    def test_docker_25_both_layouts_and_symlinks(self):
        written = it.write_docker_save_25(self.path("d25.tar"), [self.one, self.two])
        self.assert_docker_archive(written.skopeo_ref("app:v1"), self.one)
        self.assert_docker_archive(written.skopeo_ref("app:v2"), self.two)
        entries = members(written.path)
        for name in ("manifest.json", "index.json", "oci-layout", "repositories"):
            self.assertIn(name, entries)
        links = [m for m in entries.values() if m.issym() and m.name.endswith("/layer.tar")]
        self.assertEqual(len(links), 4)
        for link in links:
            self.assertTrue(link.linkname.startswith("../blobs/sha256/"), link.linkname)
            self.assertIn(os.path.normpath(os.path.join(os.path.dirname(link.name), link.linkname)), entries)
        # The OCI side of the same tar: uncompressed layers, digest = diff_id.
        with tarfile.open(written.path) as tar:
            index = json.loads(tar.extractfile("index.json").read())
            self.assertEqual([d["digest"] for d in index["manifests"]],
                             [written.manifest_digest(0)] + [written.manifest_digest(1)] * 2)
            oci = json.loads(tar.extractfile("blobs/sha256/" + it.hex_of(written.manifest_digest(0))).read())
        self.assertEqual([l["digest"] for l in oci["layers"]], self.one.diff_ids)
        self.assertEqual({l["mediaType"] for l in oci["layers"]}, {it.OCI_LAYER})
        # skopeo can also read it as an OCI archive.
        self.assertEqual(json.loads(skopeo("inspect", "--raw", "oci-archive:%s:v1" % written.path))["config"]["digest"],
                         self.one.config_digest)

    def test_docker_25_with_legacy_symlink_paths_in_manifest(self):
        written = it.write_docker_save_25(self.path("d25-legacy.tar.gz"), [self.one], gzip=True,
                                          legacy_paths_in_manifest=True)
        self.assert_docker_archive(self.gunzipped(written).skopeo_ref(), self.one)

    def test_oci_layout_dir(self):
        written = it.write_oci_layout(self.path("layout"), [self.one, self.two])
        self.assertEqual(written.names, ["app:v1", "app:v2"])
        self.assert_oci(written.skopeo_ref("app:v1"), self.one, written.manifests[0])
        self.assert_oci(written.skopeo_ref("app:v2"), self.two, written.manifests[1])
        # Docker media types inside an OCI layout (some tools write them; skopeo 1.9 skips such
        # index entries, so only the structure is checked here).
        docker = it.write_oci_layout(self.path("layout-docker"), [self.one], names=["v1"], docker_types=True)
        manifest = json.loads(docker.manifests[0])
        self.assertEqual(manifest["mediaType"], it.DOCKER_MANIFEST)
        self.assertEqual({l["mediaType"] for l in manifest["layers"]}, {it.DOCKER_LAYER_GZIP})
        for layer in self.one.layers:
            self.assertTrue(os.path.isfile(os.path.join(docker.path, "blobs", "sha256", it.hex_of(layer.gz_digest))))

    def test_oci_archive_plain_and_gzipped(self):
        written = it.write_oci_archive(self.path("oci.tar"), [self.one], names=["v1"])
        self.assert_oci(written.skopeo_ref(), self.one, written.manifests[0])
        gz = it.write_oci_archive(self.path("oci.tar.gz"), [self.one], names=["v1"], gzip=True)
        with open(gz.path, "rb") as handle, open(written.path, "rb") as plain:
            self.assertEqual(gzip.decompress(handle.read()), plain.read())

    def test_deterministic(self):
        a = it.write_docker_save_25(self.path("det-a.tar"), [it.sample_image("d", repo_tags=["x:y"])])
        b = it.write_docker_save_25(self.path("det-b.tar"), [it.sample_image("d", repo_tags=["x:y"])])
        with open(a.path, "rb") as fa, open(b.path, "rb") as fb:
            self.assertEqual(fa.read(), fb.read())
        for member in members(a.path).values():
            self.assertEqual((member.mtime, member.uid, member.gid), (0, 0, 0))


class HostileFixtures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="assetctl-image-hostile-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.written = {kind: it.write_hostile(os.path.join(cls.tmp, kind + ".tar"), kind) for kind in it.HOSTILE_KINDS}

    def manifest(self, kind):
        with tarfile.open(self.written[kind].path) as tar:
            return json.loads(tar.extractfile("manifest.json").read())[0]

    def test_paths_outside_the_archive_are_used_by_the_manifest(self):
        for kind, bad in (("dotdot", "../evil"), ("absolute", "/etc/x")):
            entries = members(self.written[kind].path)
            self.assertIn(bad, entries)
            self.assertEqual(self.manifest(kind)["Layers"], [bad])

    def test_symlinks_leave_the_archive(self):
        for kind, target in (("symlink_abs", "/etc/passwd"), ("symlink_up", "../../x")):
            (layer_path,) = self.manifest(kind)["Layers"]
            member = members(self.written[kind].path)[layer_path]
            self.assertTrue(member.issym())
            self.assertEqual(member.linkname, target)

    def test_truncated(self):
        with self.assertRaises(tarfile.ReadError):
            with tarfile.open(self.written["truncated"].path) as tar:
                for member in tar:
                    if member.isfile():
                        tar.extractfile(member).read()

    def test_missing_layer(self):
        (layer_path,) = self.manifest("missing_layer")["Layers"]
        self.assertNotIn(layer_path, members(self.written["missing_layer"].path))

    def test_diff_ids_wrong(self):
        for kind in ("diffid_mismatch", "diffid_count"):
            manifest = self.manifest(kind)
            with tarfile.open(self.written[kind].path) as tar:
                config = json.loads(tar.extractfile(manifest["Config"]).read())
                layers = [hashlib.sha256(tar.extractfile(p).read()).hexdigest() for p in manifest["Layers"]]
            diff_ids = [it.hex_of(d) for d in config["rootfs"]["diff_ids"]]
            if kind == "diffid_mismatch":
                self.assertEqual(len(diff_ids), len(layers))
                self.assertNotEqual(diff_ids, layers)
                # Still a readable tar of the same size: only the content changed.
                with tarfile.open(self.written[kind].path) as tar:
                    tarfile.open(fileobj=io.BytesIO(tar.extractfile(manifest["Layers"][0]).read())).getmembers()
            else:
                self.assertEqual(diff_ids[:-1], layers)
                self.assertEqual(len(diff_ids), len(layers) + 1)

    @unittest.skipUnless(os.path.exists(SKOPEO), "skopeo not installed (Debian package skopeo)")
    def test_skopeo_refuses_the_corrupt_ones(self):
        for kind in ("truncated", "missing_layer", "symlink_abs", "diffid_mismatch"):
            with self.subTest(kind=kind):
                target = tempfile.mkdtemp(dir=self.tmp)
                result = subprocess.run([SKOPEO, "--insecure-policy", "copy", "docker-archive:" + self.written[kind].path,
                                         "dir:" + target], capture_output=True, timeout=60)
                self.assertNotEqual(result.returncode, 0, kind)


if __name__ == "__main__":
    unittest.main()
