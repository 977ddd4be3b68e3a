"""End-to-end: what a person and a CI system see of `assetctl publish` (issue #16): plain
progress lines keyed by display name and short id, the live terminal view on a real pseudo
terminal, NDJSON progress on stderr beside --json on stdout, the summary table, --summary-file,
GITHUB_STEP_SUMMARY and GitHub Actions annotations.

Publishes two file assets of the publish-app (no engine needed) through the local S3 endpoint
(tests/support/stack.py; every SigV4 signature checked with botocore); each test works on fresh
object keys (a copy of the assembly whose keys it prefixes), so its first run uploads.
"""
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from assetctl_run import (ASSETS_FAILED, BIN, OK, SOURCE_DIR, Run, environment_without,  # noqa: E402
                          isolated_aws, main, skip)

try:
    import botocore.session  # noqa: E402,F401  (the endpoint verifies signatures with it)
    from stack import ACCOUNT_A, Stack  # noqa: E402
except ImportError as error:
    skip(error)

PUBLISH_APP = SOURCE_DIR / "tests" / "fixtures" / "publish-app" / "cdk.out"
QUALIFIER = "hnb659fds"
REGIONS = ("us-east-1", "eu-west-1")
TIMEOUT = 120
# Two file assets with display names (ids and names from the committed manifests).
API_CODE = "7e005a22c63da5e3a8089a2f1dcf62a23fe48b1a4d14b0d42f0a908b0d4115e2"
TEMPLATE = "9c4e83926faa506e70705379bda8b8e77f992aaf88a3605a936dca96f4402ea5"
SELECTED = (API_CODE, TEMPLATE)
# A plain progress line: `[Name (short id) → destination] message`, the destination optional.
PLAIN_LINE = re.compile(r"^\[(?P<label>[^\]]+?)(?: \u2192 (?P<destination>[^\]]+))?\] (?P<message>.+)$")
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def display_names(root):
    """{asset id: displayName} of every asset in root's manifests."""
    names = {}
    for path in Path(root).rglob("*.assets.json"):
        document = json.loads(path.read_text())
        for section in ("files", "dockerImages"):
            for asset_id, asset in document.get(section, {}).items():
                if "displayName" in asset:
                    names[asset_id] = asset["displayName"]
    return names


def label(asset_id, names):
    return "%s (%s)" % (names[asset_id], asset_id[:8]) if asset_id in names else asset_id[:8]


class ProgressCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="assetctl-e2e-progress-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.dir = Path(cls.tmp.name)
        roles = {"arn:aws:iam::%s:role/cdk-%s-file-publishing-role-%s-%s" % (ACCOUNT_A, QUALIFIER, ACCOUNT_A, r): {}
                 for r in REGIONS}
        cls.stack = Stack(extra_config={"roles": roles})
        cls.info = cls.stack.start()
        cls.addClassCleanup(cls.stack.stop)
        cls.names = display_names(PUBLISH_APP)
        for asset_id in SELECTED:
            if asset_id not in cls.names:
                raise AssertionError("the publish-app's asset %s has no displayName any more" % asset_id)

    def app(self, bucket=None):
        """A copy of the publish-app whose selected assets have fresh object keys (and `bucket`)."""
        target = Path(tempfile.mkdtemp(prefix="app-", dir=self.dir))
        shutil.rmtree(target)
        shutil.copytree(PUBLISH_APP, target, symlinks=True, ignore=shutil.ignore_patterns(".cache", "asset.*.bin"))
        prefix = os.urandom(4).hex() + "/"
        for path in target.rglob("*.assets.json"):
            document = json.loads(path.read_text())
            for asset_id in SELECTED:
                for destination in document.get("files", {}).get(asset_id, {}).get("destinations", {}).values():
                    destination["objectKey"] = prefix + destination["objectKey"]
                    if bucket:
                        destination["bucketName"] = bucket
            path.write_text(json.dumps(document, indent=1))
        return target

    def env(self, **extra):
        env = environment_without(("AWS_", "CDK_", "GITHUB_"), ("TMPDIR", "NO_COLOR", "TERM"))
        env.update(self.info["env"])
        env.update(isolated_aws(self.dir))
        env.update({"TERM": "xterm-256color"})
        env.update(extra)
        return env

    def run_publish(self, app, *args, env=None):
        proc = subprocess.run([BIN, "publish", "--path", str(app), *args, *SELECTED], capture_output=True,
                              text=True, env=env or self.env(), timeout=TIMEOUT)
        return proc

    def json_run(self, app, *args, env=None):
        proc = self.run_publish(app, "--json", *args, env=env)
        return Run(proc.returncode, proc.stdout, proc.stderr, self)

    # --- the tests ----------------------------------------------------------------------------

    def test_plain_lines_are_keyed_by_display_name_and_short_id(self):
        app = self.app()
        proc = self.run_publish(app, "--progress", "plain")
        self.assertEqual(proc.returncode, OK, proc.stderr)
        keys = {}
        for line in proc.stderr.splitlines():
            if line.startswith(("info:", "warning:", "error:")):
                continue  # log lines
            match = PLAIN_LINE.match(line)
            self.assertIsNotNone(match, "not a progress line: %r\n%s" % (line, proc.stderr))
            keys.setdefault((match["label"], match["destination"]), []).append(match["message"])
        expected_labels = {label(a, self.names) for a in SELECTED}
        self.assertEqual({k[0] for k in keys}, expected_labels, proc.stderr)
        for key, messages in keys.items():  # at most one line per state change
            self.assertEqual(len(messages), len(set(messages)), "%s repeats a line: %s" % (key, messages))
        self.assertNotIn("\x1b", proc.stderr)  # no colour, no cursor movement in logs

    def test_summary_table_names_what_happened_per_destination(self):
        app = self.app()
        first = self.run_publish(app, "--progress", "plain")
        second = self.run_publish(app, "--progress", "plain")
        checked = self.json_run(app)  # the structured truth the table must match
        self.assertEqual((first.returncode, second.returncode, checked.code), (OK, OK, OK))
        outcomes = checked.summary["assets"]
        for proc, word in ((first, "published"), (second, "already present")):
            rows = proc.stdout.splitlines()
            self.assertTrue(rows[0].startswith("RESULT"), proc.stdout)
            self.assertEqual(len(rows), len(outcomes) + 2, proc.stdout)  # header, rows, totals
            for outcome in outcomes:
                where = outcome["objectUrl"]
                matching = [r for r in rows[1:-1] if r.endswith(where)]
                self.assertEqual(len(matching), 1, "%s in\n%s" % (where, proc.stdout))
                self.assertTrue(matching[0].startswith(word + " "), matching[0])
                self.assertIn(label(outcome["asset"], self.names), matching[0])
                self.assertIn(outcome["destination"], matching[0])

    def test_summary_file_and_github_actions(self):
        bad_bucket = "assetctl-e2e-no-such-bucket"
        app = self.app()
        broken = self.app(bucket=bad_bucket)
        step = self.dir / ("step-%s.md" % os.urandom(3).hex())
        step.write_text("earlier step\n")
        out_json = self.dir / "summary.json"
        out_md = self.dir / "summary.md"
        env = self.env(GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(step))

        good = self.json_run(app, "--summary-file", str(out_json), env=env)
        self.assertEqual(good.code, OK, good.describe())
        self.assertEqual(json.loads(out_json.read_text()), good.summary)
        self.assertNotIn("::error", good.err)

        failed = self.json_run(broken, "--summary-file", str(out_md), env=env)
        self.assertEqual(failed.code, ASSETS_FAILED, failed.describe())
        failures = [a for a in failed.summary["assets"] if a["state"] == "failed"]
        self.assertTrue(failures, failed.describe())
        annotations = [line for line in failed.err.splitlines() if line.startswith("::error ")]
        self.assertEqual(len(annotations), len(failures), failed.err)
        for outcome in failures:
            title = "assetctl%%3A %s \u2192 %s failed" % (label(outcome["asset"], self.names), outcome["destination"])
            self.assertTrue(any(a.startswith("::error title=%s::" % title.replace(",", "%2C")) for a in annotations),
                            "%s\n%s" % (title, annotations))
        markdown = out_md.read_text()
        rows = [line for line in markdown.splitlines() if line.startswith("| ") and "failed" in line]
        self.assertEqual(len(rows), len(failures), markdown)
        # The step summary got both runs' tables after what was there.
        step_text = step.read_text()
        self.assertTrue(step_text.startswith("earlier step\n"), step_text)
        self.assertEqual(step_text.count("### assetctl publish"), 2, step_text)

    def test_progress_json_on_stderr_beside_json_results_on_stdout(self):
        app = self.app()
        run = self.json_run(app, "--progress", "json")  # Run checks every stdout line is JSON
        self.assertEqual(run.code, OK, run.describe())
        events = [json.loads(line) for line in run.err.splitlines() if line.startswith("{")]
        # The same events on both streams (sinks are fed in turn from several threads, so the
        # order may differ between them).
        def key(event):
            return (event["event"], event["asset"], event["destination"], event["message"], event.get("bytes", -1))
        self.assertEqual(sorted(map(key, events)), sorted(map(key, run.events)))
        self.assertTrue(any(e["event"] == "progress" for e in events), run.err)
        for outcome in run.summary["assets"]:
            moved = [e["bytes"] for e in events if e["event"] == "progress" and e["asset"] == outcome["asset"]
                     and e["destination"] == outcome["destination"]]
            self.assertEqual(moved[-1:], [outcome["bytesUploaded"]], outcome)
            names = {e.get("displayName") for e in events if e["asset"] == outcome["asset"]}
            self.assertEqual(names, {self.names[outcome["asset"]]})

    def test_live_view_on_a_terminal(self):
        app = self.app()
        master, slave = pty.openpty()
        chunks = []

        def read_all():
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    return
                if not data:
                    return
                chunks.append(data)

        reader = threading.Thread(target=read_all)
        reader.start()
        try:
            proc = subprocess.run([BIN, "publish", "--path", str(app), *SELECTED], stdout=subprocess.PIPE,
                                  stderr=slave, text=True, env=self.env(COLUMNS="120"), timeout=TIMEOUT)
        finally:
            os.close(slave)
            reader.join(timeout=30)
            os.close(master)
        screen = b"".join(chunks).decode()
        self.assertEqual(proc.returncode, OK, screen)
        self.assertTrue(screen.startswith("\x1b[?25l"), repr(screen[:80]))  # cursor hidden ...
        self.assertTrue(screen.endswith("\x1b[?25h"), repr(screen[-80:]))    # ... and shown again
        self.assertIn("\x1b[", screen.replace("\x1b[?25l", "").replace("\x1b[?25h", ""))
        # The last frame: after the last cursor-up, every asset's line says done.
        ups = list(re.finditer(r"\r\x1b\[\d+A", screen))
        self.assertTrue(ups, repr(screen[:400]))
        last = screen[ups[-1].end():]
        frame = [CSI.sub("", line) for line in last.replace("\r", "").split("\n") if CSI.sub("", line).strip()]
        self.assertTrue(frame[0].startswith("%d/%d assets done" % (len(SELECTED), len(SELECTED))), frame)
        for asset_id in SELECTED:
            rows = [row for row in frame if label(asset_id, self.names) in row]
            self.assertEqual(len(rows), 1, frame)
            self.assertIn(" done ", rows[0])
        self.assertTrue(proc.stdout.startswith("RESULT"), proc.stdout)  # stdout is no terminal here


if __name__ == "__main__":
    main()
