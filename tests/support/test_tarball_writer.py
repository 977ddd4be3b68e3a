"""Tests of tarball_writer.py: what every entry carries, ordering, streamed entries, the
docker-save and OCI layout layouts. Run: /usr/bin/python3 -m unittest tests/support/test_tarball_writer.py
"""

import io
import json
import os
import sys
import tarfile
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tarball_writer as tw  # noqa: E402


def members(data: bytes):
    return tarfile.open(fileobj=io.BytesIO(data)).getmembers()


class EntryTest(unittest.TestCase):
    def test_every_entry_is_owned_by_nobody_and_dated_zero(self):
        data = tw.tar_bytes([tw.Entry("a.txt", b"x"), tw.Entry("d", kind=tw.DIR),
                             tw.Entry("l", kind=tw.SYMLINK, target="a.txt")])
        for member in members(data):
            self.assertEqual((member.mtime, member.uid, member.gid, member.uname, member.gname),
                             (0, 0, 0, "", ""), member.name)

    def test_modes_follow_the_kind_unless_an_entry_sets_one(self):
        data = tw.tar_bytes([tw.Entry("f", b""), tw.Entry("d", kind=tw.DIR),
                             tw.Entry("l", kind=tw.SYMLINK, target="f"), tw.Entry("x", b"", mode=0o755)])
        self.assertEqual({m.name: m.mode for m in members(data)}, {"f": 0o644, "d": 0o755, "l": 0o777, "x": 0o755})

    def test_sorted_by_name_unless_told_to_keep_the_order(self):
        entries = [tw.Entry("b"), tw.Entry("a"), tw.Entry("c")]
        self.assertEqual([m.name for m in members(tw.tar_bytes(entries))], ["a", "b", "c"])
        self.assertEqual([m.name for m in members(tw.tar_bytes(entries, sort=False))], ["b", "a", "c"])

    def test_same_input_same_bytes(self):
        make = lambda: tw.tar_bytes([tw.Entry("a/b.txt", b"hello"), tw.Entry("a", kind=tw.DIR)])  # noqa: E731
        self.assertEqual(make(), make())

    def test_names_are_written_as_given(self):
        self.assertEqual([m.name for m in members(tw.tar_bytes([tw.Entry("../evil", b"x")]))], ["../evil"])

    def test_parent_dirs_are_added_once(self):
        entries = tw.with_parent_dirs([tw.Entry("a/b/c.txt"), tw.Entry("a", kind=tw.DIR)])
        self.assertEqual(sorted(e.name for e in entries), ["a", "a/b", "a/b/c.txt"])


class StreamedEntryTest(unittest.TestCase):
    def written(self, entries, format=tarfile.USTAR_FORMAT) -> bytes:
        with tempfile.TemporaryFile() as raw:
            with tw.TarWriter(raw, format) as tar:
                tar.add_all(entries, sort=False)
            raw.seek(0)
            return raw.read()

    def test_a_producer_gives_the_same_bytes_as_the_data_in_memory(self):
        for size in (0, 1, 511, 512, 513, 70_000):
            payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
            in_memory = [tw.Entry("before", b"1"), tw.Entry("big", payload), tw.Entry("after", b"2")]
            streamed = [tw.Entry("before", b"1"), tw.Entry("big", lambda out, p=payload: out.write(p)),
                        tw.Entry("after", b"2")]
            self.assertEqual(self.written(streamed), tw.tar_bytes(in_memory, sort=False, format=tarfile.USTAR_FORMAT),
                             size)

    def test_a_producer_may_write_in_pieces_and_the_size_is_what_it_wrote(self):
        def produce(out):
            for _ in range(3):
                out.write(b"abc")
        (member,) = members(self.written([tw.Entry("pieces", produce)]))
        self.assertEqual(member.size, 9)


class LayoutTest(unittest.TestCase):
    def test_docker_save_legacy_order(self):
        layers = [tw.LegacyLayer("1" * 64, b"{}", b"L1"), tw.LegacyLayer("2" * 64, b"{}", b"L2")]
        entries = tw.docker_save_legacy_entries(layers, {"c.json": b"{}"}, b"[]", b"{}")
        self.assertEqual([e.name for e in entries],
                         ["1" * 64, "1" * 64 + "/VERSION", "1" * 64 + "/json", "1" * 64 + "/layer.tar",
                          "2" * 64, "2" * 64 + "/VERSION", "2" * 64 + "/json", "2" * 64 + "/layer.tar",
                          "c.json", "manifest.json", "repositories"])
        self.assertNotIn("repositories", [e.name for e in tw.docker_save_legacy_entries(layers, {}, b"[]")])

    def test_oci_layout_has_each_blob_once_and_an_index(self):
        descriptor = {"mediaType": tw.OCI_MANIFEST, "digest": tw.sha256(b"m"), "size": 1}
        entries = {e.name: e for e in tw.oci_layout_entries([b"a", b"m", b"a"], [descriptor])}
        self.assertEqual(sorted(entries), sorted(["blobs", "blobs/sha256", "index.json", "oci-layout",
                                                  "blobs/sha256/" + tw.hex_of(tw.sha256(b"a")),
                                                  "blobs/sha256/" + tw.hex_of(tw.sha256(b"m"))]))
        self.assertEqual(json.loads(entries["index.json"].data)["manifests"], [descriptor])
        with tempfile.TemporaryDirectory() as tmp:
            tw.write_directory(tmp, list(entries.values()))
            with open(os.path.join(tmp, "blobs", "sha256", tw.hex_of(tw.sha256(b"m"))), "rb") as handle:
                self.assertEqual(handle.read(), b"m")


if __name__ == "__main__":
    unittest.main()
