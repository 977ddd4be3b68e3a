"""End-to-end: `kill -9` of assetctl at seeded random points of a publish (issue #13).

Each trial publishes a fresh assembly - three image tarballs (pushed natively: no daemon) to
four repositories, a small file (PutObject) and a 66 MiB file (multipart, 5 parts) - and sends
SIGKILL after a delay drawn from one seeded generator, uniform over the time a whole run takes
on this machine (measured first) and a little past it (ASSETCTL_KILL_SEED, default below;
ASSETCTL_KILL_TRIALS trials, default 8; CI runs the default, docs/reliability.md reports 30),
so the kills spread over checking, uploading and the manifest PUTs (the last `--json` event
before each kill is recorded), and a failing trial can be replayed. After each kill:

  * the registry holds no tag whose manifest or blobs are missing: every tag of every
    repository of the trial is read with its manifest and every blob it names (HEAD 200);
  * S3 holds no partial object: every object of the trial's prefix, listed and read with
    botocore (published_state.py), has exactly the size and sha256 of its source;
  * a re-run completes: exit 0, every target published or present, and it publishes exactly
    the targets the kill left unpublished (its summary's states against what was there);
  * the re-run removes the private folders the killed run left in TMPDIR
    (`assetctl-<kind>-r<pid>.<start>-*`, util/run_folders.hpp) and nothing else.

It shares test_publish_tarball.py's stack (registry behind the fault proxy, ECR/STS/S3
endpoint) and helpers.

    ASSETCTL_BIN=... ASSETCTL_SOURCE_DIR=... python3 tests/e2e/test_crash_consistency.py [-v]
"""
import hashlib
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from assetctl_run import BIN, OK, REGION, main  # noqa: E402

import test_publish_tarball as tarball  # noqa: E402  (skips the module when its prerequisites lack)
from test_publish_tarball import KiB, TarballCase, directory_source, it  # noqa: E402
from published_state import BUCKET, PublishedState  # noqa: E402


DEFAULT_SEED = 20261207
TRIALS = int(os.environ.get("ASSETCTL_KILL_TRIALS", "8"))
SEED = int(os.environ.get("ASSETCTL_KILL_SEED", str(DEFAULT_SEED)))
BIG_FILE_SIZE = 66 << 20   # over the 64 MiB multipart threshold: 5 parts of 16 MiB
RUN_FOLDER = re.compile(r"^assetctl-[a-z]+-r(\d+)\.(\d+)-......$")


def setUpModule():
    tarball.setUpModule()


class KillNine(PublishedState, TarballCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.big_file = cls.dir / "big.bin"
        with open(cls.big_file, "wb") as out:
            out.write(random.Random(SEED).randbytes(BIG_FILE_SIZE))
        cls.big_sha256 = hashlib.sha256(cls.big_file.read_bytes()).hexdigest()
        cls.records = []
        cls.full_run_seconds = None

    def setUp(self):
        super().setUp()
        if KillNine.full_run_seconds is None:
            # How long a whole run of a trial's assembly takes here: the kill points are drawn
            # over that time.
            path, _, _ = self.trial_assembly(-1)
            started = time.monotonic()
            run = self.publish(path)
            KillNine.full_run_seconds = time.monotonic() - started
            self.assertEqual(run.code, OK, run.describe())

    @classmethod
    def tearDownClass(cls):
        # What the trials did, for docs/reliability.md (stderr: ctest shows it on failure only).
        kinds = {}
        for record in cls.records:
            kinds[record["killed_after"]] = kinds.get(record["killed_after"], 0) + 1
        print("kill -9 trials: %d (seed %d, a whole run %.1f s); last event before the kill: %s" % (
            len(cls.records), SEED, cls.full_run_seconds or 0, json.dumps(kinds, sort_keys=True)), file=sys.stderr)
        super().tearDownClass()

    # --- one trial's assembly -------------------------------------------------------------

    def trial_assembly(self, trial):
        """Three tarballs to four repositories and two files; returns (manifest path,
        {(asset, destination): what}), what = ("image", repository, tag, image) or
        ("file", key, size, sha256)."""
        root = self.new_assembly()
        token = "t%d-%s" % (trial, secrets.token_hex(3))
        targets, images, files = {}, {}, {}
        for number, sizes in enumerate(((512 * KiB, 256 * KiB), (768 * KiB,), (256 * KiB, 384 * KiB, 128 * KiB))):
            image = self.image("%s-image%d" % (token, number), sizes=sizes)
            it.write_docker_save_legacy(str(root / ("image%d.tar" % number)), [image])
            asset = "%s-image%d" % (token, number)
            repositories = [self.fresh_repository("kill")] + ([self.fresh_repository("kill")] if number == 2 else [])
            destinations = {}
            for index, repository in enumerate(repositories):
                destinations["d%d" % index] = self.destination(asset, repository)
                targets[(asset, "d%d" % index)] = ("image", repository, asset, image)
            images[asset] = {"source": directory_source("image%d.tar" % number), "destinations": destinations}
        small = root / "small.txt"
        small.write_bytes(("small file of " + token + "\n").encode())
        os.link(self.big_file, root / "big.bin")
        for asset, name, size, digest in (
                (token + "-small", "small.txt", small.stat().st_size, hashlib.sha256(small.read_bytes()).hexdigest()),
                (token + "-big", "big.bin", BIG_FILE_SIZE, self.big_sha256)):
            key = "%s/%s" % (token, name)
            files[asset] = {"source": {"path": name, "packaging": "file"},
                            "destinations": {"d": {"bucketName": BUCKET, "objectKey": key, "region": REGION}}}
            targets[(asset, "d")] = ("file", key, size, digest)
        path = root / "Trial.assets.json"
        path.write_text(json.dumps({"version": "55.0.0", "dockerImages": images, "files": files}, indent=1))
        return path, token, targets

    # --- kill and re-run ------------------------------------------------------------------

    def publish_and_kill(self, path, delay):
        """Starts a publish and sends SIGKILL `delay` seconds later (the drawn kill point), its
        `--json` events read meanwhile. Returns (pid, the last event before the kill, or
        "ended" when the run was over first)."""
        proc = subprocess.Popen([BIN, "publish", "--json", "--path", str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=self.env(), text=True)
        events = []
        reader = threading.Thread(target=lambda: events.extend(
            json.loads(line).get("event", "?") for line in proc.stdout if line.strip()), daemon=True)
        reader.start()
        try:
            try:
                proc.wait(timeout=delay)
                killed = False
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                proc.wait(timeout=60)
            reader.join(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        return proc.pid, ((events[-1] if events else "started") if killed else "ended")

    def run_folders_of(self, pid):
        return sorted(name for name in os.listdir(self.tmpdir)
                      if (m := RUN_FOLDER.match(name)) and int(m.group(1)) == pid)

    def test_kill_nine_at_random_points_then_rerun(self):
        rng = random.Random(SEED)
        for trial in range(TRIALS):
            with self.subTest(trial=trial, seed=SEED):
                path, token, targets = self.trial_assembly(trial)
                # Anywhere from the start to a little past a whole run's time.
                delay = rng.uniform(0, 1.1 * self.full_run_seconds)
                pid, killed_after = self.publish_and_kill(path, delay)
                self.records.append({"trial": trial, "delay": round(delay, 3), "killed_after": killed_after})
                self.wait_until_quiet()
                done = self.published_now(token, targets)
                stale = self.run_folders_of(pid)

                rerun = self.publish(path)
                self.assertEqual(rerun.code, OK, rerun.describe())
                states = rerun.states()
                self.assertEqual(set(states), set(targets))
                for target in targets:
                    self.assertEqual(states[target], "present" if target in done else "published",
                                     "%s after a kill %s: %s" % (target, killed_after, rerun.describe()))
                self.assertEqual(self.run_folders_of(pid), [], "the re-run left %s" % stale)
                self.assertEqual(self.published_now(token, targets, read_contents=False), set(targets))
                self.records[-1]["left_folders"] = len(stale)


if __name__ == "__main__":
    main()
