#!/usr/bin/python3
"""Differential test: assetctl's SigV4 signer against botocore's SigV4Auth.

Generates requests from a fixed seed, signs each with botocore.auth.SigV4Auth.add_auth
(Debian package python3-botocore; run with /usr/bin/python3) and with sigv4_sign_tool (the
C++ signer), and requires the same Authorization header and the same final header list.
On the first disagreement it prints both canonical requests and strings to sign.

Usage: botocore_differential.py --tool PATH [--count N] [--seed S]
Exit: 0 all agree, 1 a mismatch or tool failure, 77 botocore is not installed (Skipped).

How botocore is driven: add_auth() takes its timestamp from datetime.datetime.utcnow(), so
botocore.auth's `datetime` module reference is replaced for the call by a shim whose utcnow()
returns the request's fixed time. The requests get an explicit Host header (otherwise botocore
derives one from the URL) and botocore only adds X-Amz-Date, X-Amz-Security-Token and
Authorization, the same headers our signer adds. Query parameters go in as
AWSRequest.params (decoded pairs; botocore encodes them), the path as the URL path exactly as
it would be sent. x-amz-content-sha256 is handed to botocore as a request header (its way of
taking a precomputed payload hash) and to our signer as add_content_sha256_header/payload_hash.

Deliberately not generated (documented differences, not bugs in either signer):
- Paths whose last segment is "." or "..": botocore's remove_dot_segments drops the trailing
  slash ("/a/b/.." -> "/a"), RFC 3986 section 5.2.4 and our normalize_path keep it ("/a/"),
  which is also what curl sends for such a path. Dot segments elsewhere, "//" and trailing
  slashes are generated. Paths always start with "/".
- Raw "?", "#", tab, CR, LF and trailing spaces in paths: they cannot be part of a request
  target as sent, and urlsplit() splits on or strips them.
- Header names expect, user-agent, x-amzn-trace-id (botocore never signs them) and Date
  (botocore rewrites it and then omits X-Amz-Date). Our signer signs whatever it is given; the
  HTTP layer must not hand it headers that a proxy may rewrite.
- Header values with Unicode whitespace or bytes 0x1C-0x1F: Python's str.split() treats them
  as whitespace, SigV4 (and our signer) trims only ASCII spaces, tabs and line breaks.
- Lowercase methods: botocore uppercases the method, we sign it as sent.
"""

import argparse
import base64
import datetime
import hashlib
import json
import random
import subprocess
import sys
import types
from unittest import mock

try:
    import botocore.auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as error:  # pragma: no cover - depends on the machine
    print(f"SKIP: botocore is not importable ({error}); install python3-botocore")
    sys.exit(77)

EPOCH = datetime.datetime(1970, 1, 1)

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2",
           "cn-north-1", "us-gov-west-1", "il-central-1"]
SERVICES = ["ecr", "sts", "ecr-public", "execute-api", "service", "iam"]
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]
HOSTS = ["api.ecr.us-east-1.amazonaws.com", "sts.amazonaws.com", "sts.eu-west-1.amazonaws.com",
         "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "example.amazonaws.com",
         "localhost:4566", "127.0.0.1:8080", "api.ecr.cn-north-1.amazonaws.com.cn"]
HEADER_NAMES = ["Content-Type", "content-type", "X-Amz-Target", "x-amz-target", "Accept",
                "My-Header1", "MY-HEADER1", "my-header1", "X-Custom", "x-custom-2",
                "Content-Length", "Accept-Encoding", "X-Amz-Meta-Note", "A", "z-last"]
QUERY_KEYS = ["Action", "Version", "Param1", "Param", "Param-3", "param", "a b", "x+y",
              "ключ", "\u1234", "~tilde", "maxResults", "nextToken", "", "k=v", "a&b"]
UNRESERVED = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RESERVED_RAW = ":@!$&'()*+,;="  # legal unencoded in a path segment (RFC 3986 pchar)
UNICODE_BITS = ["é", "ሴ", "日本", "😀", "Straße", "ö"]
SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def percent_encode(text, safe=""):
    keep = set(UNRESERVED) | set(safe)
    return "".join(chr(b) if chr(b) in keep else "%%%02X" % b for b in text.encode("utf-8"))


def path_segment(rng):
    kind = rng.randrange(10)
    if kind == 0:
        return "".join(rng.choice(UNRESERVED) for _ in range(rng.randint(1, 12)))
    if kind == 1:  # raw space inside (never last: trailing spaces are excluded, see above)
        return "example space" if rng.random() < 0.5 else "a b  c"
    if kind == 2:  # raw UTF-8
        return rng.choice(UNICODE_BITS) + rng.choice(["", "x", "-1"])
    if kind == 3:  # raw reserved characters
        return "".join(rng.choice(RESERVED_RAW + "abc") for _ in range(rng.randint(1, 8)))
    if kind == 4:  # already percent-encoded by the client, as an SDK sends it
        return percent_encode(rng.choice(["a b", "x/y", "50%", "é", "?#[]", "a+b=c"]))
    if kind == 5:  # ECR-like digest reference
        return "sha256:" + hashlib.sha256(str(rng.random()).encode()).hexdigest()
    if kind == 6:
        return rng.choice(["v2", "manifests", "blobs", "uploads", "tags", "list", "repo-name"])
    if kind == 7:  # dot segments in the middle (the last segment is never one, see above)
        return rng.choice([".", ".."])
    if kind == 8:  # empty segment: "//"
        return ""
    return rng.choice(["%2E%2E", "%2F", ".hidden", "a..b", "..c", "~user", "%zz"])


def make_path(rng):
    if rng.random() < 0.25:
        return "/"
    segments = [path_segment(rng) for _ in range(rng.randint(1, 6))]
    while segments and segments[-1] in (".", ".."):
        segments[-1] = "end"
    path = "/" + "/".join(segments)
    if rng.random() < 0.3:
        path += "/"
    return path.rstrip(" ") or "/"


def header_value(rng):
    kind = rng.randrange(9)
    if kind == 0:
        return "application/x-amz-json-1.1"
    if kind == 1:
        return "  padded value  "
    if kind == 2:
        return "a   b\t\tc"
    if kind == 3:  # folded over several lines, as in the suites' multiline case
        return "value1\n  value2\n     value3"
    if kind == 4:
        return "line1\r\n\tline2"
    if kind == 5:
        return ""
    if kind == 6:
        return "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
    if kind == 7:
        return "café \"quoted\"  , commas,"
    return "".join(rng.choice(UNRESERVED + " ;=/") for _ in range(rng.randint(1, 30)))


def query_value(rng):
    return rng.choice(["", "value1", "Value1", "value2", "a b", "1+1=2", "x&y", "/path/",
                       "ü", "\u1234", "~", "%41", "GetCallerIdentity", "2011-06-15",
                       str(rng.randint(0, 10**6))])


def body(rng):
    kind = rng.randrange(6)
    if kind <= 1:
        return b""
    if kind == 2:
        return b"{}"
    if kind == 3:
        return b"Action=GetCallerIdentity&Version=2011-06-15"
    if kind == 4:
        return json.dumps({"repositoryName": "repo", "imageIds": [{"imageTag": "latest"}]},
                          ensure_ascii=False).encode("utf-8")
    return bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))


def secret(rng, length):
    return "".join(rng.choice(SECRET_ALPHABET) for _ in range(length))


def random_time_ms(rng):
    choice = rng.randrange(4)
    if choice == 0:  # just before or at a UTC midnight (the date in the scope changes)
        day = rng.randint(10000, 24000)
        return day * 86400 * 1000 + rng.choice([-1, 0, 999, -999])
    if choice == 1:
        return 1440938160000  # the suites' 20150830T123600Z
    return rng.randint(946684800000, 2145916800000)  # 2000 .. 2038


def generate(rng, index):
    headers = [[rng.choice(["Host", "host", "HOST"]), rng.choice(HOSTS)]]
    for _ in range(rng.randint(0, 5)):
        headers.append([rng.choice(HEADER_NAMES), header_value(rng)])
    rng.shuffle(headers)
    token = None
    if rng.random() < 0.5:
        token = "IQoJb3JpZ2luX2VjE" + secret(rng, rng.randint(20, 300)) + "=="
    payload_mode = rng.choice(["body"] * 6 + ["header", "precomputed", "unsigned"])
    data = body(rng)
    return {
        "id": index,
        "method": rng.choice(METHODS),
        "path": make_path(rng),
        "query": [[rng.choice(QUERY_KEYS), query_value(rng)] for _ in range(rng.choice(
            [0, 0, 1, 2, 3, 5]))],
        "headers": headers,
        "body_base64": base64.b64encode(data).decode("ascii"),
        "payload_mode": payload_mode,
        "access_key_id": ("ASIA" if token else "AKIA") + secret(rng, 16).upper().replace(
            "+", "X").replace("/", "Y"),
        "secret_access_key": secret(rng, 40),
        "session_token": token,
        "region": rng.choice(REGIONS),
        "service": rng.choice(SERVICES),
        "time_ms": random_time_ms(rng),
    }


class RecordingSigV4Auth(SigV4Auth):
    """SigV4Auth that remembers its canonical request and string to sign for diagnostics."""

    def canonical_request(self, request):
        self.last_canonical_request = super().canonical_request(request)
        return self.last_canonical_request

    def string_to_sign(self, request, canonical_request):
        self.last_string_to_sign = super().string_to_sign(request, canonical_request)
        return self.last_string_to_sign


def sign_with_botocore(case):
    data = base64.b64decode(case["body_base64"])
    request = AWSRequest(method=case["method"], url="https://example.amazonaws.com" + case["path"],
                         data=data, params=[tuple(pair) for pair in case["query"]])
    for name, value in case["headers"]:
        request.headers[name] = value  # HTTPHeaders appends: repeated names stay, in order
    if case["payload_mode"] in ("header", "unsigned"):
        request.headers["X-Amz-Content-SHA256"] = (
            "UNSIGNED-PAYLOAD" if case["payload_mode"] == "unsigned"
            else hashlib.sha256(data).hexdigest())

    fixed = EPOCH + datetime.timedelta(milliseconds=case["time_ms"])

    class FixedDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return fixed

    auth = RecordingSigV4Auth(
        Credentials(case["access_key_id"], case["secret_access_key"], case["session_token"]),
        case["service"], case["region"])
    clock = types.SimpleNamespace(datetime=FixedDatetime)
    with mock.patch.object(botocore.auth, "datetime", clock):
        auth.add_auth(request)
    return {
        "authorization": request.headers["Authorization"],
        "canonical_request": auth.last_canonical_request,
        "string_to_sign": auth.last_string_to_sign,
        "headers": [[name, value] for name, value in request.headers.items()],
    }


def tool_input(case):
    data = base64.b64decode(case["body_base64"])
    mode = case["payload_mode"]
    return {
        "method": case["method"],
        "path": case["path"],
        "query": case["query"],
        "headers": case["headers"],
        "body_base64": case["body_base64"],
        "payload_hash": ("UNSIGNED-PAYLOAD" if mode == "unsigned"
                         else hashlib.sha256(data).hexdigest() if mode == "precomputed"
                         else None),
        "access_key_id": case["access_key_id"],
        "secret_access_key": case["secret_access_key"],
        "session_token": case["session_token"],
        "region": case["region"],
        "service": case["service"],
        "time_ms": case["time_ms"],
        "add_content_sha256_header": mode in ("header", "unsigned"),
    }


def header_multiset(headers):
    return sorted((name.lower(), value) for name, value in headers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", required=True, help="path to sigv4_sign_tool")
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20150830)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    cases = [generate(rng, i) for i in range(args.count)]
    stdin = "".join(json.dumps(tool_input(case)) + "\n" for case in cases)
    run = subprocess.run([args.tool], input=stdin.encode("utf-8"), capture_output=True,
                         check=False)
    if run.returncode != 0:
        print(f"FAIL: {args.tool} exited {run.returncode}\n{run.stderr.decode(errors='replace')}")
        return 1
    outputs = [json.loads(line) for line in run.stdout.decode("utf-8").splitlines()]
    if len(outputs) != len(cases):
        print(f"FAIL: {len(cases)} requests in, {len(outputs)} answers out")
        return 1

    agree = 0
    first_mismatch = None
    for case, ours in zip(cases, outputs):
        theirs = sign_with_botocore(case)
        same = ("error" not in ours and ours["authorization"] == theirs["authorization"]
                and header_multiset(ours["headers"]) == header_multiset(theirs["headers"]))
        if same:
            agree += 1
        elif first_mismatch is None:
            first_mismatch = (case, ours, theirs)

    print(f"botocore {botocore.__version__}: {agree}/{len(cases)} requests signed identically "
          f"(seed {args.seed})")
    if first_mismatch is None:
        return 0
    case, ours, theirs = first_mismatch
    print(f"\nFirst mismatch: request #{case['id']}")
    print(json.dumps(case, ensure_ascii=False, indent=2))
    if "error" in ours:
        print(f"\nassetctl signer threw: {ours['error']}")
    else:
        print(f"\nassetctl Authorization:\n  {ours['authorization']}")
        print(f"botocore Authorization:\n  {theirs['authorization']}")
        print("\nassetctl canonical request:\n" + ours["canonical_request"])
        print("\nbotocore canonical request:\n" + theirs["canonical_request"])
        print("\nassetctl string to sign:\n" + ours["string_to_sign"])
        print("\nbotocore string to sign:\n" + theirs["string_to_sign"])
        for who, result in (("assetctl", ours), ("botocore", theirs)):
            headers = json.dumps(header_multiset(result["headers"]), ensure_ascii=False)
            print(f"{who} headers: {headers}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
