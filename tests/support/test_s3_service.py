"""Tests of S3 in the local endpoint (s3_service.py, wired in by ecr_endpoint.py and stack.py).

Clients are independent of assetctl: botocore's own S3 client (it signs; the endpoint verifies
with botocore's S3SigV4Auth on the server side), raw requests signed by botocore and sent with
http.client (chunked bodies, tampered payloads), and the Debian `aws` CLI (s3api and `s3 cp`).

Run: /usr/bin/python3 -m unittest test_s3_service   (in tests/support)
"""

import base64
import concurrent.futures
import contextlib
import datetime
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request
import xml.etree.ElementTree as ET
from unittest import mock
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import botocore.auth  # noqa: E402
except ImportError as err:   # the pyenv python3 first on PATH does not see Debian's botocore
    raise ImportError("run these tests with /usr/bin/python3 (Debian python3-botocore)") from err
import botocore.httpchecksum  # noqa: E402
import botocore.session  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError, ConnectionClosedError  # noqa: E402

import s3_service  # noqa: E402
import sigv4_verify  # noqa: E402
import stack  # noqa: E402

AWS_CLI = "/usr/bin/aws"
MIB = 1 << 20
NO_RETRY = Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"})
RETRY_3 = Config(retries={"total_max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"})
A, B = stack.ACCOUNT_A, stack.ACCOUNT_B
KMS_KEY = "arn:aws:kms:us-east-1:%s:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0" % A
EXTRA_BUCKETS = [
    {"name": "assetctl-aes-bucket", "encryption": "AES256"},
    {"name": "assetctl-plain-bucket", "encryption": "none"},
    {"name": "assetctl-kms-key-bucket", "encryption": {"kms": KMS_KEY}},
    {"name": "assetctl-hidden-encryption", "encryption": "AES256", "deny_get_encryption": True},
    {"name": "assetctl-foreign-bucket", "account": B},
    {"name": "assetctl-shared-bucket", "account": B, "allow_accounts": [A]},
    {"name": "assetctl-kms-only", "encryption": "aws:kms", "require_sse": "aws:kms"},
]
DENIED_KEY = "AKIAS3DENIEDTESTKEY1"
DENIED_SECRET = "s3-denied-secret"

STACK = None


def setUpModule():
    global STACK
    STACK = stack.Stack(buckets=EXTRA_BUCKETS, extra_config={"keys": {DENIED_KEY: {
        "secret": DENIED_SECRET, "account": A, "user": "limited", "deny": ["s3:PutObject"]}}})
    unittest.addModuleCleanup(STACK.stop)
    unittest.addModuleCleanup(close_clients)
    STACK.start()


def info():
    return STACK.info


def bootstrap_bucket(region="us-east-1", account=A):
    return "cdk-hnb659fds-assets-%s-%s" % (account, region)


_CLIENTS = {}


def close_clients():
    for made in _CLIENTS.values():
        made.close()
    _CLIENTS.clear()


def s3(region="us-east-1", key=None, secret=None, config=NO_RETRY, token=None, service="s3"):
    key = key or info()["keys"][0]
    secret = secret or key["secret_access_key"]
    cache_key = (service, key["access_key_id"], secret, region, id(config), token)
    if cache_key not in _CLIENTS:
        _CLIENTS[cache_key] = botocore.session.Session().create_client(
            service, endpoint_url=info()["endpoint_url"], region_name=region, aws_access_key_id=key["access_key_id"],
            aws_secret_access_key=secret, aws_session_token=token, config=config)
    return _CLIENTS[cache_key]


def trailer_client():
    """An S3 client that sends PutObject checksums as an aws-chunked trailer, as botocore does over
    https (STREAMING-UNSIGNED-PAYLOAD-TRAILER, Content-Encoding: aws-chunked, chunked transfer)."""
    made = botocore.session.Session().create_client(
        "s3", endpoint_url=info()["endpoint_url"], region_name="us-east-1",
        aws_access_key_id=info()["keys"][0]["access_key_id"],
        aws_secret_access_key=info()["keys"][0]["secret_access_key"], config=NO_RETRY)

    def checksum_in_trailer(context, **_):
        algorithm = context.get("checksum", {}).get("request_algorithm")
        if isinstance(algorithm, dict):
            algorithm["in"] = "trailer"

    made.meta.events.register("before-call.s3.PutObject", checksum_in_trailer)
    _CLIENTS[("trailer", id(made))] = made
    return made


class WrongSha256(botocore.httpchecksum.Sha256Checksum):
    def digest(self):
        return hashlib.sha256(b"not the body").digest()


def error_of(call):
    """(code, HTTP status, the whole Error dict) of the ClientError raised by call()."""
    try:
        call()
    except ClientError as err:
        return err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"], err.response["Error"]
    raise AssertionError("expected a ClientError")


def control(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(info()["endpoint_url"] + "/__control/" + path, data=data, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
    return json.loads(text) if resp.headers.get("Content-Type") == "application/json" else text


def log_entries(operation=None):
    entries = [json.loads(line) for line in control("GET", "log").splitlines() if line]
    return [e for e in entries if operation is None or e["operation"] == operation]


def b64_sha256(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def multipart_etag(parts):
    """S3's ETag of a multipart object, computed here independently: md5 of the parts' md5s, -N."""
    return '"%s-%d"' % (hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest(), len(parts))


def signed_raw_request(method, path, body, headers, region="us-east-1", signed_body=None, chunked=False):
    """Signs with botocore's S3SigV4Auth and sends with http.client -> (status, headers, body).
    signed_body: sign (x-amz-content-sha256) these bytes instead of body, a lie the server must
    catch; chunked sends the body with Transfer-Encoding: chunked in 64 KiB chunks."""
    key = info()["keys"][0]
    url = info()["endpoint_url"] + path
    request = AWSRequest(method=method, url=url, data=body if signed_body is None else signed_body,
                         headers=dict(headers))
    botocore.auth.S3SigV4Auth(Credentials(key["access_key_id"], key["secret_access_key"]), "s3",
                              region).add_auth(request)
    send_headers = dict(request.headers.items())
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        if chunked:
            send_headers["Transfer-Encoding"] = "chunked"
            conn.request(method, target, body=(body[i:i + 65536] for i in range(0, len(body), 65536)),
                         headers=send_headers, encode_chunked=True)
        else:
            conn.request(method, target, body=body, headers=send_headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def xml_code(body):
    return ET.fromstring(body).findtext("Code")


def run_cli(*args, check=True):
    env = dict(os.environ, **stack.client_env(info()))
    # aws-cli 2.9 ignores AWS_ENDPOINT_URL(_S3): the endpoint goes on the command line.
    result = subprocess.run([AWS_CLI, *args, "--endpoint-url", info()["env"]["AWS_ENDPOINT_URL_S3"]], env=env,
                            capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError("aws %s failed (%d): %s" % (" ".join(args), result.returncode, result.stderr))
    return result


def cli_json(*args):
    return json.loads(run_cli(*args).stdout or "{}")


@contextlib.contextmanager
def temp_dir():
    path = tempfile.mkdtemp(prefix="s3-test-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def unfinished_uploads(bucket):
    return s3().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


class S3VerifierTest(unittest.TestCase):
    """sigv4_verify.verify_s3_request against botocore's S3 signer, offline."""

    def sign(self, path, body=b"", region="us-east-1"):
        key = {"access_key_id": "AKIDEXAMPLE", "secret_access_key": "secret"}
        request = AWSRequest(method="PUT", url="http://127.0.0.1:9/" + path.lstrip("/"), data=body,
                             headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
        botocore.auth.S3SigV4Auth(Credentials(key["access_key_id"], key["secret_access_key"]), "s3",
                                  region).add_auth(request)
        headers = sigv4_verify.headers_from_pairs(list(request.headers.items()) + [("Host", "127.0.0.1:9")])
        return urlsplit(request.url), headers

    def verify(self, parts, headers, secret="secret"):
        return sigv4_verify.verify_s3_request(
            "PUT", parts.path, parts.query, headers, now=0, check_clock=False,
            lookup=lambda _k: sigv4_verify.Secret(secret))

    def test_s3_paths_are_not_normalised(self):
        # SigV4Auth (non-S3) would collapse '//' and '..'; S3 signs the path as sent.
        parts, headers = self.sign("/bucket/a//b/../c%20d.txt", b"body")
        verified = self.verify(parts, headers)
        self.assertIn("\n/bucket/a//b/../c%20d.txt\n", verified.canonical_request)
        self.assertEqual(verified.payload_hash, hashlib.sha256(b"body").hexdigest())

    def test_wrong_secret_is_a_mismatch_with_the_canonical_request(self):
        parts, headers = self.sign("/bucket/key")
        with self.assertRaises(sigv4_verify.SigV4Error) as caught:
            self.verify(parts, headers, secret="other")
        self.assertEqual(caught.exception.kind, sigv4_verify.MISMATCH)
        self.assertTrue(caught.exception.canonical_request.startswith("PUT\n/bucket/key\n"))

    def test_missing_content_sha256_is_refused(self):
        parts, headers = self.sign("/bucket/key")
        del headers["x-amz-content-sha256"]
        with self.assertRaises(sigv4_verify.SigV4Error) as caught:
            self.verify(parts, headers)
        self.assertEqual(caught.exception.kind, sigv4_verify.MISSING_CONTENT_SHA256)


class StackS3Test(unittest.TestCase):
    def test_info_names_every_bucket_and_the_data_dir(self):
        buckets = info()["s3"]["buckets"]
        for region in info()["regions"]:
            spec = buckets[bootstrap_bucket(region)]
            self.assertEqual((spec["account"], spec["region"], spec["encryption"]), (A, region, {"kms": None}))
        self.assertEqual(buckets["assetctl-foreign-bucket"]["account"], B)
        self.assertEqual(buckets["assetctl-aes-bucket"]["region"], "us-east-1")
        self.assertTrue(os.path.isdir(info()["s3"]["data_dir"]))
        self.assertEqual(info()["env"]["AWS_ENDPOINT_URL_S3"], info()["endpoint_url"])

    def test_file_publishing_roles_exist_for_both_accounts(self):
        for account in (A, B):
            role = "arn:aws:iam::{0}:role/cdk-hnb659fds-file-publishing-role-{0}-us-west-2".format(account)
            self.assertIn(role, info()["roles"])

    def test_buckets_json_option(self):
        self.assertEqual(stack._bucket_list('[{"name": "x-bucket"}]'), [{"name": "x-bucket"}])
        self.assertEqual(stack._bucket_list(None), [])


class BucketTest(unittest.TestCase):
    def test_location_is_empty_for_us_east_1_and_the_region_elsewhere(self):
        self.assertIsNone(s3().get_bucket_location(Bucket=bootstrap_bucket(), ExpectedBucketOwner=A)
                          ["LocationConstraint"])
        self.assertEqual(s3("us-west-2").get_bucket_location(Bucket=bootstrap_bucket("us-west-2"))
                         ["LocationConstraint"], "us-west-2")

    def test_encryption_configurations(self):
        def rule(bucket):
            config = s3().get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
            return config["Rules"][0]["ApplyServerSideEncryptionByDefault"]

        self.assertEqual(rule(bootstrap_bucket()), {"SSEAlgorithm": "aws:kms"})
        self.assertEqual(rule("assetctl-aes-bucket"), {"SSEAlgorithm": "AES256"})
        self.assertEqual(rule("assetctl-kms-key-bucket"), {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY})
        code, status, _ = error_of(lambda: s3().get_bucket_encryption(Bucket="assetctl-plain-bucket"))
        self.assertEqual((code, status), ("ServerSideEncryptionConfigurationNotFoundError", 404))
        code, status, _ = error_of(lambda: s3().get_bucket_encryption(Bucket="assetctl-hidden-encryption"))
        self.assertEqual((code, status), ("AccessDenied", 403))

    def test_unknown_bucket_is_404_no_such_bucket(self):
        code, status, error = error_of(lambda: s3().list_objects_v2(Bucket="assetctl-no-such-bucket"))
        self.assertEqual((code, status, error.get("BucketName")), ("NoSuchBucket", 404, "assetctl-no-such-bucket"))

    def test_wrong_expected_bucket_owner_is_403(self):
        for call in (lambda: s3().get_bucket_location(Bucket=bootstrap_bucket(), ExpectedBucketOwner=B),
                     lambda: s3().put_object(Bucket=bootstrap_bucket(), Key="owner/x", Body=b"x",
                                             ExpectedBucketOwner=B)):
            code, status, _ = error_of(call)
            self.assertEqual((code, status), ("AccessDenied", 403))
        self.assertEqual(s3().list_objects_v2(Bucket=bootstrap_bucket(), Prefix="owner/")["KeyCount"], 0)

    def test_other_accounts_bucket_is_403_unless_granted(self):
        code, status, _ = error_of(lambda: s3().list_objects_v2(Bucket="assetctl-foreign-bucket"))
        self.assertEqual((code, status), ("AccessDenied", 403))
        s3().put_object(Bucket="assetctl-shared-bucket", Key="granted", Body=b"ok")
        self.assertEqual(s3().get_object(Bucket="assetctl-shared-bucket", Key="granted")["Body"].read(), b"ok")
        code, status, _ = error_of(lambda: s3().put_object(Bucket="assetctl-shared-bucket", Key="g2", Body=b"x",
                                                           ExpectedBucketOwner=A))
        self.assertEqual((code, status), ("AccessDenied", 403))

    def test_request_signed_for_another_region_names_the_bucket_region(self):
        status, headers, body = signed_raw_request("GET", "/%s?list-type=2" % bootstrap_bucket("us-west-2"), b"", {},
                                                   region="eu-west-1")
        self.assertEqual((status, xml_code(body)), (400, "AuthorizationHeaderMalformed"))
        self.assertEqual(ET.fromstring(body).findtext("Region"), "us-west-2")
        self.assertEqual(headers["x-amz-bucket-region"], "us-west-2")

    def test_denied_action_is_403(self):
        limited = {"access_key_id": DENIED_KEY, "secret_access_key": DENIED_SECRET}
        code, status, _ = error_of(lambda: s3(key=limited).put_object(Bucket=bootstrap_bucket(), Key="d", Body=b"x"))
        self.assertEqual((code, status), ("AccessDenied", 403))
        s3(key=limited).list_objects_v2(Bucket=bootstrap_bucket(), Prefix="d")     # other actions still work


class ObjectTest(unittest.TestCase):
    def test_put_head_get_with_bucket_default_kms(self):
        data = os.urandom(100_000)
        put = s3().put_object(Bucket=bootstrap_bucket(), Key="objects/a.zip", Body=data, ContentType="application/zip",
                              ChecksumSHA256=b64_sha256(data), ExpectedBucketOwner=A)
        self.assertEqual(put["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
        head = s3().head_object(Bucket=bootstrap_bucket(), Key="objects/a.zip", ChecksumMode="ENABLED")
        self.assertEqual((head["ContentLength"], head["ContentType"], head["ServerSideEncryption"]),
                         (len(data), "application/zip", "aws:kms"))
        self.assertEqual(head["SSEKMSKeyId"], s3_service.aws_managed_kms_key(A, "us-east-1"))
        self.assertEqual(head["ChecksumSHA256"], b64_sha256(data))
        self.assertEqual(s3().get_object(Bucket=bootstrap_bucket(), Key="objects/a.zip")["Body"].read(), data)
        with open(s3_service.object_file(info()["s3"]["data_dir"], bootstrap_bucket(), "objects/a.zip"), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_explicit_encryption_headers_win_and_are_echoed(self):
        put = s3().put_object(Bucket="assetctl-plain-bucket", Key="sse/kms", Body=b"k", ServerSideEncryption="aws:kms",
                              SSEKMSKeyId=KMS_KEY)
        self.assertEqual((put["ServerSideEncryption"], put["SSEKMSKeyId"]), ("aws:kms", KMS_KEY))
        head = s3().head_object(Bucket="assetctl-plain-bucket", Key="sse/kms")
        self.assertEqual((head["ServerSideEncryption"], head["SSEKMSKeyId"]), ("aws:kms", KMS_KEY))
        s3().put_object(Bucket=bootstrap_bucket(), Key="sse/aes", Body=b"a", ServerSideEncryption="AES256")
        head = s3().head_object(Bucket=bootstrap_bucket(), Key="sse/aes")
        self.assertEqual(head["ServerSideEncryption"], "AES256")
        self.assertNotIn("SSEKMSKeyId", head)
        s3().put_object(Bucket="assetctl-plain-bucket", Key="sse/none", Body=b"n")
        self.assertNotIn("ServerSideEncryption", s3().head_object(Bucket="assetctl-plain-bucket", Key="sse/none"))
        code, status, _ = error_of(lambda: s3().put_object(Bucket=bootstrap_bucket(), Key="sse/bad", Body=b"b",
                                                           ServerSideEncryption="rot13"))
        self.assertEqual((code, status), ("InvalidArgument", 400))

    def test_required_sse_header_and_the_log_of_what_was_requested(self):
        code, status, _ = error_of(lambda: s3().put_object(Bucket="assetctl-kms-only", Key="req/none", Body=b"x"))
        self.assertEqual((code, status), ("AccessDenied", 403))
        code, status, _ = error_of(lambda: s3().create_multipart_upload(Bucket="assetctl-kms-only", Key="req/mp",
                                                                        ServerSideEncryption="AES256"))
        self.assertEqual((code, status), ("AccessDenied", 403))
        s3().put_object(Bucket="assetctl-kms-only", Key="req/kms", Body=b"x", ServerSideEncryption="aws:kms")
        requested = [(e["status"], e["sse_requested"]) for e in log_entries()
                     if e.get("bucket") == "assetctl-kms-only"]
        self.assertEqual(requested[-3:], [(403, None), (403, "AES256"), (200, "aws:kms")])

    def test_request_time_too_skewed(self):
        with client_clock(-16 * 60):
            code, status, _ = error_of(lambda: s3(config=Config(retries={"total_max_attempts": 1}))
                                       .list_objects_v2(Bucket=bootstrap_bucket()))
        self.assertEqual((code, status), ("RequestTimeTooSkewed", 403))
        with client_clock(-14 * 60):
            s3(config=Config(retries={"total_max_attempts": 1})).list_objects_v2(Bucket=bootstrap_bucket())

    def test_list_objects_v2_sorted_with_prefix_max_keys_and_pages(self):
        bucket = "assetctl-aes-bucket"
        for key in ("list/b", "list/a", "list/c/d", "list/c/e", "lis", "list/a+b c"):
            s3().put_object(Bucket=bucket, Key=key, Body=key.encode())
        first = s3().list_objects_v2(Bucket=bucket, Prefix="list/", MaxKeys=1)
        self.assertEqual([(o["Key"], o["Size"]) for o in first["Contents"]], [("list/a", 6)])
        self.assertEqual(first["Contents"][0]["ETag"], '"%s"' % hashlib.md5(b"list/a").hexdigest())
        self.assertTrue(first["IsTruncated"])
        keys, token = [], None
        while True:
            page = s3().list_objects_v2(Bucket=bucket, Prefix="list/", MaxKeys=2,
                                        **({"ContinuationToken": token} if token else {}))
            keys += [o["Key"] for o in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not token:
                break
        self.assertEqual(keys, ["list/a", "list/a+b c", "list/b", "list/c/d", "list/c/e"])
        grouped = s3().list_objects_v2(Bucket=bucket, Prefix="list/", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in grouped["CommonPrefixes"]], ["list/c/"])
        self.assertEqual(s3().list_objects_v2(Bucket=bucket, Prefix="list/zzz")["KeyCount"], 0)

    def test_range_get_and_missing_key(self):
        data = bytes(range(256)) * 4
        s3().put_object(Bucket=bootstrap_bucket(), Key="range/x", Body=data)
        part = s3().get_object(Bucket=bootstrap_bucket(), Key="range/x", Range="bytes=10-19")
        self.assertEqual((part["Body"].read(), part["ContentRange"]), (data[10:20], "bytes 10-19/1024"))
        code, status, _ = error_of(lambda: s3().get_object(Bucket=bootstrap_bucket(), Key="range/none"))
        self.assertEqual((code, status), ("NoSuchKey", 404))
        code, status, _ = error_of(lambda: s3().head_object(Bucket=bootstrap_bucket(), Key="range/none"))
        self.assertEqual(status, 404)
        s3().delete_object(Bucket=bootstrap_bucket(), Key="range/x")
        self.assertEqual(error_of(lambda: s3().get_object(Bucket=bootstrap_bucket(), Key="range/x"))[0], "NoSuchKey")

    def test_chunked_body_is_stored(self):
        data = os.urandom(300_000)
        status, headers, body = signed_raw_request("PUT", "/%s/chunked/x" % bootstrap_bucket(), data,
                                                   {"x-amz-checksum-sha256": b64_sha256(data)}, chunked=True)
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["etag"], '"%s"' % hashlib.md5(data).hexdigest())
        self.assertEqual(s3().get_object(Bucket=bootstrap_bucket(), Key="chunked/x")["Body"].read(), data)

    def test_aws_chunked_body_with_a_trailer_checksum(self):
        data = os.urandom(3 * MIB + 17)
        put = trailer_client().put_object(Bucket=bootstrap_bucket(), Key="trailer/ok", Body=data,
                                          ChecksumAlgorithm="SHA256")
        self.assertEqual(put["ChecksumSHA256"], b64_sha256(data))
        entry = log_entries("PutObject")[-1]
        self.assertEqual((entry["payload_hash"], entry["bytes"]), ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", len(data)))
        self.assertEqual(s3().get_object(Bucket=bootstrap_bucket(), Key="trailer/ok")["Body"].read(), data)
        with mock.patch.dict(botocore.httpchecksum._CHECKSUM_CLS, {"sha256": WrongSha256}):
            code, status, _ = error_of(lambda: trailer_client().put_object(
                Bucket=bootstrap_bucket(), Key="trailer/bad", Body=data, ChecksumAlgorithm="SHA256"))
        self.assertEqual((code, status), ("BadDigest", 400))
        self.assertEqual(s3().list_objects_v2(Bucket=bootstrap_bucket(), Prefix="trailer/bad")["KeyCount"], 0)

    def test_assumed_role_session_reaches_its_accounts_bucket_only(self):
        role = "arn:aws:iam::{0}:role/cdk-hnb659fds-file-publishing-role-{0}-us-east-1".format(B)
        creds = s3(service="sts").assume_role(RoleArn=role, RoleSessionName="files")["Credentials"]
        session = s3(key={"access_key_id": creds["AccessKeyId"], "secret_access_key": creds["SecretAccessKey"]},
                     token=creds["SessionToken"])
        session.put_object(Bucket="assetctl-foreign-bucket", Key="session/x", Body=b"from B", ExpectedBucketOwner=B)
        self.assertEqual(log_entries("PutObject")[-1]["principal_arn"],
                         "arn:aws:sts::%s:assumed-role/cdk-hnb659fds-file-publishing-role-%s-us-east-1/files" % (B, B))
        code, status, _ = error_of(lambda: session.list_objects_v2(Bucket=bootstrap_bucket()))
        self.assertEqual((code, status), ("AccessDenied", 403))
        wrong_token = s3(key={"access_key_id": creds["AccessKeyId"], "secret_access_key": creds["SecretAccessKey"]},
                         token=creds["SessionToken"][:-4] + "AAAA")
        code, status, _ = error_of(lambda: wrong_token.list_objects_v2(Bucket="assetctl-foreign-bucket"))
        self.assertEqual((code, status), ("InvalidToken", 400))

    def test_put_without_content_length_is_411(self):
        status, _, body = signed_raw_request("PUT", "/%s/nolength" % bootstrap_bucket(), b"", {})
        self.assertEqual(status, 200)                # an empty body with Content-Length: 0 is fine
        key = info()["keys"][0]
        request = AWSRequest(method="PUT", url=info()["endpoint_url"] + "/%s/nolength2" % bootstrap_bucket(),
                             data=b"")
        botocore.auth.S3SigV4Auth(Credentials(key["access_key_id"], key["secret_access_key"]), "s3",
                                  "us-east-1").add_auth(request)
        parts = urlsplit(request.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            conn.putrequest("PUT", parts.path, skip_accept_encoding=True)
            for name, value in request.headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            resp = conn.getresponse()
            self.assertEqual((resp.status, xml_code(resp.read())), (411, "MissingContentLength"))
        finally:
            conn.close()

    def test_bad_signature_is_403_signature_does_not_match(self):
        wrong = {"access_key_id": info()["keys"][0]["access_key_id"], "secret_access_key": "not-the-secret"}
        code, status, error = error_of(lambda: s3(key=wrong).put_object(Bucket=bootstrap_bucket(), Key="sig",
                                                                         Body=b"x"))
        self.assertEqual((code, status), ("SignatureDoesNotMatch", 403))
        self.assertIn("CanonicalRequest", error)
        self.assertEqual(s3().list_objects_v2(Bucket=bootstrap_bucket(), Prefix="sig")["KeyCount"], 0)

    def test_wrong_content_sha256_is_refused_and_nothing_stored(self):
        data = b"the real body"
        status, _, body = signed_raw_request("PUT", "/%s/sha/x" % bootstrap_bucket(), data, {},
                                             signed_body=b"another body")
        self.assertEqual((status, xml_code(body)), (400, "XAmzContentSHA256Mismatch"))
        self.assertEqual(s3().list_objects_v2(Bucket=bootstrap_bucket(), Prefix="sha/")["KeyCount"], 0)
        self.assertEqual(os.listdir(os.path.join(info()["s3"]["data_dir"], bootstrap_bucket(), "tmp")), [])

    def test_wrong_checksum_sha256_is_bad_digest(self):
        code, status, _ = error_of(lambda: s3().put_object(Bucket=bootstrap_bucket(), Key="digest/x", Body=b"abc",
                                                           ChecksumSHA256=b64_sha256(b"abd")))
        self.assertEqual((code, status), ("BadDigest", 400))
        self.assertEqual(s3().list_objects_v2(Bucket=bootstrap_bucket(), Prefix="digest/")["KeyCount"], 0)


class MultipartTest(unittest.TestCase):
    bucket = "assetctl-kms-key-bucket"

    def upload_parts(self, key, parts, checksum=True):
        created = s3().create_multipart_upload(Bucket=self.bucket, Key=key, ContentType="application/zip",
                                               **({"ChecksumAlgorithm": "SHA256"} if checksum else {}))
        upload_id = created["UploadId"]
        done = []
        for number, data in enumerate(parts, 1):
            extra = {"ChecksumAlgorithm": "SHA256"} if checksum else {}
            answer = s3().upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data,
                                      **extra)
            part = {"PartNumber": number, "ETag": answer["ETag"]}
            if checksum:
                self.assertEqual(answer["ChecksumSHA256"], b64_sha256(data))
                part["ChecksumSHA256"] = answer["ChecksumSHA256"]
            done.append(part)
        return upload_id, done

    def complete(self, key, upload_id, parts):
        return s3().complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                              MultipartUpload={"Parts": parts})

    def test_complete_assembles_the_parts_and_hides_them_until_then(self):
        parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"last bytes"]
        upload_id, done = self.upload_parts("mp/full.zip", parts)
        self.assertEqual(s3().list_objects_v2(Bucket=self.bucket, Prefix="mp/full.zip")["KeyCount"], 0)
        self.assertIn(upload_id, [u["UploadId"] for u in unfinished_uploads(self.bucket)])
        listed = s3().list_parts(Bucket=self.bucket, Key="mp/full.zip", UploadId=upload_id)["Parts"]
        self.assertEqual([(p["PartNumber"], p["Size"]) for p in listed], [(1, 5 * MIB), (2, 5 * MIB), (3, 10)])
        answer = self.complete("mp/full.zip", upload_id, done)
        self.assertEqual(answer["ETag"], multipart_etag(parts))
        composite = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).digest()
        self.assertEqual(answer["ChecksumSHA256"], base64.b64encode(composite).decode() + "-3")
        head = s3().head_object(Bucket=self.bucket, Key="mp/full.zip")
        self.assertEqual((head["ContentLength"], head["ContentType"], head["SSEKMSKeyId"]),
                         (len(b"".join(parts)), "application/zip", KMS_KEY))
        self.assertEqual(hashlib.sha256(s3().get_object(Bucket=self.bucket, Key="mp/full.zip")["Body"].read())
                         .digest(), hashlib.sha256(b"".join(parts)).digest())
        self.assertNotIn(upload_id, [u["UploadId"] for u in unfinished_uploads(self.bucket)])

    def test_parts_in_parallel(self):
        parts = [os.urandom(5 * MIB) for _ in range(5)] + [b"end"]
        created = s3().create_multipart_upload(Bucket=self.bucket, Key="mp/parallel", ChecksumAlgorithm="SHA256")

        def send(number):
            answer = s3().upload_part(Bucket=self.bucket, Key="mp/parallel", UploadId=created["UploadId"],
                                      PartNumber=number, Body=parts[number - 1], ChecksumAlgorithm="SHA256")
            return {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": answer["ChecksumSHA256"]}

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            done = list(pool.map(send, range(len(parts), 0, -1)))[::-1]
        self.assertEqual(self.complete("mp/parallel", created["UploadId"], done)["ETag"], multipart_etag(parts))
        body = s3().get_object(Bucket=self.bucket, Key="mp/parallel")["Body"].read()
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(b"".join(parts)).digest())

    def test_small_middle_part_is_entity_too_small(self):
        upload_id, done = self.upload_parts("mp/small", [b"x" * 1000, b"y" * 1000], checksum=False)
        code, status, error = error_of(lambda: self.complete("mp/small", upload_id, done))
        self.assertEqual((code, status, error.get("PartNumber")), ("EntityTooSmall", 400, "1"))
        # The upload is still there after a failed completion, as in S3; abort drops it.
        self.assertIn(upload_id, [u["UploadId"] for u in unfinished_uploads(self.bucket)])
        s3().abort_multipart_upload(Bucket=self.bucket, Key="mp/small", UploadId=upload_id)
        self.assertNotIn(upload_id, [u["UploadId"] for u in unfinished_uploads(self.bucket)])

    def test_part_list_is_checked(self):
        upload_id, done = self.upload_parts("mp/checks", [os.urandom(5 * MIB), b"end"])
        cases = [
            ("InvalidPartOrder", list(reversed(done))),
            ("InvalidPart", [done[0], dict(done[1], ETag='"%s"' % ("0" * 32))]),
            ("InvalidPart", [done[0], dict(done[1], ChecksumSHA256=b64_sha256(b"other"))]),
            ("InvalidRequest", [done[0], {k: v for k, v in done[1].items() if k != "ChecksumSHA256"}]),
            ("InvalidPart", [done[0], dict(done[1], PartNumber=3)]),
        ]
        for expected, parts in cases:
            with self.subTest(expected=expected, parts=parts):
                code, status, _ = error_of(lambda: self.complete("mp/checks", upload_id, parts))
                self.assertEqual((code, status), (expected, 400))
        self.complete("mp/checks", upload_id, done)
        self.assertEqual(s3().head_object(Bucket=self.bucket, Key="mp/checks")["ContentLength"], 5 * MIB + 3)

    def test_part_without_the_uploads_checksum_is_refused(self):
        created = s3().create_multipart_upload(Bucket=self.bucket, Key="mp/nocheck", ChecksumAlgorithm="SHA256")
        code, status, _ = error_of(lambda: s3().upload_part(Bucket=self.bucket, Key="mp/nocheck", PartNumber=1,
                                                            UploadId=created["UploadId"], Body=b"x"))
        self.assertEqual((code, status), ("InvalidRequest", 400))
        s3().abort_multipart_upload(Bucket=self.bucket, Key="mp/nocheck", UploadId=created["UploadId"])

    def test_abort_drops_the_parts(self):
        upload_id, _ = self.upload_parts("mp/aborted", [b"a" * 1000])
        upload_dir = os.path.join(info()["s3"]["data_dir"], self.bucket, "uploads", upload_id)
        self.assertTrue(os.path.isdir(upload_dir))
        s3().abort_multipart_upload(Bucket=self.bucket, Key="mp/aborted", UploadId=upload_id)
        self.assertFalse(os.path.exists(upload_dir))
        code, status, _ = error_of(lambda: s3().upload_part(Bucket=self.bucket, Key="mp/aborted", PartNumber=2,
                                                            UploadId=upload_id, Body=b"late",
                                                            ChecksumAlgorithm="SHA256"))
        self.assertEqual((code, status), ("NoSuchUpload", 404))
        self.assertEqual(error_of(lambda: s3().abort_multipart_upload(Bucket=self.bucket, Key="mp/aborted",
                                                                      UploadId=upload_id))[0], "NoSuchUpload")
        self.assertEqual(s3().list_objects_v2(Bucket=self.bucket, Prefix="mp/aborted")["KeyCount"], 0)

    def test_a_50_mib_part_streams_to_disk(self):
        pid = info()["pids"]["endpoint"]
        before = peak_rss_kib(pid)
        data = os.urandom(50 * MIB)
        upload_id, done = self.upload_parts("mp/fifty", [data])
        self.complete("mp/fifty", upload_id, done)
        self.assertEqual(s3().head_object(Bucket=self.bucket, Key="mp/fifty")["ContentLength"], 50 * MIB)
        grown_mib = (peak_rss_kib(pid) - before) / 1024
        self.assertLess(grown_mib, 20, "the endpoint held the body in memory (peak RSS +%.0f MiB)" % grown_mib)


@contextlib.contextmanager
def client_clock(offset_seconds):
    """Make botocore's signer believe the time is now+offset (a client with a skewed clock)."""
    real = datetime.datetime

    class Skewed(real):
        @classmethod
        def utcnow(cls):
            return real.utcnow() + datetime.timedelta(seconds=offset_seconds)

        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + datetime.timedelta(seconds=offset_seconds)

    with mock.patch.object(botocore.auth.datetime, "datetime", Skewed):
        yield


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for pid %d" % pid)


class InjectionTest(unittest.TestCase):
    def setUp(self):
        control("DELETE", "inject")
        control("DELETE", "log")

    def tearDown(self):
        control("DELETE", "inject")

    def test_slow_down_twice_then_the_retry_succeeds(self):
        control("POST", "inject", {"service": "s3", "operation": "PutObject", "status": 503, "code": "SlowDown",
                                   "count": 2})
        s3(config=RETRY_3).put_object(Bucket=bootstrap_bucket(), Key="inject/slow", Body=b"eventually")
        puts = log_entries("PutObject")
        self.assertEqual([(e["status"], e["error_code"], e["injected"]) for e in puts],
                         [(503, "SlowDown", True), (503, "SlowDown", True), (200, None, False)])
        self.assertEqual(s3().get_object(Bucket=bootstrap_bucket(), Key="inject/slow")["Body"].read(), b"eventually")

    def test_permanent_upload_part_failure_then_abort_leaves_nothing(self):
        control("POST", "inject", {"service": "s3", "operation": "UploadPart", "status": 500, "count": None})
        created = s3().create_multipart_upload(Bucket=bootstrap_bucket(), Key="inject/mp", ChecksumAlgorithm="SHA256")
        for number in (1, 2):
            code, status, _ = error_of(lambda: s3().upload_part(
                Bucket=bootstrap_bucket(), Key="inject/mp", UploadId=created["UploadId"], PartNumber=number,
                Body=os.urandom(MIB), ChecksumAlgorithm="SHA256"))
            self.assertEqual((code, status), ("InternalError", 500))
        s3().abort_multipart_upload(Bucket=bootstrap_bucket(), Key="inject/mp", UploadId=created["UploadId"])
        self.assertEqual(unfinished_uploads(bootstrap_bucket()), [])
        self.assertEqual(s3().list_objects_v2(Bucket=bootstrap_bucket(), Prefix="inject/mp")["KeyCount"], 0)
        self.assertEqual(len(log_entries("UploadPart")), 2)

    def test_drop_closes_the_connection_and_a_delay_only_rule_passes(self):
        control("POST", "inject", {"service": "s3", "op": "HeadBucket", "drop": True})
        with self.assertRaises(ConnectionClosedError):
            s3().head_bucket(Bucket=bootstrap_bucket())
        control("POST", "inject", {"service": "s3", "op": "HeadBucket", "status": None, "delay_ms": 10})
        s3().head_bucket(Bucket=bootstrap_bucket())
        self.assertEqual([(e["status"], e["injected"]) for e in log_entries("HeadBucket")], [(0, True), (200, True)])

    def test_log_names_bucket_key_and_bytes(self):
        s3().put_object(Bucket=bootstrap_bucket(), Key="inject/logged", Body=b"12345")
        entry = log_entries("PutObject")[-1]
        self.assertEqual((entry["service"], entry["bucket"], entry["key"], entry["bytes"], entry["account"],
                          entry["signature_verified"]), ("s3", bootstrap_bucket(), "inject/logged", 5, A, True))


@unittest.skipUnless(os.path.exists(AWS_CLI), "Debian awscli not installed")
class AwsCliTest(unittest.TestCase):
    def test_s3api_round_trip(self):
        bucket = bootstrap_bucket("us-west-2")
        with temp_dir() as tmp:
            source = os.path.join(tmp, "template.json")
            with open(source, "wb") as handle:
                handle.write(b'{"Resources": {}}')
            put = cli_json("s3api", "put-object", "--bucket", bucket, "--key", "cli/template.json", "--body", source,
                           "--content-type", "application/json", "--region", "us-west-2",
                           "--expected-bucket-owner", A)
            self.assertEqual(put["ServerSideEncryption"], "aws:kms")
            head = cli_json("s3api", "head-object", "--bucket", bucket, "--key", "cli/template.json",
                            "--region", "us-west-2")
            self.assertEqual((head["ContentLength"], head["ContentType"]), (17, "application/json"))
            back = os.path.join(tmp, "back.json")
            cli_json("s3api", "get-object", "--bucket", bucket, "--key", "cli/template.json", back,
                     "--region", "us-west-2")
            with open(back, "rb") as handle:
                self.assertEqual(handle.read(), b'{"Resources": {}}')
            listed = cli_json("s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "cli/", "--region",
                              "us-west-2")
            self.assertEqual([o["Key"] for o in listed["Contents"]], ["cli/template.json"])

    def test_s3api_multipart_and_abort(self):
        bucket = "assetctl-aes-bucket"
        with temp_dir() as tmp:
            parts = [os.urandom(5 * MIB), b"tail"]
            paths = []
            for number, data in enumerate(parts, 1):
                paths.append(os.path.join(tmp, "part%d" % number))
                with open(paths[-1], "wb") as handle:
                    handle.write(data)
            upload_id = cli_json("s3api", "create-multipart-upload", "--bucket", bucket, "--key", "cli/mp")["UploadId"]
            listed = cli_json("s3api", "list-multipart-uploads", "--bucket", bucket, "--prefix", "cli/")
            self.assertEqual([u["UploadId"] for u in listed["Uploads"]], [upload_id])
            done = [{"PartNumber": n, "ETag": cli_json("s3api", "upload-part", "--bucket", bucket, "--key", "cli/mp",
                                                        "--upload-id=" + upload_id, "--part-number", str(n), "--body",
                                                        path)["ETag"]} for n, path in enumerate(paths, 1)]
            manifest = os.path.join(tmp, "parts.json")
            with open(manifest, "w") as handle:
                json.dump({"Parts": done}, handle)
            answer = cli_json("s3api", "complete-multipart-upload", "--bucket", bucket, "--key", "cli/mp",
                              "--upload-id=" + upload_id, "--multipart-upload", "file://" + manifest)
            self.assertEqual(answer["ETag"], multipart_etag(parts))
            other = cli_json("s3api", "create-multipart-upload", "--bucket", bucket, "--key", "cli/gone")["UploadId"]
            run_cli("s3api", "abort-multipart-upload", "--bucket", bucket, "--key", "cli/gone", "--upload-id=" + other)
            listed = cli_json("s3api", "list-multipart-uploads", "--bucket", bucket, "--prefix", "cli/")
            self.assertNotIn("Uploads", listed)

    def test_s3_cp_of_20_mib_goes_multipart(self):
        with temp_dir() as tmp:
            source = os.path.join(tmp, "bundle.zip")
            data = os.urandom(20 * MIB)
            with open(source, "wb") as handle:
                handle.write(data)
            control("DELETE", "log")
            run_cli("s3", "cp", source, "s3://%s/cli/bundle.zip" % bootstrap_bucket(), "--only-show-errors")
            self.assertGreaterEqual(len(log_entries("UploadPart")), 2)
            head = cli_json("s3api", "head-object", "--bucket", bootstrap_bucket(), "--key", "cli/bundle.zip")
            self.assertEqual(head["ContentLength"], len(data))
            self.assertRegex(head["ETag"], r'^"[0-9a-f]{32}-\d+"$')
            back = os.path.join(tmp, "back.zip")
            run_cli("s3", "cp", "s3://%s/cli/bundle.zip" % bootstrap_bucket(), back, "--only-show-errors")
            with open(back, "rb") as handle:
                self.assertEqual(hashlib.sha256(handle.read()).digest(), hashlib.sha256(data).digest())

    def test_stack_exec_with_buckets_json(self):
        buckets = json.dumps([{"name": "assetctl-exec-bucket", "encryption": "AES256", "region": "eu-west-1"}])
        script = ('aws s3api get-bucket-encryption --endpoint-url "$AWS_ENDPOINT_URL_S3" --region eu-west-1 '
                  '--bucket assetctl-exec-bucket')
        env = dict(os.environ, PATH="/usr/bin:" + os.environ.get("PATH", ""))
        result = subprocess.run([sys.executable, os.path.join(HERE, "stack.py"), "exec", "--buckets-json", buckets,
                                 "--", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        rule = json.loads(result.stdout)["ServerSideEncryptionConfiguration"]["Rules"][0]
        self.assertEqual(rule["ApplyServerSideEncryptionByDefault"], {"SSEAlgorithm": "AES256"})

    def test_cli_sees_errors(self):
        result = run_cli("s3api", "head-object", "--bucket", "assetctl-no-such-bucket", "--key", "x", check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("404", result.stderr)


if __name__ == "__main__":
    unittest.main()
