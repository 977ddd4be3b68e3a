"""Tests of the test infrastructure itself: registry.py, ecr_endpoint.py, stack.py.

Clients here are independent of assetctl: botocore's own ECR/STS clients (they sign, the
endpoint verifies with botocore's SigV4 code path on the server side), the Debian `aws` CLI,
skopeo, and plain urllib against the real TLS registry.

Run: /usr/bin/python3 -m unittest discover -s tests/support -p 'test_*.py'
"""

import base64
import concurrent.futures
import contextlib
import datetime
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import botocore.auth  # noqa: E402
except ImportError as err:   # the pyenv python3 first on PATH does not see Debian's botocore
    raise ImportError("run these tests with /usr/bin/python3 (Debian python3-botocore)") from err
import botocore.session  # noqa: E402
from botocore import UNSIGNED  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError  # noqa: E402

import ecr_endpoint  # noqa: E402
import oci_image  # noqa: E402
import registry  # noqa: E402
import sigv4_verify  # noqa: E402
import stack  # noqa: E402

AWS_CLI = "/usr/bin/aws"          # Debian awscli; the pyenv shim first on PATH is a different one
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
VECTORS = os.path.join(HERE, "..", "..", "..", "shared", "testdata", "sigv4", "aws-c-auth", "v4")
NO_RETRY = Config(retries={"total_max_attempts": 1})

STACK = None   # one shared stack for the endpoint tests (module fixture)


def setUpModule():
    global STACK
    STACK = stack.Stack()
    unittest.addModuleCleanup(STACK.stop)   # runs even if start() fails half-way
    unittest.addModuleCleanup(close_clients)
    STACK.start()


def info():
    return STACK.info


_CLIENTS = {}


def close_clients():
    for made in _CLIENTS.values():
        made.close()
    _CLIENTS.clear()


def client(service, key=None, region="us-east-1", config=NO_RETRY, token=None, secret=None):
    """A botocore client with static credentials (cached; closed at module teardown)."""
    key = key or info()["keys"][0]
    secret = secret or key["secret_access_key"]
    cache_key = (service, key["access_key_id"], secret, region, token, id(config))
    if cache_key not in _CLIENTS:
        _CLIENTS[cache_key] = botocore.session.Session().create_client(
            service, endpoint_url=info()["endpoint_url"], region_name=region,
            aws_access_key_id=key["access_key_id"], aws_secret_access_key=secret,
            aws_session_token=token, config=config)
    return _CLIENTS[cache_key]


def session_client(service, creds, region="us-east-1"):
    return client(service, {"access_key_id": creds["AccessKeyId"], "secret_access_key": creds["SecretAccessKey"]},
                  region, token=creds["SessionToken"])


def control(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(info()["endpoint_url"] + "/__control/" + path, data=data, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
    return json.loads(text) if resp.headers.get("Content-Type") == "application/json" else text


def log_entries():
    return [json.loads(line) for line in control("GET", "log").splitlines() if line]


def error_of(call):
    """(code, HTTP status, message) of the ClientError raised by call()."""
    try:
        call()
    except ClientError as err:
        return (err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"],
                err.response["Error"].get("Message"))
    raise AssertionError("expected a ClientError")


def code_of(call):
    """The error code of call()'s ClientError, None when it succeeds."""
    try:
        call()
    except ClientError as err:
        return err.response["Error"]["Code"]
    return None


@contextlib.contextmanager
def client_clock(offset_seconds):
    """Make botocore's signer believe the time is now+offset (a client with a skewed clock)."""
    real = datetime.datetime

    class Skewed(real):
        # Older botocore (Debian 1.29) calls utcnow(), newer calls now(timezone.utc).
        @classmethod
        def utcnow(cls):
            return real.utcnow() + datetime.timedelta(seconds=offset_seconds)

        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + datetime.timedelta(seconds=offset_seconds)

    with mock.patch.object(botocore.auth.datetime, "datetime", Skewed):
        yield


def signed_request(method, path, body, headers, service, region, key=None, token=None):
    """Sign with botocore's SigV4Auth.add_auth (any service/region we like) and send with urllib."""
    key = key or info()["keys"][0]
    url = info()["endpoint_url"] + path
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    botocore.auth.SigV4Auth(Credentials(key["access_key_id"], key["secret_access_key"], token),
                            service, region).add_auth(request)
    prepared = request.prepare()
    req = urllib.request.Request(url, data=body, method=method, headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def ecr_headers(op):
    return {"Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921." + op}


def registry_ping(user, password):
    reg = info()["registry"]
    return registry.ping_status(reg["url"], reg["ca_cert"], timeout=5, auth=(user, password))


def decode_token(token):
    user, _, password = base64.b64decode(token).decode().partition(":")
    return user, password


def clean_aws_env(extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(extra)
    return env


class SigV4VerifierTest(unittest.TestCase):
    """The verifier (botocore underneath) against official vectors and botocore's own signer."""

    def test_official_vectors_verify(self):
        if not os.path.isdir(VECTORS):
            self.skipTest("SigV4 test vectors not present at %s" % VECTORS)
        cases = [c for c in sorted(os.listdir(VECTORS)) if not c.endswith("-unnormalized")]   # S3-style ones
        self.assertGreater(len(cases), 25)
        for case in cases:
            with self.subTest(case=case):
                with open(os.path.join(VECTORS, case, "context.json")) as handle:
                    ctx = json.load(handle)
                with open(os.path.join(VECTORS, case, "header-signed-request.txt")) as handle:
                    method, path, query, headers, body = sigv4_verify.parse_raw_request(handle.read())
                with open(os.path.join(VECTORS, case, "header-canonical-request.txt")) as handle:
                    expected_canonical = handle.read()
                creds = ctx["credentials"]
                result = sigv4_verify.verify_request(
                    method, path, query, headers, body, now=0, check_clock=False, expected_service="service",
                    lookup=lambda _k: sigv4_verify.Secret(creds["secret_access_key"], creds.get("token")))
                self.assertEqual(result.canonical_request, expected_canonical)

    def test_botocore_signature_verifies_and_tampering_fails(self):
        now = datetime.datetime.utcnow().timestamp()
        body = b'{"repositoryNames":["a"]}'
        request = AWSRequest(method="POST", url="http://127.0.0.1:1234/", data=body,
                             headers={**ecr_headers("DescribeRepositories"), "User-Agent": "x"})
        botocore.auth.SigV4Auth(Credentials("AKIDTEST", "s3cret"), "ecr", "us-east-1").add_auth(request)
        headers = sigv4_verify.headers_from_pairs(list(request.prepare().headers.items()) +
                                                  [("Host", "127.0.0.1:1234")])

        def verify(body=body, headers=headers, path="/", secret="s3cret"):
            return sigv4_verify.verify_request("POST", path, "", headers, body, now=now, expected_service="ecr",
                                               lookup=lambda _k: sigv4_verify.Secret(secret))

        self.assertEqual(verify().access_key_id, "AKIDTEST")
        for name, kwargs in {"body": {"body": body + b" "}, "path": {"path": "/x"},
                             "secret": {"secret": "other"}}.items():
            with self.subTest(tampered=name), self.assertRaises(sigv4_verify.SigV4Error) as caught:
                verify(**kwargs)
            self.assertEqual(caught.exception.kind, sigv4_verify.MISMATCH)
        tampered = sigv4_verify.headers_from_pairs(
            [(k, v if k.lower() != "x-amz-target" else v + "X") for k, v in headers.items()])
        with self.assertRaises(sigv4_verify.SigV4Error):
            verify(headers=tampered)


class StsTest(unittest.TestCase):
    def test_get_caller_identity(self):
        identity = client("sts").get_caller_identity()
        self.assertEqual(identity["Account"], stack.ACCOUNT_A)
        self.assertEqual(identity["Arn"], "arn:aws:iam::%s:user/assetctl-ci" % stack.ACCOUNT_A)
        self.assertTrue(identity["UserId"].startswith("AIDA"))

    def test_assume_role_with_external_id_and_tags_then_use_credentials(self):
        role = "arn:aws:iam::%s:role/assetctl-publisher-with-external-id" % stack.ACCOUNT_B
        answer = client("sts").assume_role(
            RoleArn=role, RoleSessionName="assetctl-publish", ExternalId=info()["external_id"],
            DurationSeconds=900, Tags=[{"Key": "project", "Value": "assetctl"}, {"Key": "ci", "Value": "yes"}],
            TransitiveTagKeys=["project"])
        creds = answer["Credentials"]
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(answer["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::%s:assumed-role/assetctl-publisher-with-external-id/assetctl-publish"
                         % stack.ACCOUNT_B)
        remaining = creds["Expiration"] - datetime.datetime.now(datetime.timezone.utc)
        self.assertTrue(800 < remaining.total_seconds() <= 900, remaining)
        # The minted session credentials are accepted, as the role's account.
        self.assertEqual(session_client("sts", creds).get_caller_identity()["Account"], stack.ACCOUNT_B)
        repos = session_client("ecr", creds).describe_repositories(
            repositoryNames=["cdk-hnb659fds-container-assets-%s-us-east-1" % stack.ACCOUNT_B])["repositories"]
        self.assertEqual(repos[0]["repositoryUri"], "%s.dkr.ecr.us-east-1.amazonaws.com/"
                         "cdk-hnb659fds-container-assets-%s-us-east-1" % (stack.ACCOUNT_B, stack.ACCOUNT_B))
        # ... and the log records what the caller asked for.
        entry = [e for e in log_entries() if e.get("issued_access_key_id") == creds["AccessKeyId"]][0]
        self.assertEqual(entry["role_arn"], role)
        self.assertEqual(entry["external_id"], info()["external_id"])
        self.assertEqual(entry["tags"], {"project": "assetctl", "ci": "yes"})
        self.assertEqual(entry["transitive_tag_keys"], ["project"])
        self.assertTrue(entry["signature_verified"])

    def test_session_credentials_of_account_b_do_not_see_account_a_repositories(self):
        role = "arn:aws:iam::{0}:role/cdk-hnb659fds-image-publishing-role-{0}-us-east-1".format(stack.ACCOUNT_B)
        creds = client("sts").assume_role(RoleArn=role, RoleSessionName="s-b")["Credentials"]
        code, status, _ = error_of(lambda: session_client("ecr", creds).describe_repositories(
            repositoryNames=["cdk-hnb659fds-container-assets-%s-us-east-1" % stack.ACCOUNT_A]))
        self.assertEqual((code, status), ("RepositoryNotFoundException", 400))

    def test_assume_role_external_id_wrong_or_missing_is_access_denied(self):
        role = "arn:aws:iam::%s:role/assetctl-publisher-with-external-id" % stack.ACCOUNT_B
        for extra in ({}, {"ExternalId": "wrong-id"}):
            with self.subTest(extra=extra):
                code, status, message = error_of(lambda: client("sts").assume_role(
                    RoleArn=role, RoleSessionName="s1", **extra))
                self.assertEqual((code, status), ("AccessDenied", 403))
                self.assertIn("is not authorized to perform: sts:AssumeRole on resource: " + role, message)

    def test_assume_role_validation(self):
        role = "arn:aws:iam::{0}:role/cdk-hnb659fds-image-publishing-role-{0}-us-east-1".format(stack.ACCOUNT_B)
        sts = client("sts")
        code, status, message = error_of(lambda: sts.assume_role(RoleArn=role, RoleSessionName="bad name!"))
        self.assertEqual((code, status), ("ValidationError", 400))
        self.assertIn("roleSessionName", message)
        code, _, _ = error_of(lambda: sts.assume_role(RoleArn=role, RoleSessionName="x" * 65))
        self.assertEqual(code, "ValidationError")
        code, status, _ = error_of(lambda: sts.assume_role(
            RoleArn="arn:aws:iam::%s:role/not-configured" % stack.ACCOUNT_B, RoleSessionName="ok"))
        self.assertEqual((code, status), ("AccessDenied", 403))
        creds = sts.assume_role(RoleArn=role, RoleSessionName="first")["Credentials"]
        code, _, message = error_of(lambda: session_client("sts", creds).assume_role(
            RoleArn=role, RoleSessionName="chained", DurationSeconds=7200))
        self.assertEqual(code, "ValidationError")
        self.assertIn("role chaining", message)

    def test_assume_role_with_web_identity_is_unsigned(self):
        sts = botocore.session.Session().create_client(
            "sts", endpoint_url=info()["endpoint_url"], region_name="us-east-1",
            config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}))
        self.addCleanup(sts.close)
        role = "arn:aws:iam::%s:role/assetctl-web-identity-role" % stack.ACCOUNT_B
        answer = sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="wi",
                                                   WebIdentityToken=info()["web_identity_token"])
        self.assertEqual(session_client("sts", answer["Credentials"]).get_caller_identity()["Arn"],
                         "arn:aws:sts::%s:assumed-role/assetctl-web-identity-role/wi" % stack.ACCOUNT_B)
        code, status, _ = error_of(lambda: sts.assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="wi", WebIdentityToken="not-the-token"))
        self.assertEqual((code, status), ("InvalidIdentityToken", 400))

    def test_error_xml_shape(self):
        req = urllib.request.Request(info()["endpoint_url"] + "/", method="POST",
                                     data=b"Action=GetCallerIdentity&Version=2011-06-15",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(caught.exception.code, 403)
        root = ET.fromstring(caught.exception.read())
        self.assertEqual(root.tag, STS_NS + "ErrorResponse")
        self.assertEqual(root.find(STS_NS + "Error/" + STS_NS + "Type").text, "Sender")
        self.assertEqual(root.find(STS_NS + "Error/" + STS_NS + "Code").text, "MissingAuthenticationToken")
        self.assertTrue(root.find(STS_NS + "RequestId").text)


class SignatureRejectionTest(unittest.TestCase):
    def test_bad_secret(self):
        code, status, message = error_of(lambda: client("ecr", secret="wrong").describe_repositories())
        self.assertEqual((code, status), ("InvalidSignatureException", 400))
        self.assertIn("does not match the signature you provided", message)
        code, status, _ = error_of(lambda: client("sts", secret="wrong").get_caller_identity())
        self.assertEqual((code, status), ("SignatureDoesNotMatch", 403))
        self.assertFalse(log_entries()[-1]["signature_verified"])

    def test_unknown_access_key(self):
        key = {"access_key_id": "AKIA" + "Z" * 16, "secret_access_key": "x"}
        self.assertEqual(error_of(lambda: client("ecr", key).get_authorization_token())[:2],
                         ("UnrecognizedClientException", 400))
        self.assertEqual(error_of(lambda: client("sts", key).get_caller_identity())[:2],
                         ("InvalidClientTokenId", 403))

    def test_session_token_must_match(self):
        role = "arn:aws:iam::{0}:role/cdk-hnb659fds-image-publishing-role-{0}-us-east-1".format(stack.ACCOUNT_B)
        creds = client("sts").assume_role(RoleArn=role, RoleSessionName="tok")["Credentials"]
        for token in (creds["SessionToken"] + "x", None):
            with self.subTest(token="tampered" if token else "absent"):
                bad = dict(creds, SessionToken=token)
                self.assertEqual(error_of(lambda: session_client("ecr", bad).describe_repositories())[:2],
                                 ("UnrecognizedClientException", 400))

    def test_expired_date_rejected(self):
        with client_clock(-600):
            code, status, message = error_of(lambda: client("ecr").describe_repositories())
        self.assertEqual((code, status), ("InvalidSignatureException", 400))
        self.assertRegex(message, r"^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z "
                                  r"\(\d{8}T\d{6}Z - 5 min\.\)$")
        with client_clock(+600):
            code, _, message = error_of(lambda: client("ecr").describe_repositories())
        self.assertEqual(code, "InvalidSignatureException")
        self.assertTrue(message.startswith("Signature not yet current:"), message)
        with client_clock(-1200):   # STS allows 15 minutes
            code, status, message = error_of(lambda: client("sts").get_caller_identity())
        self.assertEqual((code, status), ("SignatureDoesNotMatch", 403))
        self.assertIn("- 15 min.)", message)
        with client_clock(-240):    # within the window
            client("ecr").describe_repositories()

    def test_server_clock_offset_and_expired_session(self):
        role = "arn:aws:iam::{0}:role/cdk-hnb659fds-image-publishing-role-{0}-us-east-1".format(stack.ACCOUNT_B)
        creds = client("sts").assume_role(RoleArn=role, RoleSessionName="exp", DurationSeconds=900)["Credentials"]
        self.addCleanup(control, "POST", "clock", {"offset_seconds": 0})
        control("POST", "clock", {"offset_seconds": 1000})
        self.assertEqual(error_of(lambda: client("ecr").describe_repositories())[0], "InvalidSignatureException")
        with client_clock(1000):   # client and server agree on the time; the session is past expiry
            self.assertEqual(error_of(lambda: session_client("ecr", creds).describe_repositories())[:2],
                             ("ExpiredTokenException", 400))
            self.assertEqual(error_of(lambda: session_client("sts", creds).get_caller_identity())[:2],
                             ("ExpiredToken", 403))

    def test_wrong_scope(self):
        body = b"{}"
        status, _, payload = signed_request("POST", "/", body, ecr_headers("DescribeRepositories"), "ecr",
                                            "ap-south-1")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(payload), {"__type": "InvalidSignatureException", "message":
                                               "Credential should be scoped to a valid region, not 'ap-south-1'. "})
        status, _, payload = signed_request("POST", "/", body, ecr_headers("DescribeRepositories"), "sts",
                                            "us-east-1")
        self.assertEqual(json.loads(payload)["message"], "Credential should be scoped to correct service: 'ecr'. ")
        status, _, _ = signed_request("POST", "/", body, ecr_headers("DescribeRepositories"), "ecr", "us-east-1")
        self.assertEqual(status, 200)


class EcrTest(unittest.TestCase):
    REPO = "assetctl/endpoint-test"

    @classmethod
    def setUpClass(cls):
        ecr = client("ecr")
        with contextlib.suppress(ClientError):
            ecr.create_repository(repositoryName=cls.REPO)
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        cls.aws_password = decode_token(token)[1]
        reg = info()["registry"]
        cls.image_urllib = oci_image.build_image({"urllib.txt": b"pushed with urllib\n"}, docker_media_types=True)
        cls.digest_urllib = oci_image.push_image(reg["url"], cls.REPO, "via-urllib", cls.image_urllib, "AWS",
                                                 cls.aws_password, reg["ca_cert"])

    def test_get_authorization_token_logs_into_registry(self):
        data = client("ecr").get_authorization_token()["authorizationData"][0]
        self.assertEqual(data["proxyEndpoint"], info()["registry"]["url"])
        user, password = decode_token(data["authorizationToken"])
        self.assertEqual(user, "AWS")
        self.assertEqual(registry_ping(user, password), 200)
        self.assertEqual(registry_ping(user, password + "x"), 401)
        lifetime = data["expiresAt"] - datetime.datetime.now(datetime.timezone.utc)
        self.assertTrue(11 * 3600 < lifetime.total_seconds() <= 12 * 3600)

    def test_rotated_token_invalidates_old_password(self):
        old = decode_token(client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"])
        control("POST", "rotate-token")
        self.assertEqual(registry_ping(*old), 401)
        new = decode_token(client("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"])
        self.assertNotEqual(old, new)
        self.assertEqual(registry_ping(*new), 200)
        type(self).aws_password = new[1]

    def test_describe_repositories(self):
        ecr = client("ecr", region="eu-west-1")
        code, status, message = error_of(lambda: ecr.describe_repositories(repositoryNames=["does-not-exist"]))
        self.assertEqual((code, status), ("RepositoryNotFoundException", 400))
        self.assertEqual(message, "The repository with name 'does-not-exist' does not exist in the registry with "
                                  "id '%s'" % stack.ACCOUNT_A)
        repo = ecr.describe_repositories(repositoryNames=[self.REPO])["repositories"][0]
        self.assertEqual(repo["repositoryArn"], "arn:aws:ecr:eu-west-1:%s:repository/%s" % (stack.ACCOUNT_A,
                                                                                            self.REPO))
        self.assertEqual(repo["repositoryUri"], "%s.dkr.ecr.eu-west-1.amazonaws.com/%s" % (stack.ACCOUNT_A,
                                                                                           self.REPO))

    def test_create_repository(self):
        ecr = client("ecr")
        name = "assetctl/created-%s" % secrets.token_hex(3)
        created = ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")["repository"]
        self.assertEqual(created["imageTagMutability"], "IMMUTABLE")
        self.assertEqual(error_of(lambda: ecr.create_repository(repositoryName=name))[0],
                         "RepositoryAlreadyExistsException")
        self.assertEqual(error_of(lambda: ecr.create_repository(repositoryName="Bad_Name"))[0],
                         "InvalidParameterException")

    def test_describe_images_found_and_not_found(self):
        ecr = client("ecr")
        detail = ecr.describe_images(repositoryName=self.REPO, imageIds=[{"imageTag": "via-urllib"}])["imageDetails"][0]
        self.assertEqual(detail["imageDigest"], self.digest_urllib)
        self.assertEqual(detail["imageDigest"], self.image_urllib.digest)
        self.assertIn("via-urllib", detail["imageTags"])
        self.assertEqual(detail["imageManifestMediaType"], oci_image.DOCKER_MANIFEST)
        self.assertEqual(detail["registryId"], stack.ACCOUNT_A)
        self.assertEqual(detail["imageSizeInBytes"], sum(len(b) for b in self.image_urllib.blobs.values()))
        by_digest = ecr.describe_images(repositoryName=self.REPO, imageIds=[{"imageDigest": self.digest_urllib}])
        self.assertIn("via-urllib", by_digest["imageDetails"][0]["imageTags"])
        code, status, message = error_of(lambda: ecr.describe_images(repositoryName=self.REPO,
                                                                     imageIds=[{"imageTag": "nope"}]))
        self.assertEqual((code, status), ("ImageNotFoundException", 400))
        self.assertIn("{imageDigest:'null', imageTag:'nope'}", message)
        self.assertEqual(error_of(lambda: ecr.describe_images(repositoryName="not-a-repo",
                                                              imageIds=[{"imageTag": "x"}]))[0],
                         "RepositoryNotFoundException")

    def test_batch_get_image_and_layer_availability(self):
        ecr = client("ecr")
        answer = ecr.batch_get_image(repositoryName=self.REPO,
                                     imageIds=[{"imageTag": "via-urllib"}, {"imageTag": "missing"}])
        self.assertEqual(len(answer["images"]), 1)
        self.assertEqual(answer["images"][0]["imageManifest"].encode(), self.image_urllib.manifest)
        self.assertEqual(answer["images"][0]["imageId"], {"imageDigest": self.digest_urllib,
                                                          "imageTag": "via-urllib"})
        self.assertEqual(answer["failures"], [{"imageId": {"imageTag": "missing"}, "failureCode": "ImageNotFound",
                                               "failureReason": "Requested image not found"}])
        layer = self.image_urllib.layer_digests[0]
        absent = "sha256:" + "0" * 64
        layers = ecr.batch_check_layer_availability(repositoryName=self.REPO, layerDigests=[layer, absent])
        self.assertEqual([(l["layerDigest"], l["layerAvailability"], l["layerSize"]) for l in layers["layers"]],
                         [(layer, "AVAILABLE", len(self.image_urllib.blobs[layer]))])
        self.assertEqual([(f["layerDigest"], f["failureCode"]) for f in layers["failures"]],
                         [(absent, "MissingLayerDigest")])
        self.assertEqual(error_of(lambda: ecr.batch_get_image(
            repositoryName=self.REPO, imageIds=[{"imageTag": "t%d" % i} for i in range(101)]))[0],
            "ValidationException")

    @unittest.skipUnless(os.path.exists(SKOPEO), "skopeo not installed (Debian package skopeo)")
    def test_skopeo_push_then_describe_and_inspect(self):
        reg = info()["registry"]
        with tempfile.TemporaryDirectory() as tmp:
            image = oci_image.build_image({"skopeo.txt": b"pushed with skopeo\n"})
            source = oci_image.write_oci_layout(os.path.join(tmp, "layout"), image, "v1")
            creds = "AWS:" + self.aws_password
            env = dict(os.environ, HOME=tmp)
            subprocess.run([SKOPEO, "--insecure-policy", "copy", "--dest-cert-dir", reg["cert_dir"],
                            "--dest-creds", creds, source, "docker://%s/%s:skopeo-v1" % (reg["host"], self.REPO)],
                           check=True, capture_output=True, env=env, timeout=120)
            inspected = json.loads(subprocess.run(
                [SKOPEO, "inspect", "--cert-dir", reg["cert_dir"], "--creds", creds,
                 "docker://%s/%s:skopeo-v1" % (reg["host"], self.REPO)],
                check=True, capture_output=True, env=env, timeout=120).stdout)
        detail = client("ecr").describe_images(repositoryName=self.REPO,
                                               imageIds=[{"imageTag": "skopeo-v1"}])["imageDetails"][0]
        self.assertEqual(detail["imageDigest"], inspected["Digest"])
        self.assertEqual(detail["imageDigest"], image.digest)   # skopeo kept our OCI manifest byte for byte


class AwsCliTest(unittest.TestCase):
    @unittest.skipUnless(os.path.exists(AWS_CLI), "Debian awscli not installed")
    def test_get_login_password_is_accepted_by_registry(self):
        key = info()["keys"][0]
        with tempfile.TemporaryDirectory() as tmp:
            config_file = os.path.join(tmp, "config")
            credentials_file = os.path.join(tmp, "credentials")
            for path in (config_file, credentials_file):
                open(path, "w").close()
            env = clean_aws_env({"AWS_ACCESS_KEY_ID": key["access_key_id"],
                                 "AWS_SECRET_ACCESS_KEY": key["secret_access_key"],
                                 "AWS_CONFIG_FILE": config_file, "AWS_SHARED_CREDENTIALS_FILE": credentials_file,
                                 "AWS_PAGER": "", "HOME": tmp})
            result = subprocess.run([AWS_CLI, "ecr", "get-login-password", "--endpoint-url", info()["endpoint_url"],
                                     "--region", "us-east-1"], capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        password = result.stdout.strip()
        self.assertEqual(registry_ping("AWS", password), 200)
        entry = [e for e in log_entries() if e["operation"] == "GetAuthorizationToken"][-1]
        self.assertTrue(entry["signature_verified"])
        self.assertIn("aws-cli/", entry["user_agent"])


class FaultInjectionTest(unittest.TestCase):
    def tearDown(self):
        control("DELETE", "inject")

    def test_throttling_returned_exactly_count_times(self):
        control("POST", "inject", {"op": "DescribeRepositories", "status": 400, "code": "ThrottlingException",
                                   "count": 2})
        ecr = client("ecr")
        for _ in range(2):
            self.assertEqual(error_of(ecr.describe_repositories)[:2], ("ThrottlingException", 400))
        ecr.describe_repositories()
        recent = [e for e in log_entries() if e["operation"] == "DescribeRepositories"][-3:]
        self.assertEqual([(e["injected"], e["status"]) for e in recent], [(True, 400), (True, 400), (False, 200)])
        self.assertEqual(control("GET", "inject")["rules"], [])

    def test_probability_faults_about_that_share_reproducibly(self):
        draws = []
        for _ in range(2):
            control("POST", "inject", {"op": "DescribeRepositories", "status": 500, "probability": 0.3,
                                       "seed": 4, "count": None})
            ecr = client("ecr")
            draws.append([code_of(ecr.describe_repositories) for _ in range(50)])
            control("DELETE", "inject")
        self.assertEqual(draws[0], draws[1])            # the rule's seed fixes its draws
        faulted = sum(1 for code in draws[0] if code == "ServerException")
        self.assertTrue(5 <= faulted <= 25, faulted)
        self.assertEqual(set(draws[0]), {"ServerException", None})

    def test_server_error_with_retry_after_and_sts_shape(self):
        control("POST", "inject", [{"op": "GetAuthorizationToken", "status": 503, "retry_after": 7},
                                   {"op": "GetCallerIdentity", "status": 500}])
        try:
            client("ecr").get_authorization_token()
            self.fail("expected an injected 503")
        except ClientError as err:
            self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], 503)
            self.assertEqual(err.response["Error"]["Code"], "ServiceUnavailableException")
            self.assertEqual(err.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"], "7")
        self.assertEqual(error_of(lambda: client("sts").get_caller_identity())[:2], ("InternalFailure", 500))

    def test_dropped_connection(self):
        control("POST", "inject", {"op": "DescribeImages", "drop": True})
        with self.assertRaises((ConnectionClosedError, EndpointConnectionError)):
            client("ecr").describe_images(repositoryName=EcrTest.REPO)

    def test_injection_does_not_bypass_signature_check(self):
        control("POST", "inject", {"op": "*", "status": 400, "count": 1})
        self.assertEqual(error_of(lambda: client("ecr", secret="bad").describe_repositories())[0],
                         "InvalidSignatureException")
        self.assertEqual(len(control("GET", "inject")["rules"]), 1)


class ConcurrencyAndLogTest(unittest.TestCase):
    def test_parallel_requests_and_log_lines(self):
        control("DELETE", "log")
        ecr = client("ecr")
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _i: ecr.describe_repositories()["repositories"], range(24)))
        self.assertTrue(all(results))
        entries = log_entries()
        self.assertEqual(len(entries), 24)
        for field in ("time", "request_id", "service", "operation", "access_key_id", "signature_verified",
                      "status", "error_code", "injected"):
            self.assertIn(field, entries[0])
        self.assertEqual({(e["service"], e["operation"], e["status"]) for e in entries},
                         {("ecr", "DescribeRepositories", 200)})


class FastModeTest(unittest.TestCase):
    """The endpoint's benchmark mode (config "fast", stack.py --fast), next to the normal one:
    both answer from the module's registry; the fast one runs in this process."""
    REPO = "cdk-hnb659fds-container-assets-%s-us-east-1" % stack.ACCOUNT_A

    @classmethod
    def setUpClass(cls):
        with open(info()["endpoint_config"]) as handle:
            config = json.load(handle)
        cls.log_dir = tempfile.mkdtemp(prefix="assetctl-fast-endpoint-")
        config.update({"port": 0, "ready_file": None, "log_file": os.path.join(cls.log_dir, "requests.jsonl"),
                       "fast": True})
        cls.server = ecr_endpoint.Server(config).start()
        reg = info()["registry"]
        cls.image = oci_image.build_image({"fast.txt": b"two tags\n"})
        for tag in ("first", "second"):
            oci_image.push_image(reg["url"], cls.REPO, tag, cls.image, reg["admin_user"], reg["admin_password"],
                                 reg["ca_cert"])

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.log_dir, ignore_errors=True)

    def fast_client(self):
        key = info()["keys"][0]
        made = botocore.session.Session().create_client(
            "ecr", endpoint_url=self.server.url, region_name="us-east-1", aws_access_key_id=key["access_key_id"],
            aws_secret_access_key=key["secret_access_key"], config=NO_RETRY)
        self.addCleanup(made.close)
        return made

    def describe_tags(self, ecr):
        detail = ecr.describe_images(repositoryName=self.REPO, imageIds=[{"imageTag": "second"}])["imageDetails"][0]
        self.assertEqual(detail["imageDigest"], self.image.digest)
        return detail["imageTags"]

    def test_describe_images_by_tag_answers_the_requested_tag_only(self):
        self.assertEqual(self.describe_tags(client("ecr")), ["first", "second"])
        self.assertEqual(self.describe_tags(self.fast_client()), ["second"])

    def test_describe_images_by_digest_has_no_tags(self):
        answer = self.fast_client().describe_images(repositoryName=self.REPO,
                                                    imageIds=[{"imageDigest": self.image.digest}])
        self.assertNotIn("imageTags", answer["imageDetails"][0])

    def test_log_lines_carry_server_ms(self):
        self.fast_client().describe_repositories()
        with open(self.server.endpoint.log_file) as handle:
            entries = [json.loads(line) for line in handle if line.strip()]
        self.assertTrue(entries)
        for entry in entries:
            self.assertGreaterEqual(entry["server_ms"], 0)
            self.assertNotIn(ecr_endpoint.LOG_STARTED, entry)
        control("DELETE", "log")
        client("ecr").describe_repositories()
        self.assertNotIn("server_ms", log_entries()[0])


class PerRegionRegistriesTest(unittest.TestCase):
    """Config "registries": us-west-2 is served by a second real registry, eu-west-1 by that same
    second registry but announced at a different public URL; us-east-1 stays on the module's
    registry. The endpoint runs in this process; clients are botocore and plain urllib."""
    REPO = "cdk-hnb659fds-container-assets-%s-us-west-2" % stack.ACCOUNT_A
    PUBLIC = "https://127.0.0.1:1"      # a fault proxy would be here; never contacted by the endpoint

    @classmethod
    def setUpClass(cls):
        cls.west = registry.Registry()
        cls.addClassCleanup(cls.west.stop)
        cls.west.start()
        with open(info()["endpoint_config"]) as handle:
            config = json.load(handle)
        cls.log_dir = tempfile.mkdtemp(prefix="assetctl-regions-endpoint-")
        cls.addClassCleanup(shutil.rmtree, cls.log_dir, ignore_errors=True)
        west = {"url": cls.west.url, "ca_cert": cls.west.ca_cert, "username": cls.west.admin_user,
                "password": cls.west.admin_password, "htpasswd": cls.west.htpasswd}
        config.update({"port": 0, "ready_file": None, "log_file": os.path.join(cls.log_dir, "requests.jsonl"),
                       "repository_uri_host": "registry",
                       # eu-west-1 without htpasswd: its tokens must not replace us-west-2's `AWS` user
                       "registries": {"us-west-2": west, "eu-west-1": dict(west, htpasswd=None,
                                                                          public_url=cls.PUBLIC)}})
        cls.server = ecr_endpoint.Server(config).start()
        cls.addClassCleanup(cls.server.stop)
        cls.image = oci_image.build_image({"west.txt": b"only in the us-west-2 registry\n"}, docker_media_types=True)
        oci_image.push_image(cls.west.url, cls.REPO, "west", cls.image, cls.west.admin_user,
                             cls.west.admin_password, cls.west.ca_cert)

    def ecr(self, region):
        key = info()["keys"][0]
        made = botocore.session.Session().create_client(
            "ecr", endpoint_url=self.server.url, region_name=region, aws_access_key_id=key["access_key_id"],
            aws_secret_access_key=key["secret_access_key"], config=NO_RETRY)
        self.addCleanup(made.close)
        return made

    def token(self, region):
        data = self.ecr(region).get_authorization_token()["authorizationData"][0]
        return data["proxyEndpoint"], decode_token(data["authorizationToken"])

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server.url + "/__control/" + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def ping_west(self, creds):
        return registry.ping_status(self.west.url, self.west.ca_cert, timeout=5, auth=creds)

    def ping_default(self, creds):
        reg = info()["registry"]
        return registry.ping_status(reg["url"], reg["ca_cert"], timeout=5, auth=creds)

    def test_token_of_a_region_logs_into_that_region_registry_only(self):
        url, west_creds = self.token("us-west-2")
        self.assertEqual(url, self.west.url)
        self.assertEqual(self.ping_west(west_creds), 200)
        self.assertEqual(self.ping_default(west_creds), 401)
        url, east_creds = self.token("us-east-1")
        self.assertEqual(url, info()["registry"]["url"])
        self.assertEqual(self.ping_default(east_creds), 200)
        self.assertEqual(self.ping_west(east_creds), 401)

    def test_public_url_is_what_clients_are_told(self):
        self.assertEqual(self.token("eu-west-1")[0], self.PUBLIC)
        repo = self.ecr("eu-west-1").describe_repositories(repositoryNames=[self.REPO])["repositories"][0]
        self.assertEqual(repo["repositoryUri"], "127.0.0.1:1/" + self.REPO)

    def test_repository_uri_host_is_the_region_registry(self):
        for region, host in (("us-west-2", self.west.host), ("us-east-1", info()["registry"]["host"])):
            repo = self.ecr(region).describe_repositories(repositoryNames=[self.REPO])["repositories"][0]
            self.assertEqual(repo["repositoryUri"], "%s/%s" % (host, self.REPO))

    def test_image_questions_go_to_the_region_registry(self):
        west = self.ecr("us-west-2")
        detail = west.describe_images(repositoryName=self.REPO, imageIds=[{"imageTag": "west"}])["imageDetails"][0]
        self.assertEqual(detail["imageDigest"], self.image.digest)
        self.assertEqual(error_of(lambda: self.ecr("us-east-1").describe_images(
            repositoryName=self.REPO, imageIds=[{"imageTag": "west"}]))[0], "ImageNotFoundException")
        got = west.batch_get_image(repositoryName=self.REPO, imageIds=[{"imageTag": "west"}])
        self.assertEqual(got["images"][0]["imageManifest"].encode(), self.image.manifest)
        east = self.ecr("us-east-1").batch_get_image(repositoryName=self.REPO, imageIds=[{"imageTag": "west"}])
        self.assertEqual((east["images"], east["failures"][0]["failureCode"]), ([], "ImageNotFound"))
        layer = self.image.layer_digests[0]
        layers = west.batch_check_layer_availability(repositoryName=self.REPO, layerDigests=[layer])
        self.assertEqual([l["layerAvailability"] for l in layers["layers"]], ["AVAILABLE"])
        layers = self.ecr("us-east-1").batch_check_layer_availability(repositoryName=self.REPO,
                                                                      layerDigests=[layer])
        self.assertEqual([f["failureCode"] for f in layers["failures"]], ["MissingLayerDigest"])

    def test_control_password_and_rotation_per_region(self):
        west_creds = self.token("us-west-2")[1]
        east_creds = self.token("us-east-1")[1]
        answer = self.control("POST", "registry-password", {"region": "us-west-2"})
        self.assertEqual(("AWS", answer["password"]), west_creds)
        self.control("POST", "rotate-token", {"region": "us-west-2"})
        self.assertEqual(self.ping_west(west_creds), 401)
        self.assertEqual(self.ping_default(east_creds), 200)
        new_west = self.token("us-west-2")[1]
        self.assertNotEqual(new_west, west_creds)
        self.assertEqual(self.ping_west(new_west), 200)
        listed = self.control("GET", "registries")
        self.assertEqual(listed["regions"]["us-west-2"]["url"], self.west.url)
        self.assertEqual(listed["regions"]["eu-west-1"]["public_url"], self.PUBLIC)
        self.assertEqual(listed["default"]["url"], info()["registry"]["url"])


class _CountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections = 0

    def setup(self):
        super().setup()
        type(self).connections += 1

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


class RegistryClientKeepAliveTest(unittest.TestCase):
    def requests_and_connections(self, keep_alive: bool) -> int:
        _CountingHandler.connections = 0
        server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        registry_client = ecr_endpoint.RegistryClient({"url": "http://127.0.0.1:%d" % server.server_port},
                                                      keep_alive=keep_alive)
        self.addCleanup(registry_client.close)
        for _ in range(3):
            self.assertEqual(registry_client.request("GET", "/v2/")[0], 200)
        return _CountingHandler.connections

    def test_one_connection_per_thread_in_fast_mode(self):
        self.assertEqual(self.requests_and_connections(keep_alive=True), 1)

    def test_a_connection_per_request_otherwise(self):
        self.assertEqual(self.requests_and_connections(keep_alive=False), 3)


class RegistryModuleTest(unittest.TestCase):
    def test_start_add_user_stop(self):
        reg = registry.Registry()
        self.addCleanup(reg.stop)
        reg.start()
        pid, state_dir = reg.pid, reg.state_dir
        self.assertEqual(registry.ping_status(reg.url, reg.ca_cert), 401)
        self.assertEqual(registry.ping_status(reg.url, reg.ca_cert, auth=("alice", "pw1")), 401)
        reg.add_user("alice", "pw1")          # no restart needed
        self.assertEqual(registry.ping_status(reg.url, reg.ca_cert, auth=("alice", "pw1")), 200)
        reg.stop()
        self.assertFalse(registry.pid_alive(pid))
        self.assertFalse(os.path.exists(state_dir))


class StackCliTest(unittest.TestCase):
    def test_up_then_down(self):
        tmp = tempfile.mkdtemp(prefix="assetctl-stack-cli-")
        self.addCleanup(shutil.rmtree, tmp, True)
        state = os.path.join(tmp, "state")
        script = os.path.join(HERE, "stack.py")
        # Registered before `up`, so a half-started stack is torn down too.
        self.addCleanup(lambda: os.path.exists(os.path.join(state, "stack.json")) and subprocess.run(
            [stack.PYTHON, script, "down", "--state-dir", state], capture_output=True, timeout=60))
        up = subprocess.run([stack.PYTHON, script, "up", "--state-dir", state, "--region", "eu-west-1"],
                            capture_output=True, text=True, timeout=120)
        self.assertEqual(up.returncode, 0, up.stderr)
        data = json.loads(up.stdout)
        self.assertEqual(data["region"], "eu-west-1")
        with urllib.request.urlopen(data["endpoint_url"] + "/__control/health", timeout=5) as resp:
            self.assertEqual(resp.status, 200)
        self.assertEqual(registry.ping_status(data["registry"]["url"], data["registry"]["ca_cert"]), 401)
        down = subprocess.run([stack.PYTHON, script, "down", "--state-dir", state], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(down.returncode, 0, down.stderr)
        self.assertEqual(set(json.loads(down.stdout)["stopped"]), {"registry", "endpoint"})
        for pid in data["pids"].values():
            self.assertFalse(registry.pid_alive(pid))
        self.assertFalse(os.path.exists(state))

    def test_up_with_a_registry_per_region_and_a_proxied_one(self):
        tmp = tempfile.mkdtemp(prefix="assetctl-stack-regions-")
        self.addCleanup(shutil.rmtree, tmp, True)
        state = os.path.join(tmp, "state")
        script = os.path.join(HERE, "stack.py")
        self.addCleanup(lambda: os.path.exists(os.path.join(state, "stack.json")) and subprocess.run(
            [stack.PYTHON, script, "down", "--state-dir", state], capture_output=True, timeout=60))
        up = subprocess.run([stack.PYTHON, script, "up", "--state-dir", state, "--regions", "us-east-1,ap-south-1",
                             "--fault-proxy-region", "ap-south-1"], capture_output=True, text=True, timeout=120)
        self.assertEqual(up.returncode, 0, up.stderr)
        data = json.loads(up.stdout)
        regions = data["registries"]
        self.assertEqual(sorted(regions), ["ap-south-1", "us-east-1"])
        self.assertIn("ap-south-1", data["regions"])
        hosts = {data["registry"]["host"], regions["us-east-1"]["host"], regions["ap-south-1"]["host"]}
        self.assertEqual(len(hosts), 3)
        for reg in regions.values():   # the stack's one CA trusts every registry
            self.assertEqual(registry.ping_status(reg["url"], data["registry"]["ca_cert"]), 401)
        key = data["keys"][0]
        proxy = data["registry_proxies"]["ap-south-1"]
        for region, expected_url in (("us-east-1", regions["us-east-1"]["url"]), ("ap-south-1", proxy["url"]),
                                     ("eu-west-1", data["registry"]["url"])):
            ecr = botocore.session.Session().create_client(
                "ecr", endpoint_url=data["endpoint_url"], region_name=region, config=NO_RETRY,
                aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"])
            self.addCleanup(ecr.close)
            auth = ecr.get_authorization_token()["authorizationData"][0]
            self.assertEqual(auth["proxyEndpoint"], expected_url, region)
        creds = decode_token(auth["authorizationToken"])       # the last one: eu-west-1, the default
        self.assertEqual(registry.ping_status(data["registry"]["url"], data["registry"]["ca_cert"], 5, creds), 200)
        self.assertEqual(registry.ping_status(regions["ap-south-1"]["url"], data["registry"]["ca_cert"], 5, creds),
                         401)
        down = subprocess.run([stack.PYTHON, script, "down", "--state-dir", state], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(down.returncode, 0, down.stderr)
        self.assertEqual(set(json.loads(down.stdout)["stopped"]), {"registry", "endpoint", "registry-us-east-1",
                                                                   "registry-ap-south-1", "proxy-ap-south-1"})
        for pid in data["pids"].values():
            self.assertFalse(registry.pid_alive(pid))
        self.assertFalse(os.path.exists(state))

    def test_exec_runs_the_command_in_the_client_env_and_stops_the_stack(self):
        tmp = tempfile.mkdtemp(prefix="assetctl-stack-exec-")
        self.addCleanup(shutil.rmtree, tmp, True)
        state, seen = os.path.join(tmp, "state"), os.path.join(tmp, "seen.json")
        probe = ("import json, os, sys; json.dump({'env': dict(os.environ), 'stack': json.load(open(sys.argv[1]))}, "
                 "open(sys.argv[2], 'w')); sys.exit(7)")
        run = subprocess.run([stack.PYTHON, os.path.join(HERE, "stack.py"), "exec", "--state-dir", state, "--fast",
                              "--docker-config", os.path.join(tmp, "dc"), "--", stack.PYTHON, "-c", probe,
                              os.path.join(state, "stack.json"), seen], capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 7, run.stderr)
        self.assertEqual(run.stdout, "")
        with open(seen) as handle:
            got = json.load(handle)
        self.assertTrue(got["stack"]["fast"])
        expected = stack.client_env(got["stack"], docker_config=os.path.join(tmp, "dc"))
        self.assertEqual({k: got["env"].get(k) for k in expected}, expected)
        for pid in got["stack"]["pids"].values():
            self.assertFalse(registry.pid_alive(pid))
        self.assertFalse(os.path.exists(state))

    def test_client_env(self):
        info = {"state_dir": "/s", "env": {"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://e"}}
        dockerd_info = {"env": {"DOCKER_HOST": "unix:///d.sock", "DOCKER_BUILDKIT": "1", "PATH": "/usr/bin:/bin",
                                "DOCKER_CONFIG": "/dockerd/config"}}
        self.assertEqual(stack.client_env(info, dockerd_info), {
            "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://e", "DOCKER_HOST": "unix:///d.sock",
            "DOCKER_BUILDKIT": "1", "PATH": "/usr/bin:/bin", "AWS_CONFIG_FILE": "/s/no-aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": "/s/no-aws-credentials", "AWS_EC2_METADATA_DISABLED": "true"})
        self.assertEqual(stack.client_env(info, docker_config="/c")["DOCKER_CONFIG"], "/c")
        self.assertNotIn("DOCKER_HOST", stack.client_env(info))
        self.assertEqual(stack.shell_exports({"B": "it's", "A": "1"}), "export A=1\nexport B='it'\"'\"'s'\n")


if __name__ == "__main__":
    unittest.main()
