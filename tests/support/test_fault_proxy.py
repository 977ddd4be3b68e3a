"""Tests of fault_proxy.py and stack.py's fault_proxy option, with independent clients (urllib
and http.client pushes from oci_image.py, skopeo, botocore) against the real TLS registry.

Run: /usr/bin/python3 -m unittest discover -s tests/support -p 'test_*.py'
"""

import base64
import concurrent.futures
import hashlib
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import botocore.session  # noqa: E402
except ImportError as err:   # the endpoint needs Debian's python3-botocore
    raise ImportError("run these tests with /usr/bin/python3 (Debian python3-botocore)") from err
from botocore.config import Config  # noqa: E402

import fault_proxy  # noqa: E402
import oci_image  # noqa: E402
import stack  # noqa: E402

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
MiB = 1 << 20
STACK = None


def setUpModule():
    global STACK
    STACK = stack.Stack(extra_config={"repository_uri_host": "registry"}, fault_proxy=True)
    unittest.addModuleCleanup(STACK.stop)
    STACK.start()


def reg():
    return STACK.info["registry"]


def proxy():
    return STACK.info["registry_proxy"]


def control():
    return fault_proxy.FaultProxyClient(proxy()["control_url"])


def auth_header(user=None, password=None):
    creds = "%s:%s" % (user or reg()["admin_user"], password or reg()["admin_password"])
    return "Basic " + base64.b64encode(creds.encode()).decode()


def connect(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=60,
                                       context=ssl.create_default_context(cafile=reg()["ca_cert"]))


def request(url, method, path, body=None, headers=None):
    """-> (status, headers dict (lowercase), body bytes); body may be an iterable of bytes."""
    conn = connect(url)
    try:
        all_headers = {"Authorization": auth_header()}
        all_headers.update(headers or {})
        conn.request(method, path, body=body, headers=all_headers,
                     encode_chunked=all_headers.get("Transfer-Encoding") == "chunked")
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def push(image, repo, tag):
    return oci_image.push_image(proxy()["url"], repo, tag, image, reg()["admin_user"], reg()["admin_password"],
                                reg()["ca_cert"])


def blob_at_registry(repo, digest):
    return request(reg()["url"], "HEAD", "/v2/%s/blobs/%s" % (repo, digest))[0]


def manifest_at_registry(repo, ref):
    return request(reg()["url"], "HEAD", "/v2/%s/manifests/%s" % (repo, ref),
                   headers={"Accept": oci_image.OCI_MANIFEST})[0]


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class ProxyCase(unittest.TestCase):
    def setUp(self):
        self.proxy = control()
        self.proxy.clear_rules()
        self.proxy.clear_log()
        self.addCleanup(self.proxy.clear_rules)   # also lets any held request go on


class Forwarding(ProxyCase):
    def test_push_through_proxy_is_logged_and_lands_in_registry(self):
        image = oci_image.build_image({"through-proxy.txt": b"hello via the proxy\n"})
        digest = push(image, "proxy/plain", "v1")
        self.assertEqual(digest, image.digest)
        self.assertEqual(manifest_at_registry("proxy/plain", "v1"), 200)
        log = self.proxy.log()
        self.assertTrue(all(e["done"] and e["error"] is None for e in log), log)
        self.assertEqual(sorted(fault_proxy.completed_uploads(log, "proxy/plain")), sorted(image.blobs))
        self.assertEqual(len(fault_proxy.upload_starts(log, "proxy/plain")), 2)
        uploaded = {e["digest"]: e["request_bytes"] for e in fault_proxy.body_requests(log)}
        self.assertEqual(uploaded, {d: len(b) for d, b in image.blobs.items()})
        (put,) = fault_proxy.manifest_puts(log, "proxy/plain")
        self.assertEqual((put["status"], put["request_bytes"]), (201, len(image.manifest)))
        heads = [e for e in log if e["method"] == "HEAD"]
        self.assertEqual([e["status"] for e in heads], [404, 404])
        # Pushed again: only HEADs (200), no upload.
        self.proxy.clear_log()
        push(image, "proxy/plain", "v1")
        log = self.proxy.log()
        self.assertEqual(fault_proxy.upload_starts(log), [])
        self.assertEqual([e["status"] for e in log if e["method"] == "HEAD"], [200, 200])

    def test_registry_locations_point_at_the_proxy(self):
        status, headers, _ = request(proxy()["url"], "POST", "/v2/proxy/location/blobs/uploads/", b"")
        self.assertEqual(status, 202)
        self.assertTrue(headers["location"].startswith(proxy()["url"] + "/v2/proxy/location/blobs/uploads/"),
                        headers["location"])

    @unittest.skipUnless(os.path.exists(SKOPEO), "skopeo not installed")
    def test_skopeo_copy_through_proxy(self):
        with tempfile.TemporaryDirectory() as tmp:
            image = oci_image.build_image({"skopeo-proxy.txt": b"skopeo through the proxy\n"})
            source = oci_image.write_oci_layout(os.path.join(tmp, "layout"), image, "v1")
            creds = "%s:%s" % (reg()["admin_user"], reg()["admin_password"])
            subprocess.run([SKOPEO, "--insecure-policy", "copy", "--dest-cert-dir", reg()["cert_dir"],
                            "--dest-creds", creds, source, "docker://%s/proxy/skopeo:v1" % proxy()["host"]],
                           check=True, capture_output=True, timeout=120, env=dict(os.environ, HOME=tmp))
            inspected = json.loads(subprocess.run(
                [SKOPEO, "inspect", "--cert-dir", reg()["cert_dir"], "--creds", creds,
                 "docker://%s/proxy/skopeo:v1" % reg()["host"]],
                check=True, capture_output=True, timeout=120, env=dict(os.environ, HOME=tmp)).stdout)
        self.assertEqual(inspected["Digest"], image.digest)
        self.assertTrue(fault_proxy.manifest_puts(self.proxy.log(), "proxy/skopeo"))

    def test_100_mib_streamed_with_length_and_chunked(self):
        block = oci_image.sha256_digest(b"seed").encode() * (MiB // 71 + 1)
        block = block[:MiB]

        def body(mib):
            for _ in range(mib):
                yield block

        def digest_of(mib):
            h = hashlib.sha256()
            for piece in body(mib):
                h.update(piece)
            return "sha256:" + h.hexdigest()

        pid = proxy()["pid"]
        before = vm_hwm_kib(pid)
        repo = "proxy/big"
        # Monolithic PUT with Content-Length (100 MiB).
        status, headers, _ = request(proxy()["url"], "POST", "/v2/%s/blobs/uploads/" % repo, b"")
        self.assertEqual(status, 202)
        big = digest_of(100)
        location = urllib.parse.urlsplit(headers["location"])
        status, _, text = request(proxy()["url"], "PUT", "%s?%s&digest=%s" % (location.path, location.query, big),
                                  body(100), {"Content-Length": str(100 * MiB),
                                              "Content-Type": "application/octet-stream"})
        self.assertEqual(status, 201, text)
        # Chunked PATCH (24 MiB), then PUT ?digest= with no body.
        status, headers, _ = request(proxy()["url"], "POST", "/v2/%s/blobs/uploads/" % repo, b"")
        location = urllib.parse.urlsplit(headers["location"])
        status, headers, text = request(proxy()["url"], "PATCH", "%s?%s" % (location.path, location.query),
                                        body(24), {"Transfer-Encoding": "chunked",
                                                   "Content-Type": "application/octet-stream"})
        self.assertEqual(status, 202, text)
        location = urllib.parse.urlsplit(headers["location"])
        chunked = digest_of(24)
        status, _, text = request(proxy()["url"], "PUT", "%s?%s&digest=%s" % (location.path, location.query, chunked),
                                  b"")
        self.assertEqual(status, 201, text)
        self.assertEqual(blob_at_registry(repo, big), 200)
        self.assertEqual(blob_at_registry(repo, chunked), 200)
        log = self.proxy.log()
        self.assertEqual(sorted(e["request_bytes"] for e in fault_proxy.body_requests(log)), [24 * MiB, 100 * MiB])
        # Streamed, not buffered: the proxy's peak memory grew by far less than a body.
        self.assertLess(vm_hwm_kib(pid) - before, 40 * 1024, "proxy memory peak grew too much")


class Faults(ProxyCase):
    def test_status_500_on_next_blob_put_then_normal(self):
        rule = self.proxy.add_rule({"method": "PUT", "path": "/blobs/uploads/", "status": 500, "count": 1})
        image = oci_image.build_image({"fault500.txt": b"first put fails\n"})
        with self.assertRaises(RuntimeError):
            push(image, "proxy/faults", "v500")
        self.assertEqual(self.proxy.rules(), [])
        push(image, "proxy/faults", "v500")
        log = self.proxy.log()
        injected = [e for e in log if e["rule"] == rule]
        self.assertEqual([(e["method"], e["status"], e["action"]) for e in injected], [("PUT", 500, "status")])
        self.assertGreater(injected[0]["request_bytes"], 0)   # the body was read (and discarded)
        self.assertEqual(manifest_at_registry("proxy/faults", "v500"), 200)

    def test_429_with_retry_after_and_skip(self):
        digest = oci_image.sha256_digest(b"absent")
        self.proxy.add_rule({"method": "HEAD", "path": "/blobs/sha256:", "status": 429, "retry_after": 0,
                             "count": 2, "skip": 1})
        path = "/v2/proxy/faults/blobs/" + digest
        answers = [request(proxy()["url"], "HEAD", path) for _ in range(4)]
        self.assertEqual([a[0] for a in answers], [404, 429, 429, 404])
        self.assertEqual(answers[1][1].get("retry-after"), "0")
        status, headers, body = request(proxy()["url"], "GET", path)
        self.assertEqual(status, 404)

    def test_429_body_is_a_registry_error(self):
        self.proxy.add_rule({"method": "GET", "path": "^/v2/$", "status": 429, "retry_after": 0})
        status, _, body = request(proxy()["url"], "GET", "/v2/")
        self.assertEqual(status, 429)
        self.assertEqual(json.loads(body)["errors"][0]["code"], "TOOMANYREQUESTS")

    def test_drop(self):
        self.proxy.add_rule({"method": "GET", "path": "^/v2/$", "action": "drop", "count": None})
        for _ in range(2):
            with self.assertRaises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
                request(proxy()["url"], "GET", "/v2/")
        self.assertEqual([(e["status"], e["action"], e["error"]) for e in self.proxy.log()],
                         [(0, "drop", "dropped")] * 2)
        self.proxy.clear_rules()
        self.assertEqual(request(proxy()["url"], "GET", "/v2/")[0], 200)

    def test_bad_rule_refused(self):
        with self.assertRaises(ValueError):
            self.proxy.add_rule({"action": "explode"})
        with self.assertRaises(ValueError):
            self.proxy.add_rule({"path": "(unclosed"})


class Holds(ProxyCase):
    def test_hold_wait_release_forward(self):
        image = oci_image.build_image({"held.txt": b"held then forwarded\n"})
        config = image.config_digest
        rule = self.proxy.add_rule({"method": "PUT|POST", "path": "/blobs/uploads/", "target": config.split(":")[1],
                                    "action": "hold"})
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pushing = pool.submit(push, image, "proxy/holds", "forward")
            held = self.proxy.wait_held(rule, timeout=30)
            self.assertEqual((held["method"], held["digest"]), ("PUT", config))
            self.assertFalse(pushing.done())
            self.assertEqual(manifest_at_registry("proxy/holds", "forward"), 404)
            self.proxy.release(rule, "forward")
            self.assertEqual(pushing.result(timeout=30), image.digest)
        entry = [e for e in self.proxy.log() if e["rule"] == rule][0]
        self.assertEqual((entry["action"], entry["status"], entry["done"]), ("hold", 201, True))

    def test_hold_release_drop(self):
        image = oci_image.build_image({"dropped.txt": b"held then dropped\n"})
        rule = self.proxy.add_rule({"method": "PUT", "path": "/blobs/uploads/", "action": "hold"})
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pushing = pool.submit(push, image, "proxy/holds", "drop")
            held = self.proxy.wait_held(rule, timeout=30)
            self.proxy.release(rule, "drop")
            with self.assertRaises(Exception):
                pushing.result(timeout=30)
        self.assertEqual(blob_at_registry("proxy/holds", held["digest"]), 404)
        self.assertEqual(manifest_at_registry("proxy/holds", "drop"), 404)

    def test_wait_times_out(self):
        rule = self.proxy.add_rule({"method": "DELETE", "action": "hold"})
        with self.assertRaises(AssertionError):
            self.proxy.wait_held(rule, timeout=0.3)


class DamagedAnswers(ProxyCase):
    """stall, reset_request, reset_response, truncate, malformed, tls_fail and probability."""

    def test_truncate_sends_half_the_body_then_closes(self):
        self.proxy.add_rule({"method": "GET", "path": "^/v2/$", "action": "truncate"})
        with self.assertRaises(http.client.IncompleteRead):
            request(proxy()["url"], "GET", "/v2/")
        self.assertEqual(request(proxy()["url"], "GET", "/v2/")[0], 200)

    def test_reset_response_after_half_the_body(self):
        self.proxy.add_rule({"method": "GET", "path": "^/v2/_catalog$", "action": "reset_response"})
        with self.assertRaises((http.client.IncompleteRead, ConnectionError, ssl.SSLError)):
            request(proxy()["url"], "GET", "/v2/_catalog")
        entry = self.proxy.log()[0]
        self.assertEqual((entry["action"], entry["error"], entry["status"]), ("reset_response", "reset_response", 200))

    def test_malformed_replaces_the_body(self):
        self.proxy.add_rule({"method": "GET", "path": "^/v2/_catalog$", "action": "malformed"})
        status, headers, body = request(proxy()["url"], "GET", "/v2/_catalog")
        self.assertEqual((status, body), (200, fault_proxy.MALFORMED_BODY))
        self.assertEqual(headers["content-length"], str(len(body)))

    def test_reset_request_reads_half_the_body(self):
        self.proxy.add_rule({"method": "POST", "path": "^/v2/proxy/reset/blobs/uploads/$", "action": "reset_request"})
        with self.assertRaises((ConnectionError, ssl.SSLError, http.client.HTTPException)):
            request(proxy()["url"], "POST", "/v2/proxy/reset/blobs/uploads/", body=b"x" * (4 * MiB))
        entry = self.proxy.log()[0]
        self.assertGreaterEqual(entry["request_bytes"], 2 * MiB)
        self.assertLess(entry["request_bytes"], 4 * MiB)

    def test_stall_answers_nothing_for_its_seconds(self):
        self.proxy.add_rule({"method": "GET", "path": "^/v2/$", "action": "stall", "seconds": 30})
        conn = connect(proxy()["url"])
        conn.timeout = 1
        conn.connect()
        conn.sock.settimeout(1)
        try:
            conn.request("GET", "/v2/", headers={"Authorization": auth_header()})
            with self.assertRaises((TimeoutError, OSError)):
                conn.getresponse()
        finally:
            conn.close()
        self.proxy.clear_rules()   # ends the stall
        self.assertEqual(request(proxy()["url"], "GET", "/v2/")[0], 200)

    def test_tls_fail_breaks_the_handshake_of_the_next_connections(self):
        self.proxy.add_rule({"action": "tls_fail", "count": 2})
        for _ in range(2):
            with self.assertRaises(ssl.SSLError):
                request(proxy()["url"], "GET", "/v2/")
        self.assertEqual(request(proxy()["url"], "GET", "/v2/")[0], 200)
        self.assertEqual([e["error"] for e in self.proxy.log()][:2], ["tls_fail", "tls_fail"])

    def test_probability_faults_about_that_share_reproducibly(self):
        counts = []
        for _ in range(2):
            # Plain HTTP in front of the TLS registry.
            with fault_proxy.FaultProxy(reg()["url"], reg()["ca_cert"], seed=11) as plain:
                client = fault_proxy.FaultProxyClient(plain.control_url)
                client.add_rule({"path": "^/v2/$", "status": 503, "probability": 0.3, "count": None})
                statuses = []
                for _ in range(60):
                    conn = http.client.HTTPConnection("127.0.0.1", plain.port, timeout=30)
                    try:
                        conn.request("GET", "/v2/", headers={"Authorization": auth_header()})
                        statuses.append(conn.getresponse().status)
                    finally:
                        conn.close()
                counts.append(statuses)
                self.assertEqual(client.health()["faults_applied"], statuses.count(503))
        self.assertEqual(counts[0], counts[1])                 # same seed, same draws
        self.assertEqual(set(counts[0]), {200, 503})
        self.assertTrue(8 <= counts[0].count(503) <= 30, counts[0].count(503))


class PlainHttp(unittest.TestCase):
    """The proxy without a certificate, in front of the ECR/STS endpoint: botocore's signatures
    still verify (Host unchanged), and faults reach botocore."""

    def test_botocore_through_a_plain_proxy(self):
        key = STACK.info["keys"][0]
        with fault_proxy.FaultProxy(STACK.info["endpoint_url"]) as plain:
            self.assertTrue(plain.url.startswith("http://"))
            client = fault_proxy.FaultProxyClient(plain.control_url)
            sts = botocore.session.Session().create_client(
                "sts", endpoint_url=plain.url, region_name="us-east-1", aws_access_key_id=key["access_key_id"],
                aws_secret_access_key=key["secret_access_key"], config=Config(retries={"total_max_attempts": 1}))
            self.addCleanup(sts.close)
            self.assertEqual(sts.get_caller_identity()["Account"], key["account"])
            client.add_rule({"method": "POST", "action": "malformed"})
            with self.assertRaises(Exception):
                sts.get_caller_identity()
            self.assertEqual([e["status"] for e in client.log()], [200, 200])


class StackOption(unittest.TestCase):
    def test_endpoint_hands_out_the_proxy(self):
        key = STACK.info["keys"][0]
        session = botocore.session.Session()
        ecr = session.create_client("ecr", endpoint_url=STACK.info["endpoint_url"], region_name="us-east-1",
                                    aws_access_key_id=key["access_key_id"],
                                    aws_secret_access_key=key["secret_access_key"],
                                    config=Config(retries={"total_max_attempts": 1}))
        self.addCleanup(ecr.close)
        uris = {r["repositoryUri"].split("/", 1)[0] for r in ecr.describe_repositories()["repositories"]}
        self.assertEqual(uris, {proxy()["host"]})
        data = ecr.get_authorization_token()["authorizationData"][0]
        self.assertEqual(data["proxyEndpoint"], proxy()["url"])
        user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
        conn = connect(proxy()["url"])
        try:
            conn.request("GET", "/v2/", headers={"Authorization": auth_header(user, password)})
            self.assertEqual(conn.getresponse().status, 200)
        finally:
            conn.close()
        self.assertIn("proxy", STACK.info["pids"])
        self.assertNotEqual(proxy()["host"], reg()["host"])


if __name__ == "__main__":
    unittest.main()
