#!/usr/bin/python3
"""assetctl's zip of a folder (lib/packaging, through zip_tool) against cdk-assets 4.7.3's own.

cdk-assets is installed with `npm ci` from bench/package.json and its lock into CDK_ASSETS_DIR
(kept between runs); cdk_assets_zip.js runs its bundled zipDirectory and mime.getType. Both zips
of the same folder are read with Python's zipfile and compared entry by entry: names and order,
unix modes (external_attr >> 16), DOS date_time, CRC, sizes, contents, compression method and
the UTF-8 flag. The deflate streams themselves differ (zlib in libarchive vs Node's zlib), so
the archives' bytes are not compared with each other; ours must be byte-identical across runs
and time zones.

Environment (set by CMake): ZIP_TOOL, ASSETCTL_NPM (absent or empty: skipped), CDK_ASSETS_DIR,
ASSETCTL_SOURCE_DIR.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CDK_ASSETS_VERSION = "4.7.3"
UTF8_FLAG = 0x800

# Extensions our table knows and a few it must not (mime has no .py, .tgz, .tsx ...), as full
# paths: cdk-assets asks mime.getType about path.resolve(...), and getType reads a bare ".json"
# (no folder) as the extension json but "/x/.json" as none.
CONTENT_TYPE_NAMES = ["/cdk.out/" + name for name in [
    "f." + e for e in (
        "7z aac apng avi avif bin bmp bz2 c cjs class conf cpp crt css csv docx eot exe flac "
        "geojson gif gz h htm html ico ini jar java jpe jpeg jpg js json json5 jsonld jsx log m4a "
        "map md mjs mov mp3 mp4 mpeg mpg oga ogg opus otf pdf pem png rar rtf sh shtml so sql svg "
        "tar text tif tiff toml ts tsv ttf txt war wasm wav webm webmanifest webp wmv woff woff2 "
        "xhtml xlsx xml xz yaml yml zip py tgz tsx zst rb go whl lock").split()
] + ["UPPER.JSON", "a/b/c.tar.gz", ".json", "dir/.yml", "noext", "trailing.", "..json"]]


def npm_path():
    npm = os.environ.get("ASSETCTL_NPM", "")
    return npm if npm and os.path.exists(npm) else None


def node_path(npm):
    beside = os.path.join(os.path.dirname(npm), "node")
    return beside if os.path.exists(beside) else shutil.which("node")


def install_cdk_assets(npm, target):
    """cdk-assets 4.7.3 in target/node_modules, installed once with `npm ci` from bench/'s lock."""
    installed = os.path.join(target, "node_modules", "cdk-assets", "package.json")
    if os.path.exists(installed):
        with open(installed) as handle:
            if json.load(handle).get("version") == CDK_ASSETS_VERSION:
                return
    os.makedirs(target, exist_ok=True)
    bench = os.path.join(os.environ["ASSETCTL_SOURCE_DIR"], "bench")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(bench, name), os.path.join(target, name))
    env = dict(os.environ, PATH=os.path.dirname(node_path(npm)) + os.pathsep + os.environ["PATH"])
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=target,
                   env=env, check=True, timeout=240, stdout=subprocess.DEVNULL)


def make_tree(root):
    """Nested folders, dot files, an empty folder, symlinks to a file and to a folder, modes
    0755/0644/0600, an empty file and names whose byte order is a trap (a/b, a-b, a.b, A, _x)."""
    files = {
        "z.txt": "zed\n", "Z": "upper zed\n", "a-b": "dash\n", "a.b": "dot\n", "A/f": "upper\n",
        "_x/g": "underscore\n", "a/b": "a slash b\n", "a/c/d/deep.js": "deep\n",
        ".dot": "hidden\n", ".hid/h": "hidden folder\n", "empty-file": "",
        "tool.sh": "#!/bin/sh\necho hi\n", "private.key": "secret\n",
        "shared/lib.js": "module.exports = 1;\n", "big.txt": "".join(
            "line %d %s\n" % (i, "x" * (i % 97)) for i in range(20000)),
    }
    for name, content in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(content)
        os.chmod(path, 0o644)
    os.chmod(os.path.join(root, "tool.sh"), 0o755)
    os.chmod(os.path.join(root, "private.key"), 0o600)
    os.makedirs(os.path.join(root, "empty", "also-empty"))
    os.symlink("z.txt", os.path.join(root, "link-to-file"))
    os.symlink("shared", os.path.join(root, "link-to-folder"))


def entries(zip_path):
    """What the comparison looks at, per entry in archive order."""
    with zipfile.ZipFile(zip_path) as archive:
        return [{
            "name": info.filename,
            "mode": oct(info.external_attr >> 16),
            "date_time": info.date_time,
            "crc": info.CRC,
            "size": info.file_size,
            "compress_type": info.compress_type,
            "utf8": bool(info.flag_bits & UTF8_FLAG) if not info.filename.isascii() else None,
            "contents": archive.read(info),
        } for info in archive.infolist()]


class ZipVsCdkAssets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        npm = npm_path()
        if npm is None:
            raise unittest.SkipTest("npm is not installed (ASSETCTL_NPM=%r)"
                                    % os.environ.get("ASSETCTL_NPM", ""))
        cls.node = node_path(npm)
        if cls.node is None:
            raise AssertionError("npm is at %s but node is nowhere" % npm)
        cls.package_dir = os.environ["CDK_ASSETS_DIR"]
        install_cdk_assets(npm, cls.package_dir)

    def setUp(self):
        self.temp = tempfile.mkdtemp(prefix="zip-vs-cdk-assets-")
        self.addCleanup(shutil.rmtree, self.temp)

    def ours(self, src, out, **env):
        subprocess.run([os.environ["ZIP_TOOL"], "zip", src, out], check=True,
                       env=dict(os.environ, **env), stdout=subprocess.DEVNULL)
        return out

    def theirs(self, src, out):
        subprocess.run([self.node, os.path.join(HERE, "cdk_assets_zip.js"), self.package_dir,
                        "zip", src, out], check=True)
        return out

    def assert_same_entries(self, src):
        ours = entries(self.ours(src, os.path.join(self.temp, "ours.zip")))
        theirs = entries(self.theirs(src, os.path.join(self.temp, "theirs.zip")))
        self.assertEqual([e["name"] for e in ours], [e["name"] for e in theirs])
        for mine, reference in zip(ours, theirs):
            self.assertEqual(mine, reference, "entry %s" % mine["name"])
        return ours

    def test_entries_names_order_modes_dates_and_contents_match(self):
        src = os.path.join(self.temp, "src")
        make_tree(src)
        ours = self.assert_same_entries(src)
        by_name = {e["name"]: e for e in ours}
        # The tree really holds what the comparison is about.
        self.assertEqual(by_name["tool.sh"]["mode"], "0o100755")
        self.assertEqual(by_name["private.key"]["mode"], "0o100600")
        self.assertEqual(by_name["link-to-file"]["contents"], b"zed\n")
        self.assertIn("link-to-folder/lib.js", by_name)
        self.assertFalse([n for n in by_name if n.startswith("empty/") or n.endswith("/")])
        self.assertEqual({e["date_time"] for e in ours}, {(1980, 1, 1, 0, 0, 0)})
        self.assertEqual({e["compress_type"] for e in ours}, {zipfile.ZIP_DEFLATED})

    def test_utf8_names_sort_and_are_flagged_alike(self):
        src = os.path.join(self.temp, "src")
        os.makedirs(os.path.join(src, "dir"))
        for name in ("café.txt", "cafe.txt", "über", "zz", "dir/naïve.js", "日本.md"):
            with open(os.path.join(src, name), "w") as handle:
                handle.write(name + "\n")
        ours = self.assert_same_entries(src)
        self.assertTrue(all(e["utf8"] for e in ours if not e["name"].isascii()))

    def test_an_empty_folder_gives_the_same_empty_zip(self):
        src = os.path.join(self.temp, "src")
        os.makedirs(os.path.join(src, "only", "folders"))
        ours = self.ours(src, os.path.join(self.temp, "ours.zip"))
        theirs = self.theirs(src, os.path.join(self.temp, "theirs.zip"))
        self.assertEqual(entries(ours), [])
        with open(ours, "rb") as a, open(theirs, "rb") as b:
            self.assertEqual(a.read(), b.read())  # both the 22-byte end record alone

    def test_our_bytes_are_the_same_across_runs_and_time_zones(self):
        src = os.path.join(self.temp, "src")
        make_tree(src)
        zips = [self.ours(src, os.path.join(self.temp, "%d.zip" % i), TZ=zone)
                for i, zone in enumerate(["UTC", "Pacific/Auckland", "America/Los_Angeles",
                                          "UTC"])]
        contents = []
        for path in zips:
            with open(path, "rb") as handle:
                contents.append(handle.read())
        self.assertEqual(len(set(contents)), 1, "zips differ: %s" % zips)

    def test_content_types_match_mime(self):
        ours = subprocess.run([os.environ["ZIP_TOOL"], "content-type", *CONTENT_TYPE_NAMES],
                              check=True, capture_output=True, text=True).stdout.splitlines()
        theirs = subprocess.run([self.node, os.path.join(HERE, "cdk_assets_zip.js"),
                                 self.package_dir, "content-type", *CONTENT_TYPE_NAMES],
                                check=True, capture_output=True, text=True).stdout.splitlines()
        expected = [t if t != "null" else "application/octet-stream" for t in theirs]
        self.maxDiff = None
        self.assertEqual(dict(zip(CONTENT_TYPE_NAMES, ours)),
                         dict(zip(CONTENT_TYPE_NAMES, expected)))


if __name__ == "__main__":
    import sys
    sys.path.insert(0, os.path.join(HERE, "..", ".."))
    import unittest_ctest
    unittest_ctest.main()
