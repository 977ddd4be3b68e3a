"""End-to-end: `assetctl ls` on the committed synthesized cloud assembly and on bad input."""
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from assetctl_run import FIXTURE, INPUT, OK, SOURCE_DIR, USAGE, assetctl, main  # noqa: E402


class LsFixture(unittest.TestCase):
    def test_json_lists_every_asset_of_every_nested_stage(self):
        result = assetctl("ls", "--json", "--path", FIXTURE)
        self.assertEqual(result.code, OK, result.err)
        assets = result.json()["assets"]
        images = [a for a in assets if a["type"] == "docker-image"]
        files = [a for a in assets if a["type"] == "file"]
        self.assertEqual(len(images), 8)
        self.assertEqual(len(files), 7)
        self.assertEqual(
            sorted({a["stack"] for a in assets}),
            ["AgnosticStack", "EuWestStack", "ProdStage/InnerStage/WorkerStack",
             "ProdStage/ServiceStack", "UsEastStack"])
        tarball = next(a for a in images if a["displayName"] == "Tarball image")
        self.assertTrue(tarball["summary"].startswith("load tarball asset."))

    def test_json_is_parseable_with_verbose_logging(self):
        # Logs go to stderr, so stdout stays one JSON document even with -vv.
        result = assetctl("-vv", "ls", "--json", "--path", FIXTURE)
        self.assertEqual(result.code, OK, result.err)
        self.assertEqual(len(result.json()["assets"]), 15)

    def test_default_input_is_cdk_out_in_the_working_directory(self):
        result = assetctl("ls", "--json", cwd=FIXTURE.parent)
        self.assertEqual(result.code, OK, result.err)
        self.assertEqual(len(result.json()["assets"]), 15)

    def test_selectors_and_stack_filter(self):
        result = assetctl("ls", "--json", "--path", FIXTURE, "--stack", "ProdStage/*",
                          "*:*eu-west-1*")
        self.assertEqual(result.code, OK, result.err)
        names = sorted(a["displayName"] for a in result.json()["assets"])
        self.assertEqual(names, ["InnerImage", "ProdStage-InnerStage-WorkerStack Template",
                                 "ProdStage-ServiceStack Template", "StagedImage"])

    def test_text_tree(self):
        result = assetctl("ls", "--path", FIXTURE, "SharedImage")
        self.assertEqual(result.code, OK, result.err)
        lines = result.out.splitlines()
        self.assertEqual(lines[0], f"UsEastStack  ({FIXTURE / 'UsEastStack.assets.json'})")
        self.assertEqual(sum(1 for line in lines if line.startswith("    └─ ")), 2)
        self.assertEqual(lines[-1], "2 docker image assets, 0 file assets in 2 manifests")

    def test_example_assembly(self):
        result = assetctl("ls", "--json", "--path", SOURCE_DIR / "examples" / "cdk.out")
        self.assertEqual(result.code, OK, result.err)
        self.assertEqual(len([a for a in result.json()["assets"]
                              if a["type"] == "docker-image"]), 4)


class LsErrors(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def write_assembly(self, assets_manifest):
        out = self.dir / "cdk.out"
        out.mkdir()
        (out / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": {
            "S.assets": {"type": "cdk:asset-manifest", "properties": {"file": "S.assets.json"}},
        }}))
        (out / "S.assets.json").write_text(assets_manifest)
        return out

    def assert_input_error(self, result, fragment):
        self.assertEqual(result.code, INPUT, result.err)
        self.assertEqual(result.out, "")
        first, *rest = result.err.splitlines()
        self.assertTrue(first.startswith("assetctl: error: "), result.err)
        self.assertIn(fragment, first)
        self.assertTrue(all(line.startswith("assetctl: hint: ") for line in rest), result.err)

    def test_missing_input(self):
        self.assert_input_error(assetctl("ls", "--path", self.dir / "nope"),
                                "no such file or folder")

    def test_default_input_missing(self):
        result = assetctl("ls", cwd=self.dir)
        self.assert_input_error(result, "cdk.out: no such file or folder")

    def test_malformed_json(self):
        out = self.write_assembly('{"version": "55.0.0",')
        self.assert_input_error(assetctl("ls", "--path", out),
                                f"{out / 'S.assets.json'}: malformed JSON: parse error at line 1")

    def test_newer_schema(self):
        out = self.write_assembly('{"version": "56.0.0"}')
        result = assetctl("ls", "--path", out)
        self.assert_input_error(result, "S.assets.json: version: schema version 56.0.0 is newer")
        self.assertIn("upgrade assetctl", result.err)

    def test_wrong_type_names_json_path(self):
        out = self.write_assembly(json.dumps({"version": "55.0.0", "dockerImages": {"img": {
            "source": {"directory": "asset.img", "dockerFile": 42}, "destinations": {}}}}))
        self.assert_input_error(
            assetctl("ls", "--path", out),
            "S.assets.json: dockerImages.img.source.dockerFile: expected a string, found a "
            "number (42)")

    def test_directory_escaping_the_assembly(self):
        (self.dir / "outside").mkdir()
        (self.dir / "outside" / "Dockerfile").write_text("FROM scratch\n")
        out = self.write_assembly(json.dumps({"version": "55.0.0", "dockerImages": {"img": {
            "source": {"directory": "../outside"}, "destinations": {}}}}))
        self.assert_input_error(assetctl("ls", "--path", out),
                                "dockerImages.img.source.directory: build context '../outside' "
                                "is outside the cloud assembly")

    def test_empty_selection(self):
        self.assert_input_error(assetctl("ls", "--path", FIXTURE, "deadbeef*"),
                                "selector 'deadbeef*' matches no asset")

    def test_usage_errors(self):
        for args in (["ls", "--bogus"], ["bogus"], [], ["ls", "--stack"]):
            with self.subTest(args=args):
                result = assetctl(*args)
                self.assertEqual(result.code, USAGE, result.err)
                self.assertEqual(result.out, "")
                self.assertIn("assetctl --help", result.err)

    def test_help(self):
        result = assetctl("ls", "--help")
        self.assertEqual(result.code, OK)
        self.assertIn("--stack", result.out)


def write_small_assembly(out, images=("img",), files=("data",)):
    """A cloud assembly at `out` whose asset folders are absent (as in a CI artifact holding only
    the manifests): each image builds `asset.<id>`, each file asset zips `asset.<id>`."""
    out.mkdir(parents=True)
    (out / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": {
        "S.assets": {"type": "cdk:asset-manifest", "properties": {"file": "S.assets.json"}},
    }}))
    (out / "S.assets.json").write_text(json.dumps({
        "version": "55.0.0",
        "dockerImages": {i: {"source": {"directory": f"asset.{i}"}, "destinations": {"d": {
            "repositoryName": "repo", "imageTag": i}}} for i in images},
        "files": {f: {"source": {"path": f"asset.{f}", "packaging": "zip"}, "destinations": {
            "d": {"bucketName": "bucket-b", "objectKey": f"{f}.zip"}}} for f in files},
    }))
    return out


class LsMissingSources(unittest.TestCase):
    """`ls` lists an assembly whose asset folders are missing (exit 0) and marks each missing
    source; build and publish refuse it before any work (exit 3)."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = write_small_assembly(Path(self.tmp.name) / "cdk.out", images=("img", "kept"))
        (self.out / "asset.kept").mkdir()
        (self.out / "asset.kept" / "Dockerfile").write_text("FROM scratch\n")

    def tearDown(self):
        self.tmp.cleanup()

    def test_json_marks_each_missing_source(self):
        result = assetctl("ls", "--json", "--path", self.out)
        self.assertEqual(result.code, OK, result.err)
        missing = {a["id"]: a["sourceMissing"] for a in result.json()["assets"]}
        self.assertEqual(set(missing), {"img", "kept", "data"})
        self.assertIsNone(missing["kept"])
        self.assertEqual(missing["img"]["path"], str(self.out / "asset.img"))
        self.assertEqual(missing["img"]["jsonPath"], "dockerImages.img.source.directory")
        self.assertEqual(missing["data"]["path"], str(self.out / "asset.data"))
        self.assertEqual(missing["data"]["jsonPath"], "files.data.source.path")

    def test_text_marks_the_source_lines(self):
        result = assetctl("ls", "--path", self.out)
        self.assertEqual(result.code, OK, result.err)
        sources = [line for line in result.out.splitlines() if line.startswith("    source: ")]
        self.assertEqual(sources, [
            f"    source: build asset.img (Dockerfile)  (missing: {self.out / 'asset.img'})",
            "    source: build asset.kept (Dockerfile)",
            f"    source: zip asset.data  (missing: {self.out / 'asset.data'})"])
        self.assertTrue(result.out.endswith(", 2 sources missing\n"), result.out)
        self.assertNotEqual(result.err, "")  # a warning: the listing is not publishable

    def test_build_and_publish_refuse_them(self):
        for command in ("build", "publish"):
            with self.subTest(command=command):
                result = assetctl(command, "--json", "--path", self.out)
                self.assertEqual(result.code, INPUT, result.err)
                self.assertEqual(result.out, "")
                self.assertIn("asset.img", result.err)


class LsDidYouMeanPath(unittest.TestCase):
    """A positional argument naming an existing file or folder, matching no asset, was meant as
    --path: the hint line (the contract here, there being no structured output) says so."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def hint_lines(self, result):
        self.assertEqual(result.code, INPUT, result.err)
        self.assertEqual(result.out, "")
        return [line for line in result.err.splitlines() if line.startswith("assetctl: hint: ")]

    def test_assembly_folder_given_as_a_selector_without_cdk_out(self):
        write_small_assembly(self.dir / "cdk.out.prod")
        hints = self.hint_lines(assetctl("ls", "cdk.out.prod", cwd=self.dir))
        self.assertEqual(len(hints), 1, hints)
        self.assertTrue(hints[0].startswith("assetctl: hint: did you mean --path cdk.out.prod?"),
                        hints)

    def test_relative_folder_and_asset_manifest_beside_a_cdk_out(self):
        write_small_assembly(self.dir / "cdk.out")
        write_small_assembly(self.dir / "my" / "cdk.out")
        (self.dir / "some.assets.json").write_text((self.dir / "cdk.out" / "S.assets.json")
                                                   .read_text())
        for command, positional in (("publish", "./my/cdk.out"), ("build", "some.assets.json"),
                                    ("doctor", "./my/cdk.out")):
            with self.subTest(command=command):
                hints = self.hint_lines(assetctl(command, positional, cwd=self.dir))
                self.assertEqual(hints, [f"assetctl: hint: did you mean --path {positional}? "
                                         "(positional arguments are ASSET[:DEST] selectors)"])

    def test_a_selector_that_is_no_path_keeps_the_usual_hint(self):
        hints = self.hint_lines(assetctl("ls", "--path", FIXTURE, "cdk.out.nope"))
        self.assertFalse(any("did you mean" in h for h in hints), hints)


class LsCdkV1(unittest.TestCase):
    """A CDK v1 assembly (legacy synthesis: aws:cdk:asset metadata, no asset manifest) fails
    with exit 3 and says what it is, instead of listing nothing."""

    V1 = SOURCE_DIR / "tests" / "fixtures" / "cdk-v1-legacy" / "cdk.out"

    def test_ls_names_it(self):
        for args in (["ls"], ["ls", "--json"]):
            with self.subTest(args=args):
                result = assetctl(*args, "--path", self.V1)
                self.assertEqual(result.code, INPUT, result.err)
                self.assertEqual(result.out, "")
                first = result.err.splitlines()[0]
                self.assertTrue(first.startswith(
                    f"assetctl: error: {self.V1} is a CDK v1 assembly (schema 17.0.0"), first)
                self.assertIn("its 2 assets are described by aws:cdk:asset metadata", first)

    def test_publish_refuses_it_too(self):
        result = assetctl("publish", "--path", self.V1)
        self.assertEqual(result.code, INPUT, result.err)
        self.assertIn("CDK v1 assembly", result.err)


if __name__ == "__main__":
    main()
