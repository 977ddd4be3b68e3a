"""End-to-end: `assetctl publish` of file assets (S3) from the publish-app's real synthesized
assembly, against the local S3 endpoint (tests/support/s3_service.py via stack.py, which checks
every SigV4 signature with botocore).

What was published is read back with the AWS CLI (`aws s3api`, an independent client) and
compared with bytes this file computes itself: the source file's SHA-256, the zip read with
Python's zipfile against the staged source folder, the executable source's output from its
seed. What assetctl did is read from its JSON summary and from the endpoint's request log.

Each class gets a fresh stack and its own copy of the assembly (so cdk.out/.cache and the
generated large file live in a temporary folder, never in the checkout); variants of one asset
(other buckets, fresh object keys) are copies whose *.assets.json the test edits.
"""
import hashlib
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import unittest
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from assetctl_run import (ASSETS_FAILED, BIN, INTERRUPTED, OK, REGION, SOURCE_DIR, Run,  # noqa: E402
                          environment_without, isolated_aws, main, missing_path, skip, wait_for)

AWS_CLI = shutil.which("aws") or "/usr/bin/aws"

try:
    import botocore.session  # noqa: E402,F401  (the endpoint verifies signatures with it)
    import stack as stack_support  # noqa: E402
    from stack import ACCOUNT_A, ACCOUNT_B, Stack  # noqa: E402
except ImportError as error:  # botocore missing: the harness cannot run
    skip(error)
if missing_path((AWS_CLI,)):
    skip(missing_path((AWS_CLI,)))

APP_SOURCE = SOURCE_DIR / "tests" / "fixtures" / "publish-app"
PUBLISH_APP = APP_SOURCE / "cdk.out"
MAKE_LARGE_FILE = APP_SOURCE / "make-large-file.py"
RUN_TIMEOUT = 180
QUALIFIER = "hnb659fds"
REGIONS = ("us-east-1", "eu-west-1")  # the publish-app's file destinations

# The publish-app's file assets (ids from its committed manifests; every stack's own template
# is a file asset too, found from the manifests).
API_CODE = "7e005a22c63da5e3a8089a2f1dcf62a23fe48b1a4d14b0d42f0a908b0d4115e2"      # zip, us-east-1
WORKER_CODE = "c1b9fd3be76ab0f13263050ed8842580519a6f9687eebaacf3cd0b1c647a4ed1"   # zip, Stage, eu-west-1
TEMPLATE = "9c4e83926faa506e70705379bda8b8e77f992aaf88a3605a936dca96f4402ea5"      # file, both regions
LARGE = "80d1b9da909853e3b80b43c152f86851278032c1de40c60f4cd1b4f3c64ede48"         # file, 64 MiB + 4097, us-east-1
EXECUTABLE = "cf5d209a47c9cd52a1e9763db6002a68c6d3fabcc1e520f27df73ffa59095071"    # executable, eu-west-1
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

KMS_KEY = "arn:aws:kms:us-east-1:%s:key/0f4c2a8e-7d51-4b0e-9a43-assetctl0e2e" % ACCOUNT_A
KMS_BUCKET = "assetctl-e2e-kms-%s-us-east-1" % ACCOUNT_A
AES_BUCKET = "assetctl-e2e-aes-%s-us-east-1" % ACCOUNT_A
FOREIGN_BUCKET = "assetctl-e2e-foreign-%s-us-east-1" % ACCOUNT_B  # owned by B, named for A's asset
EXTRA_BUCKETS = [
    {"name": KMS_BUCKET, "region": "us-east-1", "account": ACCOUNT_A, "encryption": {"kms": KMS_KEY}},
    {"name": AES_BUCKET, "region": "us-east-1", "account": ACCOUNT_A, "encryption": "AES256"},
    {"name": FOREIGN_BUCKET, "region": "us-east-1", "account": ACCOUNT_B, "encryption": "none"},
]
UPLOAD_OPERATIONS = ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload")


def assets_bucket(region, account=ACCOUNT_A):
    return "cdk-%s-assets-%s-%s" % (QUALIFIER, account, region)


def file_publishing_role(region, account=ACCOUNT_A):
    return "arn:aws:iam::%s:role/cdk-%s-file-publishing-role-%s-%s" % (account, QUALIFIER, account, region)


def resolve(text, region):
    """The placeholders of a destination as assetctl must resolve them for account A."""
    return (text.replace("${AWS::AccountId}", ACCOUNT_A).replace("${AWS::Region}", region)
            .replace("${AWS::Partition}", "aws"))


def file_targets(root):
    """{(asset id, destination id): target} of every file asset in root and its nested
    assemblies, straight from the *.assets.json files: target = {source, folder (the
    manifest's), bucket, key, region}, placeholders resolved."""
    targets = {}
    for path in sorted(Path(root).rglob("*.assets.json")):
        for asset_id, asset in json.loads(path.read_text()).get("files", {}).items():
            for destination_id, destination in asset["destinations"].items():
                region = destination.get("region") or REGION
                targets[(asset_id, destination_id)] = {
                    "source": asset["source"], "folder": path.parent, "region": region,
                    "bucket": resolve(destination["bucketName"], region),
                    "key": resolve(destination["objectKey"], region)}
    return targets


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def folder_files(folder):
    """{posix relative path: (bytes, permission bits)} of every regular file under folder
    (symlinks followed), as a zip of it must hold them."""
    files = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            files[path.relative_to(folder).as_posix()] = (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return files


def cdk_assets_order(folder):
    """The order cdk-assets 4.7.3 zips a folder's files in (fast-glob `**`, no sort): folders
    level by level, each folder's names in byte order, its files where they come and its
    subfolders queued after every folder of the level above."""
    order, queue = [], [Path(folder)]
    while queue:
        current = queue.pop(0)
        for name in sorted(os.listdir(os.fsencode(current))):
            path = current / os.fsdecode(name)
            if path.is_dir():
                queue.append(path)
            elif path.is_file():
                order.append(path.relative_to(folder).as_posix())
    return order


def executable_output(folder):
    """What the executable source (file-executable/make-file.py) prints the path of, computed
    from its seed as its docstring specifies, without running it."""
    seed = json.loads((Path(folder) / "seed.json").read_text())
    return (json.dumps({"generatedBy": "make-file.py", "seed": seed}, indent=1, sort_keys=True) + "\n").encode()


class FilesCase(unittest.TestCase):
    """A fresh stack (S3 with the default asset buckets plus EXTRA_BUCKETS) and a copy of the
    publish-app with its large file generated, for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="assetctl-e2e-files-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.dir = Path(cls.tmp.name)
        roles = {file_publishing_role(region): {} for region in REGIONS}
        cls.stack = Stack(extra_config={"roles": roles}, buckets=EXTRA_BUCKETS)
        cls.info = cls.stack.start()
        cls.addClassCleanup(cls.stack.stop)
        if "s3" not in cls.info:
            raise AssertionError("the local stack has no S3 (tests/support/s3_service.py): %s" % sorted(cls.info))
        cls.url = cls.info["endpoint_url"]
        cls.tmpdir = cls.dir / "tmpdir"  # assetctl's (and the executable source's) TMPDIR
        cls.tmpdir.mkdir()
        cls.app = cls.copy_app("app")

    @classmethod
    def copy_app(cls, name):
        """A copy of the publish-app's cdk.out with its large file written (make-large-file.py)."""
        target = cls.dir / name
        shutil.copytree(PUBLISH_APP, target, symlinks=True, ignore=shutil.ignore_patterns(".cache", "asset.*.bin"))
        subprocess.run([sys.executable, str(MAKE_LARGE_FILE), "--assembly", str(target)], check=True,
                       stdout=subprocess.DEVNULL, timeout=60)
        return target

    @classmethod
    def variant(cls, asset_id, bucket=None, key_prefix=None):
        """A copy of the app in which asset_id's destinations name `bucket` and/or get object keys
        prefixed with `key_prefix` (fresh keys: nothing another test published is found)."""
        target = cls.copy_app("variant-%s" % os.urandom(4).hex())
        for path in target.rglob("*.assets.json"):
            document = json.loads(path.read_text())
            asset = document.get("files", {}).get(asset_id)
            if asset is None:
                continue
            for destination in asset["destinations"].values():
                if bucket:
                    destination["bucketName"] = bucket
                if key_prefix:
                    destination["objectKey"] = key_prefix + destination["objectKey"]
            path.write_text(json.dumps(document, indent=1))
        return target

    # --- running assetctl ---------------------------------------------------------------------

    @classmethod
    def env(cls, **extra):
        env = environment_without(("AWS_", "CDK_"), ("TMPDIR",))
        env.update(cls.info["env"])
        env.update(isolated_aws(cls.dir))
        env.update({"TMPDIR": str(cls.tmpdir), "NO_COLOR": "1"})
        env.update(extra)
        return env

    @classmethod
    def publish(cls, app, *selectors, test=None):
        proc = subprocess.run([BIN, "publish", "--json", "--path", str(app), *selectors], capture_output=True,
                              text=True, env=cls.env(), timeout=RUN_TIMEOUT)
        return Run(proc.returncode, proc.stdout, proc.stderr, test)

    # --- the endpoint's control API -----------------------------------------------------------

    @classmethod
    def control(cls, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(cls.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()

    @classmethod
    def clear_log(cls):
        cls.control("DELETE", "/__control/log")

    @classmethod
    def log(cls):
        text = cls.control("GET", "/__control/log")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    @classmethod
    def inject(cls, *rules):
        cls.control("POST", "/__control/inject", list(rules))

    @classmethod
    def clear_injections(cls):
        cls.control("DELETE", "/__control/inject")

    @staticmethod
    def s3_calls(log, *operations):
        return [e for e in log if e.get("service") == "s3" and e.get("operation") in operations]

    # --- reading S3 back with the AWS CLI -----------------------------------------------------

    @classmethod
    def s3api(cls, *args, region=REGION, account=ACCOUNT_A, check=True):
        env = dict(environment_without(("AWS_",)), **stack_support.client_env(cls.info))
        key = next(k for k in cls.info["keys"] if k["account"] == account)
        env.update({"AWS_ACCESS_KEY_ID": key["access_key_id"], "AWS_SECRET_ACCESS_KEY": key["secret_access_key"],
                    "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "HOME": str(cls.dir)})
        env.pop("AWS_SESSION_TOKEN", None)
        result = subprocess.run([AWS_CLI, "s3api", *map(str, args), "--output", "json"], capture_output=True,
                                text=True, env=env, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError("aws s3api %s failed: %s" % (" ".join(map(str, args[:1])), result.stderr))
        return result

    @classmethod
    def head(cls, bucket, key, region=REGION):
        """head-object's answer, or None when the object does not exist."""
        result = cls.s3api("head-object", "--bucket", bucket, "--key", key, region=region, check=False)
        if result.returncode != 0:
            if "404" in result.stderr or "Not Found" in result.stderr or "NoSuchKey" in result.stderr:
                return None
            raise AssertionError("head-object %s/%s: %s" % (bucket, key, result.stderr))
        return json.loads(result.stdout)

    @classmethod
    def get(cls, bucket, key, region=REGION):
        """The object's bytes (get-object into a file)."""
        target = Path(tempfile.mkdtemp(dir=cls.dir, prefix="get-")) / "object"
        cls.s3api("get-object", "--bucket", bucket, "--key", key, target, region=region)
        data = target.read_bytes()
        target.unlink()
        return data

    @classmethod
    def unfinished_uploads(cls, bucket, region=REGION):
        result = cls.s3api("list-multipart-uploads", "--bucket", bucket, region=region)
        return json.loads(result.stdout or "{}").get("Uploads", [])

    @classmethod
    def keys_in(cls, bucket, region=REGION, account=ACCOUNT_A):
        result = cls.s3api("list-objects-v2", "--bucket", bucket, region=region, account=account)
        return [o["Key"] for o in json.loads(result.stdout or "{}").get("Contents", [])]

    # --- checks -------------------------------------------------------------------------------

    def assert_zip_of_folder(self, data, folder):
        """data is a zip of exactly folder's regular files: names in cdk-assets' order, contents,
        unix modes, every entry dated 1980-01-01 00:00, deflated, CRCs valid."""
        expected = folder_files(folder)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            self.assertIsNone(archive.testzip())
            entries = archive.infolist()
            names = [entry.filename for entry in entries]
            self.assertEqual(names, cdk_assets_order(folder))
            self.assertEqual(sorted(names), sorted(expected))
            for entry in entries:
                with self.subTest(entry=entry.filename):
                    content, mode = expected[entry.filename]
                    self.assertEqual(archive.read(entry), content)
                    unix_mode = entry.external_attr >> 16
                    self.assertTrue(stat.S_ISREG(unix_mode), oct(unix_mode))
                    self.assertEqual(stat.S_IMODE(unix_mode), mode, entry.filename)
                    self.assertEqual(entry.date_time, ZIP_DATE)
                    self.assertEqual(entry.compress_type, zipfile.ZIP_DEFLATED)

    def expected_bytes(self, target):
        """The bytes the object of a target must hold, computed from the assembly alone."""
        source = target["source"]
        if "executable" in source:
            folder = target["folder"] / Path(source["executable"][1]).parent
            return executable_output(folder)
        return (target["folder"] / source["path"]).read_bytes()


class PublishFiles(FilesCase):
    """Every file asset of the publish-app (selected by id), published once in setUpClass and
    then again."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.targets = file_targets(cls.app)
        cls.selectors = sorted({asset for asset, _ in cls.targets})
        cls.clear_log()
        cls.first = cls.publish(cls.app, *cls.selectors)
        cls.first_log = cls.log()
        cls.clear_log()
        cls.second = cls.publish(cls.app, *cls.selectors)
        cls.second_log = cls.log()

    def test_fixture_has_every_kind_of_file_asset(self):
        kinds = {(asset, t["source"].get("packaging"), "executable" in t["source"], t["region"])
                 for (asset, _), t in self.targets.items()}
        for expected in ((API_CODE, "zip", False, "us-east-1"), (WORKER_CODE, "zip", False, "eu-west-1"),
                         (TEMPLATE, "file", False, "us-east-1"), (TEMPLATE, "file", False, "eu-west-1"),
                         (LARGE, "file", False, "us-east-1"), (EXECUTABLE, None, True, "eu-west-1")):
            self.assertIn(expected, kinds)
        self.assertGreater((self.app / self.targets_of(LARGE)[0]["source"]["path"]).stat().st_size, 16 << 20)

    def test_selectors_select_exactly_the_file_assets(self):
        """`assetctl ls --json` with the test's selectors lists every file target and no image."""
        proc = subprocess.run([BIN, "ls", "--json", "--path", str(self.app), *self.selectors], capture_output=True,
                              text=True, env=self.env(), timeout=60)
        self.assertEqual(proc.returncode, OK, proc.stderr)
        listed = json.loads(proc.stdout)["assets"]
        self.assertEqual({a["type"] for a in listed}, {"file"})
        self.assertEqual({(a["id"], d["id"]) for a in listed for d in a["destinations"]}, set(self.targets))

    def targets_of(self, asset):
        return [t for (a, _), t in sorted(self.targets.items()) if a == asset]

    def test_every_file_asset_published(self):
        run = self.first
        self.assertEqual(run.code, OK, run.describe())
        self.assertTrue(run.summary["ok"])
        self.assertEqual(set(run.states()), set(self.targets))
        self.assertEqual(set(run.states().values()), {"published"}, run.states())
        self.assertEqual(run.summary["uploads"], len(self.targets))
        for outcome in run.summary["assets"]:
            target = self.targets[(outcome["asset"], outcome["destination"])]
            with self.subTest(asset=outcome["asset"], destination=outcome["destination"]):
                self.assertEqual(outcome["type"], "file")
                self.assertEqual(outcome["objectUrl"], "s3://%s/%s" % (target["bucket"], target["key"]))
                data = self.get(target["bucket"], target["key"], target["region"])
                self.assertEqual(outcome["bytesUploaded"], len(data))
                if target["source"].get("packaging") == "zip":
                    self.assert_zip_of_folder(data, target["folder"] / target["source"]["path"])
                else:
                    self.assertEqual(sha256(data), sha256(self.expected_bytes(target)))

    def test_content_types_and_default_bucket_encryption(self):
        self.assertEqual(self.first.code, OK, self.first.describe())
        for (asset, _), target in self.targets.items():
            with self.subTest(asset=asset, region=target["region"]):
                head = self.head(target["bucket"], target["key"], target["region"])
                self.assertIsNotNone(head)
                if target["source"].get("packaging") == "zip":
                    self.assertEqual(head["ContentType"], "application/zip")
                elif target["key"].endswith(".json"):
                    self.assertEqual(head["ContentType"], "application/json")
                # The bootstrap buckets' default encryption is aws:kms with the AWS-managed key.
                self.assertEqual(head.get("ServerSideEncryption"), "aws:kms", head)

    def test_zips_reported_and_cached(self):
        run = self.first
        self.assertEqual(run.code, OK, run.describe())
        packaged = {entry["asset"]: entry for entry in run.summary["files"]}
        for asset in (API_CODE, WORKER_CODE):
            (target,) = self.targets_of(asset)
            with self.subTest(asset=asset):
                self.assertTrue(packaged[asset]["zipped"], packaged[asset])
                head = self.head(target["bucket"], target["key"], target["region"])
                self.assertEqual(packaged[asset]["bytes"], head["ContentLength"])
        for asset in (TEMPLATE, LARGE, EXECUTABLE):
            self.assertFalse(packaged.get(asset, {}).get("zipped", False), packaged.get(asset))

    def test_large_file_went_multipart(self):
        self.assertEqual(self.first.code, OK, self.first.describe())
        (target,) = self.targets_of(LARGE)
        outcome = self.first.outcome(LARGE)
        self.assertEqual(outcome["method"], "multipart", outcome)
        self.assertGreater(outcome["parts"], 1, outcome)
        source = (target["folder"] / target["source"]["path"]).read_bytes()
        self.assertEqual(outcome["bytesUploaded"], len(source))
        self.assertEqual(sha256(self.get(target["bucket"], target["key"])), sha256(source))
        uploads = [e for e in self.s3_calls(self.first_log, "UploadPart") if e.get("status") == 200]
        self.assertEqual(len(uploads), outcome["parts"], uploads)
        self.assertEqual(len([e for e in self.s3_calls(self.first_log, "CompleteMultipartUpload")
                              if e.get("status") == 200]), 1)
        self.assertEqual(self.unfinished_uploads(target["bucket"]), [])

    def test_small_objects_are_one_put_each(self):
        self.assertEqual(self.first.code, OK, self.first.describe())
        for outcome in self.first.summary["assets"]:
            if outcome["asset"] != LARGE:
                self.assertEqual(outcome["method"], "put", outcome)
        puts = [e for e in self.s3_calls(self.first_log, "PutObject") if e.get("status") == 200]
        self.assertEqual(len(puts), len(self.targets) - 1)

    def test_every_request_signed_and_one_assume_role_per_role(self):
        self.assertEqual(self.first.code, OK, self.first.describe())
        self.assertTrue(self.s3_calls(self.first_log, "PutObject"))
        self.assertTrue(all(e["signature_verified"] for e in self.first_log), self.first_log)
        roles = sorted(e.get("role_arn") for e in self.first_log if e.get("operation") == "AssumeRole")
        self.assertEqual(roles, sorted(file_publishing_role(region) for region in REGIONS))

    def test_second_run_uploads_nothing_and_zips_nothing(self):
        self.assertEqual(self.first.code, OK, self.first.describe())
        run = self.second
        self.assertEqual(run.code, OK, run.describe())
        self.assertEqual(set(run.states()), set(self.targets))
        self.assertEqual(set(run.states().values()), {"present"}, run.states())
        self.assertEqual(run.summary["uploads"], 0)
        for entry in run.summary.get("files", []):
            self.assertFalse(entry["zipped"], entry)
        for outcome in run.summary["assets"]:
            self.assertEqual(outcome.get("bytesUploaded", 0), 0, outcome)
        self.assertEqual(self.s3_calls(self.second_log, *UPLOAD_OPERATIONS), [])
        self.assertTrue(self.s3_calls(self.second_log, "ListObjectsV2"))  # it did check


class Encryption(FilesCase):
    """Buckets whose default encryption is KMS with a key, or AES256: the upload mirrors it."""

    def test_kms_bucket_gets_the_kms_header_and_key_id(self):
        app = self.variant(TEMPLATE, bucket=KMS_BUCKET)
        run = self.publish(app, TEMPLATE + ":*us-east-1*", test=self)
        self.assertEqual(run.code, OK, run.describe())
        (outcome,) = run.summary["assets"]
        self.assertEqual(outcome["state"], "published", outcome)
        key = outcome["objectUrl"].split("/", 3)[3]
        head = self.head(KMS_BUCKET, key)
        self.assertEqual(head.get("ServerSideEncryption"), "aws:kms", head)
        self.assertEqual(head.get("SSEKMSKeyId"), KMS_KEY, head)
        # The endpoint applies a bucket's default encryption to any write, as S3 does: that the
        # object has it does not show the header was sent. The request itself must carry it.
        (put,) = [e for e in self.s3_calls(self.log(), "PutObject") if e.get("bucket") == KMS_BUCKET]
        self.assertEqual(put.get("sse_requested"), "aws:kms", put)
        self.assertEqual(put.get("sse_kms_key_requested"), KMS_KEY, put)
        self.assertEqual(sha256(self.get(KMS_BUCKET, key)),
                         sha256((APP_SOURCE / "templates" / "nested-stack.yaml").read_bytes()))

    def test_aes256_bucket_gets_the_aes256_header(self):
        app = self.variant(API_CODE, bucket=AES_BUCKET)
        run = self.publish(app, API_CODE, test=self)
        self.assertEqual(run.code, OK, run.describe())
        key = run.outcome(API_CODE)["objectUrl"].split("/", 3)[3]
        head = self.head(AES_BUCKET, key)
        self.assertEqual(head.get("ServerSideEncryption"), "AES256", head)
        self.assertNotIn("SSEKMSKeyId", head)
        puts = [e for e in self.s3_calls(self.log(), "PutObject") if e.get("bucket") == AES_BUCKET]
        self.assertTrue(puts)
        self.assertEqual({e.get("sse_requested") for e in puts}, {"AES256"}, puts)


class Failures(FilesCase):
    """A foreign bucket, failing and throttled uploads, and Ctrl-C in a multipart upload."""

    def setUp(self):
        self.clear_injections()
        self.addCleanup(self.clear_injections)
        self.clear_log()

    def test_bucket_of_another_account_is_refused(self):
        app = self.variant(API_CODE, bucket=FOREIGN_BUCKET)
        run = self.publish(app, API_CODE, test=self)
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        self.assertFalse(run.summary["ok"])
        outcome = run.outcome(API_CODE)
        self.assertEqual(outcome["state"], "failed", outcome)
        self.assertIn(FOREIGN_BUCKET, outcome["error"])
        self.assertIn(ACCOUNT_A, outcome["error"])      # the account that was expected to own it
        self.assertEqual(self.s3_calls(self.log(), *UPLOAD_OPERATIONS), [])
        self.assertEqual(self.keys_in(FOREIGN_BUCKET, account=ACCOUNT_B), [])

    def test_throttled_put_is_retried_and_published(self):
        app = self.variant(TEMPLATE, key_prefix="throttled/")
        self.inject({"service": "s3", "operation": "PutObject", "status": 503, "code": "SlowDown", "count": 2})
        run = self.publish(app, TEMPLATE + ":*us-east-1*", test=self)
        self.assertEqual(run.code, OK, run.describe())
        (outcome,) = run.summary["assets"]
        self.assertEqual(outcome["state"], "published", outcome)
        puts = self.s3_calls(self.log(), "PutObject")
        self.assertEqual([(e["status"], e.get("error_code")) for e in puts],
                         [(503, "SlowDown"), (503, "SlowDown"), (200, None)], puts)
        key = outcome["objectUrl"].split("/", 3)[3]
        self.assertTrue(key.startswith("throttled/"), key)
        self.assertEqual(self.get(assets_bucket("us-east-1"), key),
                         (APP_SOURCE / "templates" / "nested-stack.yaml").read_bytes())

    def test_failing_multipart_upload_leaves_nothing(self):
        app = self.variant(LARGE, key_prefix="failing/")
        self.inject({"service": "s3", "operation": "UploadPart", "status": 500, "code": "InternalError",
                     "count": None})
        run = self.publish(app, LARGE, test=self)
        log = self.log()
        self.assertEqual(run.code, ASSETS_FAILED, run.describe())
        outcome = run.outcome(LARGE)
        self.assertEqual(outcome["state"], "failed", outcome)
        self.assertTrue(outcome["error"])
        self.assertTrue(self.s3_calls(log, "UploadPart"))
        self.assertEqual(self.s3_calls(log, "CompleteMultipartUpload"), [])
        self.assertTrue([e for e in self.s3_calls(log, "AbortMultipartUpload") if e["status"] in (200, 204)], log)
        bucket = assets_bucket("us-east-1")
        self.assertIsNone(self.head(bucket, outcome["objectUrl"].split("/", 3)[3]))
        self.assertEqual(self.unfinished_uploads(bucket), [])

    def test_sigint_during_multipart_upload(self):
        """Ctrl-C once the endpoint has answered the first UploadPart: exit 130, no object and no
        unfinished upload. The first UploadPart is answered at once, every later one only after
        5 s (simulated latency, then a normal answer), so the upload is still under way when the
        signal comes; left alone it would complete."""
        app = self.variant(LARGE, key_prefix="interrupted/")
        self.inject({"service": "s3", "operation": "UploadPart", "status": None, "count": 1},
                    {"service": "s3", "operation": "UploadPart", "status": None, "delay_ms": 5000, "count": None})
        out, err = open(self.dir / "sigint.stdout", "w+"), open(self.dir / "sigint.stderr", "w+")
        self.addCleanup(out.close)
        self.addCleanup(err.close)
        proc = subprocess.Popen([BIN, "publish", "--json", "--path", str(app), LARGE], stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, env=self.env())

        def stop_leftover():
            if proc.poll() is None:
                proc.kill()
                proc.wait()

        self.addCleanup(stop_leftover)
        wait_for(lambda: self.s3_calls(self.log(), "UploadPart") or proc.poll() is not None, 90,
                 "the first UploadPart in the endpoint's log")
        self.assertIsNone(proc.poll(), "assetctl ended before the signal: exit %s\n%s" % (
            proc.returncode, Path(err.name).read_text()))
        os.kill(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=30)
        self.assertEqual(code, INTERRUPTED, Path(err.name).read_text())
        self.clear_injections()
        log = self.log()
        self.assertEqual(self.s3_calls(log, "CompleteMultipartUpload"), [])
        self.assertTrue(self.s3_calls(log, "AbortMultipartUpload"), log)
        bucket = assets_bucket("us-east-1")
        (target,) = [t for (a, _), t in file_targets(app).items() if a == LARGE]
        self.assertIsNone(self.head(bucket, target["key"]))
        self.assertEqual(self.unfinished_uploads(bucket), [])


if __name__ == "__main__":
    main()
