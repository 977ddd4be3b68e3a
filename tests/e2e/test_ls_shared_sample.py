"""End-to-end: `assetctl ls` on the sample assembly in ../shared/testdata (outside the repo;
ASSETCTL_SHARED_TESTDATA).

Exits 77 (CTest: Skipped) when that folder is absent, so the repository stands on its own.
"""
import os
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from assetctl_run import OK, SOURCE_DIR, assetctl, main, skip  # noqa: E402

# ASSETCTL_SHARED_TESTDATA: set by CTest from the CMake option of that name.
SHARED_TESTDATA = Path(os.environ.get("ASSETCTL_SHARED_TESTDATA", SOURCE_DIR / ".." / "shared" / "testdata"))
SAMPLE = (SHARED_TESTDATA / "cdk-out-sample" / "cdk.out").resolve()


class LsSharedSample(unittest.TestCase):
    def test_lists_the_sample(self):
        result = assetctl("ls", "--json", "--path", SAMPLE)
        self.assertEqual(result.code, OK, result.err)
        assets = result.json()["assets"]
        by_name = {(a["stack"], a["displayName"]): a for a in assets}
        full = by_name[("AssetProbeStack", "Full image")]
        self.assertEqual(full["source"]["dockerBuildSecrets"], {"mysecret": "src=secret.txt"})
        self.assertEqual(full["source"]["cacheTo"]["params"]["mode"], "max")
        env = by_name[("AssetProbeEnvStack", "EnvImage")]
        self.assertEqual(env["destinations"][0]["region"], "eu-west-1")
        self.assertEqual(len(assets), 6)


if __name__ == "__main__":
    if not SAMPLE.is_dir():
        skip(f"{SAMPLE} not present")
    main()
