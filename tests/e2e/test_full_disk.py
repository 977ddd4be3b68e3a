"""End-to-end: a full disk while assetctl spools layers or zips a folder (issue #13).

Each case mounts a small tmpfs (root only: skipped otherwise) where assetctl writes:

  * the layer store: XDG_CACHE_HOME on a 1 MiB tmpfs, and an image tarball whose random
    (incompressible) 3 MiB layer must be compressed into it;
  * the zip cache: the assembly itself on a 1 MiB tmpfs with a folder asset of 3 MiB random
    bytes, zipped into `<assembly>/.cache/<asset id>.zip`.

The publish must fail that asset with one clear line naming the cause ("No space left on
device") and nothing else (the other assets publish), and leave no partial cache entry: no
`.partial-*` or other temporary file, every blob in the store named by the sha256 of its
bytes, no zip or `.zip.sha256` in the zip cache. Then the tmpfs is made large enough
(`mount -o remount,size=`) and a second run publishes what failed, complete (read back with
skopeo and botocore, straight from the registry and the endpoint).

    ASSETCTL_BIN=... ASSETCTL_SOURCE_DIR=... python3 tests/e2e/test_full_disk.py [-v]
"""
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from assetctl_run import ASSETS_FAILED, OK, REGION, main, skip  # noqa: E402

import test_publish_tarball as tarball  # noqa: E402  (skips the module when its prerequisites lack)
from test_publish_tarball import KiB, TarballCase, directory_source, it  # noqa: E402
from published_state import BUCKET, PublishedState  # noqa: E402

if os.geteuid() != 0:
    skip("mounting a tmpfs needs root")

MiB = 1 << 20
NO_SPACE = "No space left on device"


def setUpModule():
    tarball.setUpModule()


class SmallDisk:
    """A tmpfs of `size` at a new folder, unmounted (and removed) on exit."""

    def __init__(self, parent, size):
        self.path = Path(tempfile.mkdtemp(dir=parent, prefix="tmpfs-"))
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" % size, "tmpfs", str(self.path)],
                       check=True, capture_output=True)

    def grow(self, size):
        subprocess.run(["mount", "-o", "remount,size=%d" % size, str(self.path)], check=True, capture_output=True)

    def close(self):
        subprocess.run(["umount", str(self.path)], check=True, capture_output=True)
        self.path.rmdir()


class FullDisk(PublishedState, TarballCase):

    def small_disk(self, size=1 * MiB):
        disk = SmallDisk(self.dir, size)
        self.addCleanup(disk.close)
        return disk

    def assert_failed_for_space(self, run, failed):
        states = run.states()
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        self.assertEqual({t for t, s in states.items() if s == "failed"}, failed, run.describe())
        self.assertEqual(set(states.values()), {"failed", "published"}, run.describe())
        for target in failed:
            message = run.outcome(*target)["error"]
            self.assertIn(NO_SPACE, message)
            self.assertNotIn("\n", message)

    def test_layer_store_on_a_full_disk(self):
        disk = self.small_disk()
        root = self.new_assembly()
        big = self.image("full-disk-big", sizes=(3 * MiB,))
        small = self.image("full-disk-small", sizes=(64 * KiB,))
        it.write_docker_save_legacy(str(root / "big.tar"), [big])
        it.write_docker_save_legacy(str(root / "small.tar"), [small])
        repository = self.fresh_repository("full-disk")
        path = self.write_manifest(root, [
            ("big", directory_source("big.tar"), {"d": self.destination("big-" + self.seed, repository)}),
            ("small", directory_source("small.tar"), {"d": self.destination("small-" + self.seed, repository)})])
        env = self.env(XDG_CACHE_HOME=str(disk.path))

        run = self.publish(path, env=env)
        self.assert_failed_for_space(run, {("big", "d")})
        self.assertEqual(self.remote_tags(repository), ["small-" + self.seed])
        self.complete_tags(repository)
        self.assert_store_whole(disk.path / "assetctl")

        disk.grow(64 * MiB)
        rerun = self.publish(path, env=env)
        self.assertEqual(rerun.code, OK, rerun.describe())
        self.assertEqual(rerun.states(), {("big", "d"): "published", ("small", "d"): "present"})
        self.verify_complete(self.ref(repository, "big-" + self.seed), big)
        self.assert_store_whole(disk.path / "assetctl")

    def assert_store_whole(self, cache):
        """Every file of the layer store is a whole blob named by its digest; layer-cache
        entries are JSON."""
        blobs = cache / "blobs" / "sha256"
        for entry in sorted(blobs.iterdir()) if blobs.is_dir() else []:
            self.assertRegex(entry.name, r"^[0-9a-f]{64}$", "a temporary or foreign file in the store")
            self.assertEqual(hashlib.sha256(entry.read_bytes()).hexdigest(), entry.name,
                             "a partial blob %s" % entry.name)
        for entry in cache.rglob("*"):
            if entry.is_file() and blobs not in entry.parents:
                self.assertFalse(entry.name.startswith(".partial"), entry)
                json.loads(entry.read_text())   # a layer-cache entry

    def test_zip_cache_on_a_full_disk(self):
        disk = self.small_disk()
        folder = disk.path / "site"
        folder.mkdir()
        (folder / "random.bin").write_bytes(random.Random(5).randbytes(700 * KiB))
        (folder / "more.bin").write_bytes(random.Random(6).randbytes(300 * KiB))
        (disk.path / "note.txt").write_text("a small file, over the 22 bytes of an empty zip\n")
        prefix = "full-disk-" + self.seed
        files = {
            "site": {"source": {"path": "site", "packaging": "zip"},
                     "destinations": {"d": {"bucketName": BUCKET, "objectKey": prefix + "/site.zip", "region": REGION}}},
            "note": {"source": {"path": "note.txt", "packaging": "file"},
                     "destinations": {"d": {"bucketName": BUCKET, "objectKey": prefix + "/note.txt", "region": REGION}}},
        }
        path = disk.path / "Disk.assets.json"
        path.write_text(json.dumps({"version": "55.0.0", "files": files}))
        # Fill the rest of the disk, so the zip (1 MiB of random bytes does not deflate) cannot fit.
        free = os.statvfs(disk.path).f_bavail * os.statvfs(disk.path).f_frsize
        (disk.path / "filler").write_bytes(b"\0" * max(0, free - 64 * KiB))

        run = self.publish(path)
        self.assert_failed_for_space(run, {("site", "d")})
        cache = disk.path / ".cache"
        self.assertEqual(sorted(p.name for p in cache.iterdir()) if cache.is_dir() else [], [],
                         "the zip cache kept a partial entry")
        self.assertEqual(set(self.s3_objects(prefix)), {prefix + "/note.txt"})

        (disk.path / "filler").unlink()
        disk.grow(64 * MiB)
        rerun = self.publish(path)
        self.assertEqual(rerun.code, OK, rerun.describe())
        self.assertEqual(rerun.states(), {("site", "d"): "published", ("note", "d"): "present"})
        self.assertEqual(sorted(p.name for p in cache.iterdir()), ["site.zip", "site.zip.sha256"])
        objects = self.s3_objects(prefix)
        zipped = (cache / "site.zip").read_bytes()
        self.assertEqual(objects[prefix + "/site.zip"], (len(zipped), hashlib.sha256(zipped).hexdigest()))


if __name__ == "__main__":
    main()
