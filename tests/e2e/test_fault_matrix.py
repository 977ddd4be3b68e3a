"""End-to-end: the fault matrix (issue #13) - faults injected in front of the registry, the
ECR/STS endpoint and S3 while assetctl publishes natively (no daemon), one row per fault.

Where the faults come from:

  * registry: the stack's TLS fault proxy (tests/support/fault_proxy.py) that the endpoint hands
    out as the registry;
  * aws, s3: two plain-HTTP fault proxies started here in front of the endpoint, one named by
    AWS_ENDPOINT_URL_ECR and AWS_ENDPOINT_URL_STS, one by AWS_ENDPOINT_URL_S3 (SigV4 still
    verifies at the endpoint: the Host header goes through unchanged);
  * ecr-api, s3-api: the endpoint's own injections (/__control/inject: AWS error codes and
    bodies, after the signature check), for the 5xx and throttling rows;
  * env: an endpoint URL that cannot work (a host that does not resolve, a closed port, TLS
    spoken to a plain-HTTP server).

Every row publishes a fresh assembly: two image tarballs to three repositories (pushed
natively, the roles assumed through STS) and a small file (PutObject); the S3 rows add a
66 MiB file (multipart, 5 parts). ASSETCTL_HTTP_STALL_TIMEOUT is 2 s in every row, so a stall
is noticed in 2 s. Each row then holds assetctl to the same promises:

  * the run ends (the subprocess timeout is the hang detector) with exit 0 and every target
    published, or exit 1 with every target published or failed, and each failure one line
    that names what went wrong (the row's pattern where it has one), never a crash;
  * the row's expectation: `published` (the faults are within what retries absorb),
    `failed` (they are not: the row says which kinds of asset fail) or `either` (faults drawn
    with a probability: whether the retries of every request suffice is chance; the counts
    are printed);
  * nothing half-published: every tag of the row's repositories names a manifest and blobs
    that are there (read straight from the registry with skopeo and the registry API), every
    object is whole (size and sha256 with botocore, straight at the endpoint), a failed
    target has no tag or object, and no multipart upload is left unfinished;
  * after a failure, a run without faults publishes exactly what failed.

The counts (faults applied per row, outcome, time) go to stderr, for docs/reliability.md.

    ASSETCTL_BIN=... ASSETCTL_SOURCE_DIR=... python3 tests/e2e/test_fault_matrix.py [-v]
    ASSETCTL_FAULT_ROWS=registry-5xx-30%,s3-stall python3 tests/e2e/test_fault_matrix.py   # some rows
    ASSETCTL_FAULT_SEED=7 ...     # other draws for the probability rows (default 13)
"""
import hashlib
import json
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from assetctl_run import ASSETS_FAILED, BIN, OK, REGION, Run, main  # noqa: E402

import test_publish_tarball as tarball  # noqa: E402  (skips the module when its prerequisites lack)
from test_publish_tarball import RUN_TIMEOUT, KiB, TarballCase, directory_source, it  # noqa: E402
from published_state import BUCKET, PublishedState  # noqa: E402
import fault_proxy  # noqa: E402

STALL_TIMEOUT = 2          # ASSETCTL_HTTP_STALL_TIMEOUT in every row
STALL = 8                  # how long a stall rule keeps silent: well past STALL_TIMEOUT
BIG_FILE_SIZE = 66 << 20   # over the 64 MiB multipart threshold: 5 parts of 16 MiB
UNRESOLVABLE = "assetctl-fault-matrix.invalid"   # .invalid never resolves (RFC 6761)


@dataclass
class Row:
    name: str
    where: str                      # registry | aws | s3 | ecr-api | s3-api | env | token
    rules: List[dict] = field(default_factory=list)
    expect: str = "published"       # published | failed | either
    failing: str = "any"            # with failed: what fails - images | files | big | all | any
    error: Optional[str] = None     # a regex every failure's message matches
    big: bool = False               # add the multipart file
    env: dict = field(default_factory=dict)
    args: tuple = ()                # extra publish arguments


def probability(share, **rule):
    return dict(rule, probability=share, count=None)


UPLOAD = "/blobs/uploads/"
ROWS = [
    # --- the registry (TLS proxy) --------------------------------------------------------
    Row("registry-5xx-30%", "registry", [probability(0.3, status=503)], "either"),
    Row("registry-429-30%-retry-after", "registry", [probability(0.3, status=429, retry_after=1)], "either"),
    Row("registry-reset-mid-upload", "registry",
        [{"method": "PUT|PATCH", "path": UPLOAD, "action": "reset_request", "count": 3}]),
    Row("registry-reset-mid-answer", "registry", [{"method": "GET", "path": "^/v2/$", "action": "reset_response",
                                                   "count": 2}]),
    Row("registry-truncated-answer", "registry", [{"method": "GET", "path": "^/v2/$", "action": "truncate",
                                                   "count": 2}]),
    Row("registry-malformed-answers", "registry", [{"method": "GET|POST", "action": "malformed", "count": None}]),
    Row("registry-stall", "registry", [{"method": "PUT", "path": UPLOAD, "action": "stall", "seconds": STALL,
                                        "count": 2}]),
    Row("registry-stall-always", "registry", [{"action": "stall", "seconds": STALL, "count": None}],
        "failed", "images", r"(?i)timed? ?out|too slow", args=("-v",)),
    Row("registry-tls-failure", "registry", [{"action": "tls_fail", "count": None}], "failed", "images",
        r"(?i)tls|ssl"),
    Row("registry-token-expires-mid-push", "token"),
    # --- ECR and STS ---------------------------------------------------------------------
    Row("ecr-sts-5xx-30%", "ecr-api", [probability(0.3, op="*", service="ecr", status=500),
                                       probability(0.3, op="*", service="sts", status=500)], "either"),
    Row("ecr-sts-throttled-30%", "ecr-api", [probability(0.3, op="*", service="ecr", status=400,
                                                         code="ThrottlingException", retry_after=1),
                                             probability(0.3, op="*", service="sts", status=400,
                                                         code="Throttling")], "either"),
    Row("ecr-sts-reset-mid-answer", "aws", [{"method": "POST", "action": "reset_response", "count": 3}]),
    Row("ecr-sts-truncated-answer", "aws", [{"method": "POST", "action": "truncate", "count": 3}]),
    Row("ecr-sts-stall", "aws", [{"method": "POST", "action": "stall", "seconds": STALL, "count": 2}]),
    # Every answer garbage: STS too, so the files (whose bucket owner is the caller's account,
    # from GetCallerIdentity) fail as well.
    Row("ecr-sts-malformed-answers", "aws", [{"method": "POST", "action": "malformed", "count": None}],
        "failed", "all"),
    Row("ecr-dns-failure", "env", expect="failed", failing="images", error=r"(?i)resolve",
        env={"AWS_ENDPOINT_URL_ECR": "http://%s:4566" % UNRESOLVABLE}),
    Row("sts-dns-failure", "env", expect="failed", failing="all", error=r"(?i)resolve",
        env={"AWS_ENDPOINT_URL_STS": "http://%s:4566" % UNRESOLVABLE}),
    Row("ecr-connection-refused", "env", expect="failed", failing="images", error=r"(?i)connect",
        env={"AWS_ENDPOINT_URL_ECR": "http://127.0.0.1:{closed}"}),
    # --- S3 ------------------------------------------------------------------------------
    Row("s3-5xx-30%", "s3-api", [probability(0.3, op="*", service="s3", status=503, code="SlowDown")], "either",
        big=True),
    Row("s3-reset-mid-part", "s3", [{"method": "PUT", "target": "partNumber=", "action": "reset_request",
                                     "count": 2}], big=True),
    Row("s3-stall", "s3", [{"method": "PUT", "action": "stall", "seconds": STALL, "count": 2}], big=True),
    Row("s3-truncated-answer", "s3", [{"method": "GET", "action": "truncate", "count": 2}]),
    Row("s3-malformed-answer", "s3", [{"method": "GET|POST", "action": "malformed", "count": None}],
        "failed", "files", big=True),
    Row("s3-parts-always-fail", "s3-api", [{"op": "UploadPart", "service": "s3", "status": 500, "count": None}],
        "failed", "big", big=True),
    Row("s3-dns-failure", "env", expect="failed", failing="files", error=r"(?i)resolve",
        env={"AWS_ENDPOINT_URL_S3": "http://%s:4566" % UNRESOLVABLE}),
    Row("s3-tls-to-plain-http", "env", expect="failed", failing="files", error=r"(?i)tls|ssl",
        env={"AWS_ENDPOINT_URL_S3": "https://127.0.0.1:{s3_proxy}"}),
]
SELECTED = [name for name in os.environ.get("ASSETCTL_FAULT_ROWS", "").split(",") if name]
SEED = int(os.environ.get("ASSETCTL_FAULT_SEED", "13"))   # of the probability rules' draws


def setUpModule():
    tarball.setUpModule()


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FaultMatrix(PublishedState, TarballCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.aws_proxy = fault_proxy.FaultProxy(cls.url, seed=SEED).start()
        cls.addClassCleanup(cls.aws_proxy.stop)
        cls.s3_proxy = fault_proxy.FaultProxy(cls.url, seed=SEED + 1).start()
        cls.addClassCleanup(cls.s3_proxy.stop)
        cls.big_file = cls.dir / "big.bin"
        with open(cls.big_file, "wb") as out:
            out.write(random.Random(13).randbytes(BIG_FILE_SIZE))
        cls.big_sha256 = hashlib.sha256(cls.big_file.read_bytes()).hexdigest()
        cls.records = []

    @classmethod
    def tearDownClass(cls):
        print("fault matrix: %d rows (seed %d)" % (len(cls.records), SEED), file=sys.stderr)
        for record in cls.records:
            print("  " + json.dumps(record, sort_keys=True), file=sys.stderr)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.clear_faults()
        self.addCleanup(self.clear_faults)

    def clear_faults(self):
        self.proxy.clear_rules()
        self.proxy.clear_log()
        for proxy in (self.aws_proxy, self.s3_proxy):
            proxy.state.clear_rules()
            proxy.state.clear_log()
        self.control("DELETE", "/__control/inject")
        self.control("DELETE", "/__control/log")

    # --- running a row --------------------------------------------------------------------

    def row_env(self, row):
        env = self.env(ASSETCTL_HTTP_STALL_TIMEOUT=str(STALL_TIMEOUT),
                       AWS_ENDPOINT_URL_ECR=self.aws_proxy.url, AWS_ENDPOINT_URL_STS=self.aws_proxy.url,
                       AWS_ENDPOINT_URL_S3=self.s3_proxy.url)
        values = {"closed": closed_port(), "s3_proxy": self.s3_proxy.port}
        env.update({name: value.format(**values) for name, value in row.env.items()})
        return env

    def row_assembly(self, row):
        """Two tarballs to three repositories, a small file and with row.big the multipart one;
        returns (manifest path, prefix of the row's objects, {(asset, destination): what})."""
        root = self.new_assembly()
        token = "%s-%s" % (re.sub(r"[^a-z0-9-]", "", row.name), secrets.token_hex(3))
        targets, images, files = {}, {}, {}
        for number, sizes in enumerate(((384 * KiB, 128 * KiB), (256 * KiB,))):
            asset = "%s-image%d" % (token, number)
            image = self.image(asset, sizes=sizes)
            it.write_docker_save_legacy(str(root / ("image%d.tar" % number)), [image])
            repositories = [self.fresh_repository("faults")] + ([self.fresh_repository("faults")] if number == 0 else [])
            destinations = {}
            for index, repository in enumerate(repositories):
                destinations["d%d" % index] = self.destination(asset, repository)
                targets[(asset, "d%d" % index)] = ("image", repository, asset, image)
            images[asset] = {"source": directory_source("image%d.tar" % number), "destinations": destinations}
        sources = [("small", "small.txt")] + ([("big", "big.bin")] if row.big else [])
        (root / "small.txt").write_bytes(("small file of " + token + "\n").encode())
        if row.big:
            os.link(self.big_file, root / "big.bin")
        for kind, name in sources:
            data = (root / name).read_bytes()
            key = "%s/%s" % (token, name)
            files[token + "-" + kind] = {"source": {"path": name, "packaging": "file"},
                                         "destinations": {"d": {"bucketName": BUCKET, "objectKey": key, "region": REGION}}}
            targets[(token + "-" + kind, "d")] = ("file", key, len(data), hashlib.sha256(data).hexdigest())
        path = root / "Faults.assets.json"
        path.write_text(json.dumps({"version": "55.0.0", "dockerImages": images, "files": files}, indent=1))
        return path, token, targets

    def inject(self, row):
        if row.where == "registry":
            self.proxy.add_rules(row.rules)
        elif row.where in ("aws", "s3"):
            (self.aws_proxy if row.where == "aws" else self.s3_proxy).state.add_rules(row.rules)
        elif row.where in ("ecr-api", "s3-api"):
            for number, rule in enumerate(row.rules):
                self.control("POST", "/__control/inject", dict(rule, seed=SEED * 100 + number))

    def faults_applied(self, row):
        if row.where in ("registry", "token"):
            return len(fault_proxy.faulted(self.proxy.log()))
        if row.where in ("aws", "s3"):
            return len(fault_proxy.faulted((self.aws_proxy if row.where == "aws" else self.s3_proxy).state.snapshot()))
        if row.where in ("ecr-api", "s3-api"):
            return sum(1 for line in self.control("GET", "/__control/log").splitlines()
                       if line.strip() and json.loads(line).get("injected"))
        return None

    def publish_with_token_expiring(self, path, env):
        """Holds the first blob PUT at the registry, replaces the registry's AWS password (the
        ECR token the run holds stops working), then lets the PUT go on."""
        hold = self.proxy.add_rule({"method": "PUT", "path": UPLOAD, "action": "hold"})
        result, held = {}, {"id": 0}

        def run():
            result["run"] = self.publish(path, env=env)

        thread = threading.Thread(target=run)
        thread.start()
        try:
            held = self.proxy.wait_held(hold, timeout=60)
            self.control("POST", "/__control/rotate-token", {})
        finally:
            self.proxy.release(hold, "forward")
            thread.join(RUN_TIMEOUT + 10)
        self.assertIn("run", result, "the publish did not end")
        # The held PUT (and whatever else still carried the old token) was refused.
        unauthorized = [e for e in self.proxy.log() if e["status"] == 401 and e["id"] >= held["id"]]
        self.assertTrue(unauthorized, "the old token was never refused: the row tested nothing")
        tokens = [json.loads(line) for line in self.control("GET", "/__control/log").splitlines() if line.strip()]
        self.assertGreaterEqual(sum(1 for t in tokens if t.get("operation") == "GetAuthorizationToken"), 2,
                                "no new ECR token was fetched after the registry refused the old one")
        return result["run"]

    @staticmethod
    def expected_failures(row, targets):
        def fails(target, what):
            return {"all": True, "images": what[0] == "image", "files": what[0] == "file",
                    "big": what[0] == "file" and target[0].endswith("-big")}[row.failing]
        return {target for target, what in targets.items() if fails(target, what)}

    def run_row(self, row):
        path, token, targets = self.row_assembly(row)
        env = self.row_env(row)
        self.inject(row)
        started = time.monotonic()
        if row.where == "token":
            run = self.publish_with_token_expiring(path, env)
        else:
            try:
                run = self.publish(path, *row.args, env=env)
            except subprocess.TimeoutExpired as hang:   # the hang detector
                self.fail("the run did not end within %d s; its last log lines:\n%s" % (
                    RUN_TIMEOUT, (hang.stderr or b"")[-4000:].decode(errors="replace")
                    if isinstance(hang.stderr, bytes) else (hang.stderr or "")[-4000:]))
        seconds = time.monotonic() - started
        applied = self.faults_applied(row)
        self.clear_faults()

        states = run.states()
        self.assertEqual(set(states), set(targets), run.describe())
        failed = {t for t, state in states.items() if state == "failed"}
        self.assertEqual(set(states.values()) - {"published", "failed"}, set(), run.describe())
        self.assertEqual(run.code, ASSETS_FAILED if failed else OK, run.describe())
        for asset, destination in failed:
            message = run.outcome(asset, destination).get("error") or ""
            self.assertTrue(message.strip(), "%s/%s failed without a message" % (asset, destination))
            self.assertNotIn("\n", message)
            if row.error:
                self.assertRegex(message, row.error, "%s/%s" % (asset, destination))
        if row.expect == "published":
            self.assertEqual(failed, set(), run.describe())
        elif row.expect == "failed":
            self.assertTrue(failed, "expected failures:\n" + run.describe())
            if row.failing != "any":
                self.assertEqual(failed, self.expected_failures(row, targets), run.describe())

        # Nothing half-published: what is there is whole, and it is exactly what was published.
        self.assertEqual(self.published_now(token, targets), set(targets) - failed)
        self.assertEqual(self.unfinished_uploads(token), [], "a multipart upload was left unfinished")

        if failed:
            rerun = self.publish(path)
            self.assertEqual(rerun.code, OK, rerun.describe())
            self.assertEqual(rerun.states(), {t: "published" if t in failed else "present" for t in targets})
        self.records.append({"row": row.name, "faults": applied, "seconds": round(seconds, 1), "exit": run.code,
                             "failed": len(failed), "targets": len(targets),
                             "errors": sorted({run.outcome(*t)["error"][:300] for t in failed})[:2]})

    def test_fault_matrix(self):
        names = [row.name for row in ROWS]
        self.assertEqual(len(set(names)), len(names))
        self.assertLessEqual(set(SELECTED), set(names), "ASSETCTL_FAULT_ROWS names an unknown row")
        for row in ROWS:
            if SELECTED and row.name not in SELECTED:
                continue
            with self.subTest(row=row.name):
                self.run_row(row)


if __name__ == "__main__":
    main()
