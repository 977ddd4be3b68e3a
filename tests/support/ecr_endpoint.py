#!/usr/bin/python3
"""A local ECR + STS endpoint for assetctl's integration tests (not a general AWS emulator).

One threaded HTTP server on 127.0.0.1 answers both
  * ECR, AWS JSON 1.1: POST /, X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>
    (GetAuthorizationToken, DescribeRepositories, CreateRepository, DescribeImages,
    BatchGetImage, BatchCheckLayerAvailability), signing name `ecr`;
  * STS, query protocol: form POST Action=...&Version=2011-06-15 (GetCallerIdentity,
    AssumeRole, AssumeRoleWithWebIdentity), signing name `sts`, XML answers.
Every signed request is verified by botocore (see sigv4_verify.py), never by assetctl code.
Image questions are answered from a REAL registry (registry.py) over its HTTP API, and
GetAuthorizationToken writes the password it mints into that registry's htpasswd as `AWS`.

Unsigned control API under /__control/ (fault injection, request log, clock offset, ...):
see Control.* below and tests/support/README.md.

Run: /usr/bin/python3 tests/support/ecr_endpoint.py --config endpoint.json [--port 0]
     [--ready-file F] [--log-file F]; `--help` lists the rest.
"""

import argparse
import base64
import datetime
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import signal
import ssl
import string
import sys
import tempfile
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape as xml_escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fault_proxy  # noqa: E402  (same directory: its RateLimiter)
import registry as registry_support  # noqa: E402  (same directory)
import s3_service  # noqa: E402
import secrets_service  # noqa: E402
import sigv4_verify as sigv4  # noqa: E402

ECR_TARGET_PREFIX = "AmazonEC2ContainerRegistry_V20150921."
ECR_CONTENT_TYPE = "application/x-amz-json-1.1"
STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
STS_VERSION = "2011-06-15"
MANIFEST_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
]
# Patterns from the botocore service models / STS API reference.
ROLE_SESSION_NAME_RE = re.compile(r"^[\w+=,.@-]{2,64}$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
SOURCE_IDENTITY_RE = re.compile(r"^[\w+=,.@-]{2,64}$")
ROLE_ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$")
REPO_NAME_RE = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")

DEFAULT_CONFIG = {
    "host": "127.0.0.1",
    "port": 0,
    "ready_file": None,
    "log_file": None,
    "regions": [],                     # allowed signing regions; [] = any
    "max_skew_seconds": {"ecr": 300, "sts": 900, "s3": 900},   # AWS: JSON services 5 min, STS and S3 15 min
    "keys": {},                        # AKID -> {"secret", "account", "user"?, "arn"?, "deny"?}
    "roles": {},                       # role ARN -> {"external_id"?, "max_session_duration"?,
                                       #              "trusted_accounts"?, "deny"?}
    "allow_unknown_roles": False,
    "web_identity_tokens": {},         # token -> {"subject"?, "audience"?, "provider"?}
    "repositories": [],                # "name" (any account) or {"name", "account"?, ...}
    "registry": {},                    # {"url", "ca_cert", "username", "password", "htpasswd"}
    "registries": {},                  # region -> a registry of that region's own, as "registry" plus an
                                       # optional "public_url" (like registry_public_url); see RegistryTarget.
                                       # Regions not in the map use "registry".
    "token_ttl_seconds": 43200,        # ECR tokens: 12 h
    "token_mode": "reuse",             # "reuse": one AWS password until it expires; "rotate": new per call
    "repository_uri_host": None,       # None -> "<acct>.dkr.ecr.<region>.amazonaws.com"; "registry" -> host:port
    "registry_public_url": None,       # what clients are told the registry is (repositoryUri host with
                                       # "registry", proxyEndpoint), e.g. a fault_proxy.py in front of it;
                                       # None -> registry.url. The endpoint itself talks to registry.url.
    "fast": False,                     # benchmark mode (--fast; stack.py up --fast; bench/), see FAST_MODE
    "s3": {},                          # {"data_dir", "buckets": [spec]}: S3, see s3_service.py
}

# What "fast": true changes, so that the fake's own costs do not swamp what bench/run.sh measures:
# 1. DescribeImages with imageIds costs what it costs on ECR, one lookup per requested id; the
#    answer's imageTags holds the requested tag only. (Normally the endpoint lists every tag of
#    the repository and HEADs each, to report all the tags of an image: with 50 tags that is
#    ~0.8 s per call on a busy 2-core machine, and cdk-assets makes one call per asset.)
# 2. The endpoint's own calls to the registry reuse one keep-alive TLS connection per handler
#    thread instead of a TLS handshake each.
# 3. Each request log line gets `server_ms`: the time from parsing the request to writing the
#    log line (signature check and registry round trips included, sending the answer excluded).
# Everything else (SigV4 checks, STS, BatchGetImage, the control API) is the same.
FAST_MODE = "fast"
LOG_STARTED = "_started"               # perf_counter() of the request, in fast mode; not logged


# ----------------------------------------------------------------------------------------
# Errors and small helpers
# ----------------------------------------------------------------------------------------

class ApiError(Exception):
    """An AWS error answer: HTTP status + code + message (shape chosen per service)."""

    def __init__(self, status: int, code: str, message: str, headers: Dict[str, str] = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def ecr_error(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)          # ECR (JSON 1.1) client errors are all HTTP 400


def sts_error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message)


def validation_error(field: str, value, constraint: str, sts: bool) -> ApiError:
    # Coral's wording; STS calls the code ValidationError, JSON services ValidationException.
    message = "1 validation error detected: Value %s at '%s' failed to satisfy constraint: %s" % (
        "null" if value is None else "'%s'" % value, field, constraint)
    return ApiError(400, "ValidationError" if sts else "ValidationException", message)


# SigV4 failure kind -> (ECR code, STS status, STS code). ECR answers HTTP 400 for all of them.
SIGV4_ERRORS = {
    sigv4.MISSING: ("MissingAuthenticationTokenException", 403, "MissingAuthenticationToken"),
    sigv4.INCOMPLETE: ("IncompleteSignatureException", 400, "IncompleteSignature"),
    sigv4.UNKNOWN_KEY: ("UnrecognizedClientException", 403, "InvalidClientTokenId"),
    sigv4.BAD_TOKEN: ("UnrecognizedClientException", 403, "InvalidClientTokenId"),
    sigv4.EXPIRED_TOKEN: ("ExpiredTokenException", 403, "ExpiredToken"),
    sigv4.MISMATCH: ("InvalidSignatureException", 403, "SignatureDoesNotMatch"),
    sigv4.SKEW: ("InvalidSignatureException", 403, "SignatureDoesNotMatch"),
    sigv4.SCOPE: ("InvalidSignatureException", 403, "SignatureDoesNotMatch"),
}
STS_MISSING_TOKEN_MESSAGE = "Request is missing Authentication Token"


def iso8601(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable_id(prefix: str, seed: str, length: int = 17) -> str:
    """AIDA.../AROA... style ids, stable for a given seed."""
    alphabet = string.ascii_uppercase + "234567"
    raw = hashlib.sha256(seed.encode()).digest()
    return prefix + "".join(alphabet[b % len(alphabet)] for b in raw[:length])


def random_key_id(prefix: str = "ASIA") -> str:
    alphabet = string.ascii_uppercase + "234567"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(16))


def deep_merge(base: dict, extra: dict) -> dict:
    result = dict(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


# ----------------------------------------------------------------------------------------
# Identities
# ----------------------------------------------------------------------------------------

class Principal:
    """Who signed a request: an IAM user (long-term AKIA key) or an assumed-role session."""

    def __init__(self, account: str, arn: str, user_id: str, kind: str, deny=None, role_arn=None,
                 session_name=None, tags=None, transitive_tag_keys=None, partition="aws"):
        self.account, self.arn, self.user_id, self.kind = account, arn, user_id, kind
        self.deny = list(deny or [])
        self.role_arn, self.session_name = role_arn, session_name
        self.tags = dict(tags or {})
        self.transitive_tag_keys = list(transitive_tag_keys or [])
        self.partition = partition

    def denied(self, action: str) -> bool:
        return "*" in self.deny or action in self.deny


def user_principal(akid: str, spec: dict) -> Principal:
    account = str(spec["account"])
    arn = spec.get("arn") or "arn:aws:iam::%s:user/%s" % (account, spec.get("user", "assetctl-test"))
    return Principal(account, arn, stable_id("AIDA", arn), "user", spec.get("deny"))


# ----------------------------------------------------------------------------------------
# Registry client (the endpoint's own view of the real registry)
# ----------------------------------------------------------------------------------------

class RegistryClient:
    """Minimal distribution API client using the registry's admin credentials."""

    def __init__(self, spec: dict, keep_alive: bool = False):
        self.spec = spec
        self.url = spec.get("url")
        self.context = ssl.create_default_context(cafile=spec["ca_cert"]) if spec.get("ca_cert") else None
        creds = "%s:%s" % (spec.get("username", ""), spec.get("password", ""))
        self.auth = "Basic " + base64.b64encode(creds.encode()).decode()
        self.keep_alive = keep_alive
        self.connections = threading.local()      # keep_alive: one connection per thread
        self.kept = []                            # ... and all of them, for close()
        self.kept_lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.url)

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def _connect(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.url)
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=10, context=self.context)
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)

    def _exchange(self, conn, method: str, path: str, accept: List[str] = None):
        headers = {"Authorization": self.auth}
        if accept:
            headers["Accept"] = ", ".join(accept)
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body, resp.will_close

    def request(self, method: str, path: str, accept: List[str] = None):
        """-> (status, headers(lowercase dict), body bytes)."""
        if self.keep_alive:
            return self._request_kept_alive(method, path, accept)
        conn = self._connect()
        try:
            return self._exchange(conn, method, path, accept)[:3]
        finally:
            conn.close()

    def _request_kept_alive(self, method: str, path: str, accept: List[str] = None):
        """Over this thread's connection; once more on a new one if the kept one went stale."""
        for attempt in (1, 2):
            conn = getattr(self.connections, "conn", None)
            if conn is None:
                conn = self.connections.conn = self._connect()
                with self.kept_lock:
                    self.kept.append(conn)
            try:
                status, headers, body, will_close = self._exchange(conn, method, path, accept)
            except (OSError, http.client.HTTPException):
                conn.close()
                self.connections.conn = None
                if attempt == 2:
                    raise
                continue
            if will_close:
                conn.close()
                self.connections.conn = None
            return status, headers, body

    def close(self) -> None:
        """Closes the kept-alive connections (of every thread)."""
        with self.kept_lock:
            kept, self.kept = self.kept, []
        for conn in kept:
            conn.close()

    def head_manifest(self, repo: str, ref: str, accept=None):
        return self.request("HEAD", "/v2/%s/manifests/%s" % (repo, ref), accept or MANIFEST_TYPES)

    def get_manifest(self, repo: str, ref: str, accept=None):
        return self.request("GET", "/v2/%s/manifests/%s" % (repo, ref), accept or MANIFEST_TYPES)

    def head_blob(self, repo: str, digest: str):
        return self.request("HEAD", "/v2/%s/blobs/%s" % (repo, digest))

    def list_tags(self, repo: str) -> List[str]:
        status, _, body = self.request("GET", "/v2/%s/tags/list?n=1000" % repo)
        if status != 200:
            return []
        return sorted(json.loads(body or b"{}").get("tags") or [])


class RegistryTarget:
    """One registry the endpoint answers for: the endpoint's admin client, where clients are told it
    is (public_url, e.g. a fault proxy in front of it), and the `AWS` password minted into its
    htpasswd. The default one serves every region that has no registry of its own in "registries"
    (in ECR each region is its own registry, with its own tokens)."""

    def __init__(self, spec: dict, public_url: Optional[str], keep_alive: bool,
                 client: Optional[RegistryClient] = None):
        self.client = client or RegistryClient(spec, keep_alive=keep_alive)
        self.htpasswd = spec.get("htpasswd")
        self.public_url = public_url or spec.get("url")
        self.password: Optional[str] = None
        self.expires_at = 0.0

    def describe(self) -> dict:
        return {"url": self.client.url, "public_url": self.public_url,
                "host": urlsplit(self.public_url or "").netloc, "expires_at": self.expires_at}


# ----------------------------------------------------------------------------------------
# Endpoint state
# ----------------------------------------------------------------------------------------

class Endpoint:
    """All mutable state of one endpoint; every public method is thread-safe."""

    def __init__(self, config: dict):
        self.config = deep_merge(DEFAULT_CONFIG, config)
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.keys: Dict[str, dict] = dict(self.config["keys"])
        self.sessions: Dict[str, dict] = {}        # ASIA... -> {"secret", "token", "expiration", "principal"}
        self.repositories: Dict[tuple, dict] = {}  # (account or "*", name) -> repository record
        self.injections: List[dict] = []
        self.next_injection_id = 1
        self.injection_random: Dict[int, random.Random] = {}
        self.inflight = 0      # requests being served, control requests aside
        self.injection_limiters: Dict[int, "fault_proxy.RateLimiter"] = {}
        self.fast = bool(self.config[FAST_MODE])
        self.registry = RegistryClient(self.config.get("registry") or {}, keep_alive=self.fast)
        self.default_target = RegistryTarget(self.config.get("registry") or {}, self.config.get(
            "registry_public_url"), self.fast, client=self.registry)
        self.region_targets: Dict[str, RegistryTarget] = {
            region: RegistryTarget(spec, spec.get("public_url"), self.fast)
            for region, spec in (self.config.get("registries") or {}).items()}
        self.first_seen: Dict[str, float] = {}     # manifest digest -> time we first saw it (imagePushedAt)
        log_file = self.config.get("log_file")
        if not log_file:
            fd, log_file = tempfile.mkstemp(prefix="ecr-endpoint-", suffix=".jsonl")
            os.close(fd)
        self.log_file = log_file
        open(self.log_file, "a").close()
        for item in self.config["repositories"]:
            spec = {"name": item} if isinstance(item, str) else dict(item)
            self._add_repository(spec.get("account", "*"), spec["name"], spec)
        self.s3 = s3_service.S3Service(self, self.config["s3"])

    # Clock -------------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    # Credentials -------------------------------------------------------------------------
    def lookup_secret(self, akid: str) -> Optional[sigv4.Secret]:
        with self.lock:
            if akid in self.keys:
                spec = self.keys[akid]
                return sigv4.Secret(spec["secret"], principal=user_principal(akid, spec))
            session = self.sessions.get(akid)
            if session:
                return sigv4.Secret(session["secret"], session_token=session["token"],
                                    expiration=session["expiration"], principal=session["principal"])
        return None

    def mint_session(self, principal: Principal, duration: int) -> dict:
        akid = random_key_id("ASIA")
        creds = {"secret": base64.b64encode(secrets.token_bytes(30)).decode(),
                 # Real tokens are long opaque base64; length matters for header-size handling.
                 "token": "IQoJb3JpZ2luX2VjE" + base64.b64encode(secrets.token_bytes(300)).decode(),
                 "expiration": self.now() + duration, "principal": principal}
        with self.lock:
            self.sessions[akid] = creds
        return dict(creds, access_key_id=akid)

    # Repositories ------------------------------------------------------------------------
    def _add_repository(self, account: str, name: str, spec: dict) -> dict:
        record = {"name": name, "account": account, "createdAt": spec.get("createdAt", time.time()),
                  "imageTagMutability": spec.get("imageTagMutability", "MUTABLE"),
                  "scanOnPush": bool(spec.get("scanOnPush", False)),
                  "encryptionType": spec.get("encryptionType", "AES256")}
        self.repositories[(account, name)] = record
        return record

    def find_repository(self, account: str, name: str) -> Optional[dict]:
        with self.lock:
            return self.repositories.get((account, name)) or self.repositories.get(("*", name))

    def create_repository(self, account: str, name: str, spec: dict) -> Optional[dict]:
        """None if it already exists for this account."""
        with self.lock:
            if self.find_repository(account, name):
                return None
            return self._add_repository(account, name, spec)

    def delete_repository(self, name: str) -> int:
        with self.lock:
            keys = [k for k in self.repositories if k[1] == name]
            for key in keys:
                del self.repositories[key]
            return len(keys)

    def repositories_for(self, account: str) -> List[dict]:
        with self.lock:
            return [r for (acct, _), r in sorted(self.repositories.items()) if acct in (account, "*")]

    # Registries ----------------------------------------------------------------------------
    def target_for(self, region: Optional[str]) -> RegistryTarget:
        """The registry of a signing region: its own one from "registries", else the default."""
        return self.region_targets.get(region or "", self.default_target)

    def registry_client(self, region: Optional[str]) -> RegistryClient:
        return self.target_for(region).client

    def all_targets(self) -> List[RegistryTarget]:
        return [self.default_target] + list(self.region_targets.values())

    def close_registry_clients(self) -> None:
        for target in self.all_targets():
            target.client.close()

    # Registry password for user AWS --------------------------------------------------------
    @property
    def auth_password(self) -> Optional[str]:
        return self.default_target.password

    @property
    def auth_expires_at(self) -> float:
        return self.default_target.expires_at

    def registry_password(self, region: Optional[str] = None) -> tuple:
        """(password, expires_at) of the region's registry; mints a new one when needed (see token_mode)."""
        with self.lock:
            target = self.target_for(region)
            now = self.now()
            if self.config["token_mode"] == "rotate" or target.password is None or now >= target.expires_at:
                self._rotate_password_locked(target, now)
            return target.password, target.expires_at

    def rotate_registry_password(self, region: Optional[str] = None) -> None:
        """Replaces the password of the region's registry, or (no region) of every registry."""
        with self.lock:
            targets = [self.target_for(region)] if region else self.all_targets()
            for target in targets:
                self._rotate_password_locked(target, self.now())

    def _rotate_password_locked(self, target: RegistryTarget, now: float) -> None:
        password = secrets.token_urlsafe(48)
        if target.htpasswd:
            # Replacing user AWS invalidates the previous token at the registry, as an
            # expired ECR token would be.
            registry_support.set_htpasswd_user(target.htpasswd, "AWS", password)
        target.password = password
        target.expires_at = now + float(self.config["token_ttl_seconds"])

    # Fault injection ---------------------------------------------------------------------
    def add_injection(self, rule: dict) -> dict:
        rule = dict(rule)
        if "op" not in rule and "operation" in rule:
            rule["op"] = rule.pop("operation")
        if "op" not in rule:
            raise ValueError("rule needs 'op' (an ECR operation, an STS action, an S3 operation, or '*')")
        rule.setdefault("count", 1)          # null = every matching request, forever
        rule.setdefault("status", 400)
        if rule.get("probability") is not None and not 0 <= float(rule["probability"]) <= 1:
            raise ValueError("probability must be in [0, 1]")
        with self.lock:
            # Each probability rule draws from its own generator (its `seed`, default 0), so a
            # run's sequence of draws is reproducible.
            self.injection_random[self.next_injection_id] = random.Random(rule.get("seed", 0))
            if rule.get("rate_limit") is not None:
                self.injection_limiters[self.next_injection_id] = fault_proxy.RateLimiter(float(rule["rate_limit"]))
            rule["id"] = self.next_injection_id
            self.next_injection_id += 1
            self.injections.append(rule)
        return rule

    def take_injection(self, service: str, operation: str) -> Optional[dict]:
        """The first matching rule, consuming one of its uses."""
        with self.lock:
            for rule in self.injections:
                if rule["op"] not in ("*", operation) or rule.get("service", service) != service:
                    continue
                probability = rule.get("probability")
                if probability is not None and self.injection_random[rule["id"]].random() >= float(probability):
                    continue
                limiter = self.injection_limiters.get(rule["id"])
                if limiter is not None and limiter.allow():
                    continue   # within the rule's rate: no fault
                if rule["count"] is not None:
                    rule["count"] -= 1
                    if rule["count"] <= 0:
                        self.injections.remove(rule)
                return dict(rule)
        return None

    # Request log -------------------------------------------------------------------------
    def log(self, entry: dict) -> None:
        started = entry.pop(LOG_STARTED, None)
        if started is not None:
            entry["server_ms"] = round((time.perf_counter() - started) * 1000.0, 2)
        line = json.dumps(entry, sort_keys=True)
        with self.lock:
            with open(self.log_file, "a") as handle:
                handle.write(line + "\n")

    def read_log(self) -> str:
        with self.lock:
            with open(self.log_file) as handle:
                return handle.read()

    def clear_log(self) -> None:
        with self.lock:
            open(self.log_file, "w").close()

    # URIs --------------------------------------------------------------------------------
    def public_registry_url(self, region: Optional[str] = None) -> str:
        return self.target_for(region).public_url

    def registry_host_for(self, account: str, region: str) -> str:
        mode = self.config.get("repository_uri_host")
        if mode == "registry" and self.registry_client(region).configured:
            return urlsplit(self.public_registry_url(region)).netloc
        if mode and mode != "registry":
            return mode
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        return "%s.dkr.ecr.%s.%s" % (account, region, suffix)


# ----------------------------------------------------------------------------------------
# ECR operations: each takes (endpoint, context, params) and returns the JSON answer.
# ----------------------------------------------------------------------------------------

class Context:
    """Per-request facts: who called, signing region, and fields for the log line."""

    def __init__(self, principal: Principal, region: str, log: dict):
        self.principal, self.region, self.log = principal, region, log


def _registry_id(ctx: Context, params: dict) -> str:
    registry_id = params.get("registryId")
    if registry_id is not None and not re.match(r"^[0-9]{12}$", str(registry_id)):
        raise validation_error("registryId", registry_id, "Member must satisfy regular expression pattern: [0-9]{12}",
                               False)
    return str(registry_id) if registry_id else ctx.principal.account


def _partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else ("aws-us-gov" if region.startswith("us-gov-") else "aws")


def _repository_json(ep: Endpoint, record: dict, account: str, region: str) -> dict:
    name = record["name"]
    return {
        "repositoryArn": "arn:%s:ecr:%s:%s:repository/%s" % (_partition(region), region, account, name),
        "registryId": account,
        "repositoryName": name,
        "repositoryUri": "%s/%s" % (ep.registry_host_for(account, region), name),
        "createdAt": round(record["createdAt"], 3),
        "imageTagMutability": record["imageTagMutability"],
        "imageScanningConfiguration": {"scanOnPush": record["scanOnPush"]},
        "encryptionConfiguration": {"encryptionType": record["encryptionType"]},
    }


def _require_repository(ep: Endpoint, ctx: Context, params: dict) -> tuple:
    name = params.get("repositoryName")
    if not name:
        raise validation_error("repositoryName", None, "Member must not be null", False)
    ctx.log["repository_name"] = name
    account = _registry_id(ctx, params)
    if not ep.find_repository(account, name):
        raise ecr_error("RepositoryNotFoundException", "The repository with name '%s' does not exist in the "
                        "registry with id '%s'" % (name, account))
    return name, account


def _require_registry(ep: Endpoint, ctx: Context) -> RegistryClient:
    """The signing region's registry (see Endpoint.target_for)."""
    reg = ep.registry_client(ctx.region)
    if not reg.configured:
        raise ApiError(500, "ServerException", "the test endpoint has no registry configured")
    return reg


def _id_text(image_id: dict) -> str:
    return "{imageDigest:'%s', imageTag:'%s'}" % (image_id.get("imageDigest") or "null",
                                                  image_id.get("imageTag") or "null")


def ecr_GetAuthorizationToken(ep: Endpoint, ctx: Context, params: dict) -> dict:
    _require_registry(ep, ctx)
    password, expires_at = ep.registry_password(ctx.region)
    token = base64.b64encode(("AWS:" + password).encode()).decode()
    registry_ids = params.get("registryIds") or [ctx.principal.account]
    return {"authorizationData": [
        {"authorizationToken": token, "expiresAt": round(expires_at, 3), "proxyEndpoint": ep.public_registry_url(ctx.region)}
        for _ in registry_ids]}


def ecr_DescribeRepositories(ep: Endpoint, ctx: Context, params: dict) -> dict:
    account = _registry_id(ctx, params)
    names = params.get("repositoryNames")
    if names is not None:
        if not 1 <= len(names) <= 100:
            raise validation_error("repositoryNames", names, "Member must have length between 1 and 100", False)
        ctx.log["repository_names"] = names
        found = []
        for name in names:
            record = ep.find_repository(account, name)
            if not record:
                raise ecr_error("RepositoryNotFoundException", "The repository with name '%s' does not exist in "
                                "the registry with id '%s'" % (name, account))
            found.append(record)
        return {"repositories": [_repository_json(ep, r, account, ctx.region) for r in found]}
    # Listing: simple index-based pagination.
    records = ep.repositories_for(account)
    start = int(params.get("nextToken") or 0)
    limit = int(params.get("maxResults") or 1000)
    page = records[start:start + limit]
    answer = {"repositories": [_repository_json(ep, r, account, ctx.region) for r in page]}
    if start + limit < len(records):
        answer["nextToken"] = str(start + limit)
    return answer


def ecr_CreateRepository(ep: Endpoint, ctx: Context, params: dict) -> dict:
    name = params.get("repositoryName")
    if not name:
        raise validation_error("repositoryName", None, "Member must not be null", False)
    ctx.log["repository_name"] = name
    if not (2 <= len(name) <= 256 and REPO_NAME_RE.match(name)):
        raise ecr_error("InvalidParameterException", "Invalid parameter at 'repositoryName' failed to satisfy "
                        "constraint: 'must satisfy regular expression '%s''" % REPO_NAME_RE.pattern[1:-1])
    account = _registry_id(ctx, params)
    spec = {"imageTagMutability": params.get("imageTagMutability", "MUTABLE"),
            "scanOnPush": (params.get("imageScanningConfiguration") or {}).get("scanOnPush", False),
            "encryptionType": (params.get("encryptionConfiguration") or {}).get("encryptionType", "AES256")}
    record = ep.create_repository(account, name, spec)
    if record is None:
        raise ecr_error("RepositoryAlreadyExistsException", "The repository with name '%s' already exists in the "
                        "registry with id '%s'" % (name, account))
    return {"repository": _repository_json(ep, record, account, ctx.region)}


def _image_ids(params: dict) -> list:
    ids = params.get("imageIds")
    if ids is not None and not 1 <= len(ids) <= 100:
        raise validation_error("imageIds", "[...%d items]" % len(ids),
                               "Member must have length less than or equal to 100" if ids else
                               "Member must have length greater than or equal to 1", False)
    return ids


def _resolve(ep: Endpoint, reg: RegistryClient, repo: str, image_id: dict, accept=None):
    """HEAD the manifest in the real registry -> (digest, media_type) or None."""
    ref = image_id.get("imageDigest") or image_id.get("imageTag")
    if not ref:
        return None
    status, headers, _ = reg.head_manifest(repo, ref, accept)
    if status != 200:
        return None
    digest = headers.get("docker-content-digest")
    if image_id.get("imageDigest") and image_id.get("imageTag") and digest != image_id["imageDigest"]:
        return None
    with ep.lock:
        ep.first_seen.setdefault(digest, ep.now())
    return digest, headers.get("content-type", "")


def _tags_by_digest(ep: Endpoint, reg: RegistryClient, repo: str) -> Dict[str, List[str]]:
    result: Dict[str, List[str]] = {}
    for tag in reg.list_tags(repo):
        found = _resolve(ep, reg, repo, {"imageTag": tag})
        if found:
            result.setdefault(found[0], []).append(tag)
    return result


def _image_detail(ep: Endpoint, reg: RegistryClient, repo: str, account: str, digest: str, media_type: str,
                  tags: List[str]) -> dict:
    status, _, body = reg.get_manifest(repo, digest)
    size, artifact_type = 0, None
    if status == 200:
        manifest = json.loads(body)
        layers = manifest.get("layers") or []
        size = sum(int(l.get("size", 0)) for l in layers) + int((manifest.get("config") or {}).get("size", 0))
        artifact_type = (manifest.get("config") or {}).get("mediaType")
    detail = {"registryId": account, "repositoryName": repo, "imageDigest": digest, "imageTags": sorted(tags),
              "imageSizeInBytes": size, "imagePushedAt": round(ep.first_seen.get(digest, ep.now()), 3),
              "imageManifestMediaType": media_type}
    if artifact_type:
        detail["artifactMediaType"] = artifact_type
    if not tags:
        del detail["imageTags"]
    return detail


def ecr_DescribeImages(ep: Endpoint, ctx: Context, params: dict) -> dict:
    repo, account = _require_repository(ep, ctx, params)
    reg = _require_registry(ep, ctx)
    ids = _image_ids(params)
    ctx.log["image_ids"] = ids
    if ids is None:   # list everything (tagged images only: untagged ones are invisible here)
        return {"imageDetails": [_image_detail(ep, reg, repo, account, d,
                                               _resolve(ep, reg, repo, {"imageDigest": d})[1], t)
                                 for d, t in sorted(_tags_by_digest(ep, reg, repo).items())]}
    if ep.fast:       # FAST_MODE 1: the requested tag only, no listing
        def tags_of(digest: str, image_id: dict) -> List[str]:
            return [image_id["imageTag"]] if image_id.get("imageTag") else []
    else:             # every tag of the image, as ECR answers
        tags_by_digest = _tags_by_digest(ep, reg, repo)

        def tags_of(digest: str, image_id: dict) -> List[str]:
            return tags_by_digest.get(digest, [])
    details = []
    for image_id in ids:
        if image_id.get("imageDigest") and not DIGEST_RE.match(image_id["imageDigest"]):
            raise ecr_error("InvalidParameterException", "Invalid parameter at 'imageDigest' failed to satisfy "
                            "constraint: 'Invalid digest'")
        found = _resolve(ep, reg, repo, image_id)
        if not found:
            # The whole call fails on the first missing image, as ECR does.
            raise ecr_error("ImageNotFoundException", "The image with imageId %s does not exist within the "
                            "repository with name '%s' in the registry with id '%s'"
                            % (_id_text(image_id), repo, account))
        details.append(_image_detail(ep, reg, repo, account, found[0], found[1], tags_of(found[0], image_id)))
    return {"imageDetails": details}


def ecr_BatchGetImage(ep: Endpoint, ctx: Context, params: dict) -> dict:
    repo, account = _require_repository(ep, ctx, params)
    reg = _require_registry(ep, ctx)
    ids = _image_ids(params)
    if ids is None:
        raise validation_error("imageIds", None, "Member must not be null", False)
    ctx.log["image_ids"] = ids
    accept = params.get("acceptedMediaTypes") or None
    images, failures = [], []
    for image_id in ids:
        if not image_id.get("imageDigest") and not image_id.get("imageTag"):
            failures.append({"imageId": image_id, "failureCode": "MissingDigestAndTag",
                             "failureReason": "Invalid request parameters: both tag and digest cannot be null"})
            continue
        if image_id.get("imageDigest") and not DIGEST_RE.match(image_id["imageDigest"]):
            failures.append({"imageId": image_id, "failureCode": "InvalidImageDigest",
                             "failureReason": "Invalid request parameters: image digest should satisfy the "
                                              "regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"})
            continue
        ref = image_id.get("imageDigest") or image_id.get("imageTag")
        status, headers, body = reg.get_manifest(repo, ref, accept)
        digest = headers.get("docker-content-digest")
        if status != 200 or (image_id.get("imageDigest") and image_id.get("imageTag")
                             and digest != image_id["imageDigest"]):
            failures.append({"imageId": image_id, "failureCode": "ImageNotFound",
                             "failureReason": "Requested image not found"})
            continue
        out_id = {"imageDigest": digest}
        if image_id.get("imageTag"):
            out_id["imageTag"] = image_id["imageTag"]
        images.append({"registryId": account, "repositoryName": repo, "imageId": out_id,
                       "imageManifest": body.decode("utf-8"),
                       "imageManifestMediaType": headers.get("content-type", "")})
    return {"images": images, "failures": failures}


def ecr_BatchCheckLayerAvailability(ep: Endpoint, ctx: Context, params: dict) -> dict:
    repo, account = _require_repository(ep, ctx, params)
    reg = _require_registry(ep, ctx)
    digests = params.get("layerDigests") or []
    if not 1 <= len(digests) <= 100:
        raise validation_error("layerDigests", "[...%d items]" % len(digests),
                               "Member must have length between 1 and 100", False)
    ctx.log["layer_digests"] = digests
    layers, failures = [], []
    for digest in digests:
        if not DIGEST_RE.match(digest):
            failures.append({"layerDigest": digest, "failureCode": "InvalidLayerDigest",
                             "failureReason": "Invalid layer digest"})
            continue
        status, headers, _ = reg.head_blob(repo, digest)
        if status == 200:
            layers.append({"layerDigest": digest, "layerAvailability": "AVAILABLE",
                           "layerSize": int(headers.get("content-length", 0)),
                           "mediaType": headers.get("content-type", "application/octet-stream")})
        else:
            failures.append({"layerDigest": digest, "failureCode": "MissingLayerDigest",
                             "failureReason": "Could not find the layer digest"})
    return {"layers": layers, "failures": failures}


ECR_OPERATIONS = {name[len("ecr_"):]: fn for name, fn in dict(globals()).items() if name.startswith("ecr_")}


# ----------------------------------------------------------------------------------------
# STS actions: each takes (endpoint, context or None, params) and returns (result xml, log)
# ----------------------------------------------------------------------------------------

def _xml(name: str, value) -> str:
    """<name>value</name>; value may be a str/number or a list of (name, value) children."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "<%s>%s</%s>" % (name, "".join(_xml(k, v) for k, v in value), name)
    return "<%s>%s</%s>" % (name, xml_escape(str(value)), name)


def sts_response(action: str, result_children: list, request_id: str) -> str:
    return ('<%sResponse xmlns="%s">\n  %s\n  %s\n</%sResponse>\n'
            % (action, STS_NAMESPACE, _xml(action + "Result", result_children),
               _xml("ResponseMetadata", [("RequestId", request_id)]), action))


def sts_error_body(error: ApiError, request_id: str) -> str:
    kind = "Receiver" if error.status >= 500 else "Sender"
    return ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n'
            '    <Message>%s</Message>\n  </Error>\n  <RequestId>%s</RequestId>\n</ErrorResponse>\n'
            % (STS_NAMESPACE, kind, xml_escape(error.code), xml_escape(error.message), request_id))


def _member_list(params: dict, prefix: str) -> List[str]:
    """Query-protocol lists: Prefix.member.1, Prefix.member.2, ... (1-based, contiguous)."""
    values, index = [], 1
    while "%s.member.%d" % (prefix, index) in params:
        values.append(params["%s.member.%d" % (prefix, index)])
        index += 1
    return values


def _tags(params: dict) -> Dict[str, str]:
    tags, index = {}, 1
    while "Tags.member.%d.Key" % index in params:
        key = params["Tags.member.%d.Key" % index]
        value = params.get("Tags.member.%d.Value" % index, "")
        if not 1 <= len(key) <= 128:
            raise validation_error("tags.%d.member.key" % index, key, "Member must have length less than or "
                                   "equal to 128", True)
        if len(value) > 256:
            raise validation_error("tags.%d.member.value" % index, value, "Member must have length less than "
                                   "or equal to 256", True)
        if key.lower() in (k.lower() for k in tags):
            raise sts_error(400, "InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys "
                            "are case insensitive.")
        tags[key] = value
        index += 1
    if len(tags) > 50:
        raise validation_error("tags", "[...]", "Member must have length less than or equal to 50", True)
    return tags


def _credentials_xml(creds: dict) -> list:
    return [("AccessKeyId", creds["access_key_id"]), ("SecretAccessKey", creds["secret"]),
            ("SessionToken", creds["token"]), ("Expiration", iso8601(creds["expiration"]))]


def _duration(params: dict) -> int:
    raw = params.get("DurationSeconds")
    if raw is None:
        return 3600
    try:
        value = int(raw)
    except ValueError:
        raise sts_error(400, "InvalidParameterValue", "Value (%s) for parameter DurationSeconds is invalid." % raw)
    if value < 900:
        raise validation_error("durationSeconds", value, "Member must have value greater than or equal to 900", True)
    if value > 43200:
        raise validation_error("durationSeconds", value, "Member must have value less than or equal to 43200", True)
    return value


def _role(ep: Endpoint, role_arn: Optional[str], caller_arn: str, action: str) -> tuple:
    if role_arn is None:
        raise validation_error("roleArn", None, "Member must not be null", True)
    if len(role_arn) < 20:
        raise validation_error("roleArn", role_arn, "Member must have length greater than or equal to 20", True)
    match = ROLE_ARN_RE.match(role_arn)
    if not match:
        raise sts_error(400, "ValidationError", "Request ARN is invalid")
    spec = ep.config["roles"].get(role_arn)
    if spec is None and not ep.config["allow_unknown_roles"]:
        raise sts_error(403, "AccessDenied", "User: %s is not authorized to perform: %s on resource: %s"
                        % (caller_arn, action, role_arn))
    partition, account, _path, name = match.groups()
    return spec or {}, partition, account, name


def _session_name(params: dict) -> str:
    name = params.get("RoleSessionName")
    if name is None:
        raise validation_error("roleSessionName", None, "Member must not be null", True)
    if len(name) < 2:
        raise validation_error("roleSessionName", name, "Member must have length greater than or equal to 2", True)
    if len(name) > 64:
        raise validation_error("roleSessionName", name, "Member must have length less than or equal to 64", True)
    if not ROLE_SESSION_NAME_RE.match(name):
        raise validation_error("roleSessionName", name, r"Member must satisfy regular expression pattern: [\w+=,.@-]*",
                               True)
    return name


def _check_policy(params: dict) -> Optional[str]:
    policy = params.get("Policy")
    if policy is not None:
        try:
            json.loads(policy)
        except ValueError:
            raise sts_error(400, "MalformedPolicyDocument", "The policy is not in the valid JSON format.")
    return policy


def _assumed_role(spec, partition, account, role_name, role_arn, session_name, tags, transitive) -> Principal:
    """The session's identity; a role's configured "deny" list applies to its sessions."""
    arn = "arn:%s:sts::%s:assumed-role/%s/%s" % (partition, account, role_name, session_name)
    return Principal(account, arn, "%s:%s" % (stable_id("AROA", role_arn), session_name), "assumed-role",
                     deny=spec.get("deny"),
                     role_arn=role_arn, session_name=session_name, tags=tags, transitive_tag_keys=transitive,
                     partition=partition)


def sts_GetCallerIdentity(ep: Endpoint, ctx: Context, params: dict) -> list:
    p = ctx.principal
    return [("Arn", p.arn), ("UserId", p.user_id), ("Account", p.account)]


def sts_AssumeRole(ep: Endpoint, ctx: Context, params: dict) -> list:
    caller = ctx.principal
    role_arn = params.get("RoleArn")
    external_id = params.get("ExternalId")
    tags = _tags(params)
    transitive = _member_list(params, "TransitiveTagKeys")
    ctx.log.update({"role_arn": role_arn, "external_id": external_id, "role_session_name":
                    params.get("RoleSessionName"), "tags": tags, "transitive_tag_keys": transitive,
                    "duration_seconds": params.get("DurationSeconds"), "source_identity":
                    params.get("SourceIdentity"), "policy": params.get("Policy"),
                    "policy_arns": [params[k] for k in sorted(params) if k.startswith("PolicyArns.member.")]})
    session_name = _session_name(params)
    duration = _duration(params)
    if external_id is not None and not EXTERNAL_ID_RE.match(external_id):
        raise validation_error("externalId", external_id, r"Member must satisfy regular expression pattern: "
                               r"[\w+=,.@:\/-]*", True)
    source_identity = params.get("SourceIdentity")
    if source_identity is not None and not SOURCE_IDENTITY_RE.match(source_identity):
        raise validation_error("sourceIdentity", source_identity, r"Member must satisfy regular expression "
                               r"pattern: [\w+=,.@-]*", True)
    policy = _check_policy(params)
    for key in transitive:
        if key not in tags:
            raise sts_error(400, "InvalidParameterValue", "The specified transitive tag key must be included in "
                            "the requested tags.")
    spec, partition, account, role_name = _role(ep, role_arn, caller.arn, "sts:AssumeRole")
    denied = "User: %s is not authorized to perform: sts:AssumeRole on resource: %s" % (caller.arn, role_arn)
    if caller.denied("sts:AssumeRole"):
        raise sts_error(403, "AccessDenied", denied)
    trusted = spec.get("trusted_accounts")
    if trusted and caller.account not in [str(a) for a in trusted]:
        raise sts_error(403, "AccessDenied", denied)
    required = spec.get("external_id")
    if required is not None and external_id != required:
        # Real STS cannot tell "wrong/missing external id" from any other trust-policy
        # mismatch, and says just AccessDenied.
        raise sts_error(403, "AccessDenied", denied)
    if caller.kind == "assumed-role" and duration > 3600:
        raise validation_error("durationSeconds", duration, "The requested DurationSeconds exceeds the 1 hour "
                               "session limit for roles assumed by role chaining.", True)
    if duration > int(spec.get("max_session_duration", 3600)):
        raise sts_error(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set "
                        "for this role.")
    # Transitive tags of the calling session carry over into the new one.
    session_tags = {k: v for k, v in caller.tags.items() if k in caller.transitive_tag_keys}
    session_tags.update(tags)
    principal = _assumed_role(spec, partition, account, role_name, role_arn, session_name, session_tags,
                              sorted(set(transitive) | set(caller.transitive_tag_keys)))
    creds = ep.mint_session(principal, duration)
    ctx.log["issued_access_key_id"] = creds["access_key_id"]
    result = [("Credentials", _credentials_xml(creds)),
              ("AssumedRoleUser", [("AssumedRoleId", principal.user_id), ("Arn", principal.arn)])]
    if policy is not None or tags:
        packed = len(policy or "") + sum(len(k) + len(v) for k, v in tags.items())
        result.append(("PackedPolicySize", min(100, max(1, packed * 100 // 2048))))
    if source_identity:
        result.append(("SourceIdentity", source_identity))
    return result


def sts_AssumeRoleWithWebIdentity(ep: Endpoint, ctx: Context, params: dict) -> list:
    role_arn = params.get("RoleArn")
    token = params.get("WebIdentityToken")
    ctx.log.update({"role_arn": role_arn, "role_session_name": params.get("RoleSessionName"),
                    "duration_seconds": params.get("DurationSeconds")})
    session_name = _session_name(params)
    duration = _duration(params)
    _check_policy(params)
    if token is None:
        raise validation_error("webIdentityToken", None, "Member must not be null", True)
    spec, partition, account, role_name = _role(ep, role_arn, "(web identity)", "sts:AssumeRoleWithWebIdentity")
    identity = ep.config["web_identity_tokens"].get(token.strip())
    if identity is None:
        raise sts_error(400, "InvalidIdentityToken", "The web identity token that was passed could not be "
                        "validated by AWS. Get a new identity token from the identity provider and then retry the "
                        "request.")
    if duration > int(spec.get("max_session_duration", 3600)):
        raise sts_error(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set "
                        "for this role.")
    principal = _assumed_role(spec, partition, account, role_name, role_arn, session_name, {}, [])
    creds = ep.mint_session(principal, duration)
    ctx.log["issued_access_key_id"] = creds["access_key_id"]
    return [("Credentials", _credentials_xml(creds)),
            ("SubjectFromWebIdentityToken", identity.get("subject", "system:serviceaccount:test:assetctl")),
            ("AssumedRoleUser", [("AssumedRoleId", principal.user_id), ("Arn", principal.arn)]),
            ("Provider", identity.get("provider", "oidc.assetctl.test")),
            ("Audience", identity.get("audience", "sts.amazonaws.com"))]


STS_ACTIONS = {name[len("sts_"):]: fn for name, fn in dict(globals()).items()
               if name.startswith("sts_") and name[4:5].isupper()}
STS_UNSIGNED_ACTIONS = {"AssumeRoleWithWebIdentity"}


# ----------------------------------------------------------------------------------------
# HTTP layer
# ----------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive, as AWS endpoints do
    # Headers and body go out in two writes; with Nagle's algorithm on, the body of every answer
    # after the first on a kept-alive connection waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "assetctl-test-aws"

    def version_string(self) -> str:
        return self.server_version

    @property
    def ep(self) -> Endpoint:
        return self.server.endpoint

    def log_message(self, fmt, *args):   # the JSON request log replaces the access log
        if os.environ.get("ECR_ENDPOINT_VERBOSE"):
            super().log_message(fmt, *args)

    # Body --------------------------------------------------------------------------------
    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status: int, body: bytes, content_type: str, headers: Dict[str, str] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    # Routing -----------------------------------------------------------------------------
    def dispatch(self) -> None:
        parts = urlsplit(self.path)
        if parts.path.startswith("/__control/"):
            return self.dispatch_counted(parts, counted=False)
        with self.ep.lock:
            self.ep.inflight += 1
        try:
            return self.dispatch_counted(parts, counted=True)
        finally:
            with self.ep.lock:
                self.ep.inflight -= 1

    def dispatch_counted(self, parts, counted: bool) -> None:
        """Serves the request; `counted` requests are in GET /__control/inflight meanwhile."""
        try:
            if counted and s3_service.is_s3_request(parts.path, self.headers):
                return self.ep.s3.handle(self, parts)      # streams its own bodies
            body = self.read_body()
            if not counted:
                return Control(self, body, parts).handle()
            target = self.headers.get("X-Amz-Target")
            if target is not None and target.startswith(secrets_service.TARGET_PREFIX):
                return secrets_service.handle(sys.modules[__name__], self, target, body, parts)
            if target is not None:
                return self.handle_ecr(target, body, parts)
            return self.handle_sts(body, parts)
        except Exception:   # a bug here must show up as a 500 in the test, not a hung client
            traceback.print_exc()
            self.send(500, json.dumps({"__type": "InternalFailure", "message": "endpoint bug, see its stderr"})
                      .encode(), ECR_CONTENT_TYPE)

    def received_headers(self):
        return sigv4.headers_from_pairs(list(self.headers.items()))

    def raw_path(self, parts) -> str:
        # http.server decoded the request line as latin-1; undo that for non-ASCII paths.
        return parts.path.encode("latin-1").decode("utf-8", "surrogateescape")

    def verify(self, service: str, body: bytes, parts, log: dict) -> sigv4.VerifiedRequest:
        ep = self.ep
        try:
            verified = sigv4.verify_request(
                self.command, self.raw_path(parts), parts.query, self.received_headers(), body,
                lookup=ep.lookup_secret, now=ep.now(), expected_service=service,
                allowed_regions=ep.config["regions"],
                max_skew_seconds=int(ep.config["max_skew_seconds"].get(service, 300)))
        except sigv4.SigV4Error as err:
            log["access_key_id"] = err.access_key_id
            log["signature_verified"] = False
            ecr_code, sts_status, sts_code = SIGV4_ERRORS[err.kind]
            if service in ("ecr", "secretsmanager"):   # JSON 1.1 services answer HTTP 400
                raise ApiError(400, ecr_code, err.message)
            message = STS_MISSING_TOKEN_MESSAGE if err.kind == sigv4.MISSING else err.message
            raise ApiError(sts_status, sts_code, message)
        log.update({"access_key_id": verified.access_key_id, "signature_verified": True,
                    "region": verified.region, "account": verified.principal.account,
                    "principal_arn": verified.principal.arn})
        return verified

    def new_log(self, service: str, operation: Optional[str]) -> dict:
        now = datetime.datetime.now(datetime.timezone.utc)
        entry = {"time": now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000),
                 "request_id": str(uuid.uuid4()), "service": service, "operation": operation,
                 "access_key_id": None, "signature_verified": None, "status": None, "error_code": None,
                 "injected": False, "user_agent": self.headers.get("User-Agent")}
        if self.ep.fast:      # FAST_MODE 3: Endpoint.log turns it into server_ms
            entry[LOG_STARTED] = time.perf_counter()
        return entry

    def apply_injection(self, service: str, operation: str, log: dict) -> bool:
        """Answer with an injected fault if a rule matches; True if the request is done."""
        rule = self.ep.take_injection(service, operation)
        if rule is None:
            return False
        log["injected"] = True
        log["injection_id"] = rule["id"]
        if rule.get("delay_ms"):
            time.sleep(rule["delay_ms"] / 1000.0)   # simulated latency, not synchronisation
        if rule.get("drop"):
            log["status"] = 0
            log["error_code"] = "ConnectionDropped"
            self.ep.log(log)
            self.close_connection = True      # no response at all: the client sees the connection close
            return True
        status = int(rule["status"])
        code = rule.get("code") or default_fault_code(service, status)
        error = ApiError(status, code, rule.get("message") or default_fault_message(status))
        if rule.get("retry_after") is not None:
            error.headers["Retry-After"] = str(rule["retry_after"])
        raise error

    def finish_error(self, service: str, error: ApiError, log: dict) -> None:
        log["status"] = error.status
        log["error_code"] = error.code
        log["error_message"] = error.message
        self.ep.log(log)
        headers = dict(error.headers, **{"x-amzn-RequestId": log["request_id"]})
        if service == "sts":
            self.send(error.status, sts_error_body(error, log["request_id"]).encode(), "text/xml", headers)
        else:
            body = json.dumps({"__type": error.code, "message": error.message}).encode()
            self.send(error.status, body, ECR_CONTENT_TYPE, headers)

    # ECR ---------------------------------------------------------------------------------
    def handle_ecr(self, target: str, body: bytes, parts) -> None:
        operation = target[len(ECR_TARGET_PREFIX):] if target.startswith(ECR_TARGET_PREFIX) else target
        log = self.new_log("ecr", operation)
        try:
            verified = self.verify("ecr", body, parts, log)
            if self.apply_injection("ecr", operation, log):
                return
            handler = ECR_OPERATIONS.get(operation) if target.startswith(ECR_TARGET_PREFIX) else None
            if handler is None:
                raise ecr_error("UnknownOperationException", "")
            if verified.principal.denied("ecr:" + operation):
                raise ecr_error("AccessDeniedException", "User: %s is not authorized to perform: ecr:%s on "
                                "resource: *" % (verified.principal.arn, operation))
            try:
                params = json.loads(body or b"{}")
                if not isinstance(params, dict):
                    raise ValueError
            except ValueError:
                raise ecr_error("SerializationException", "Start of structure or map found where not expected.")
            answer = handler(self.ep, Context(verified.principal, verified.region, log), params)
        except ApiError as err:
            return self.finish_error("ecr", err, log)
        log["status"] = 200
        self.ep.log(log)
        self.send(200, json.dumps(answer).encode(), ECR_CONTENT_TYPE, {"x-amzn-RequestId": log["request_id"]})

    # STS ---------------------------------------------------------------------------------
    def handle_sts(self, body: bytes, parts) -> None:
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        action = params.get("Action")
        log = self.new_log("sts", action)
        try:
            if action in STS_UNSIGNED_ACTIONS:
                principal, region = None, None
            else:
                verified = self.verify("sts", body, parts, log)
                principal, region = verified.principal, verified.region
            if self.apply_injection("sts", action or "", log):
                return
            handler = STS_ACTIONS.get(action or "")
            if handler is None:
                raise sts_error(400, "InvalidAction", "Could not find operation %s for version %s"
                                % (action, params.get("Version", STS_VERSION)))
            if params.get("Version") != STS_VERSION:
                raise sts_error(400, "InvalidAction", "Could not find operation %s for version %s"
                                % (action, params.get("Version")))
            result = handler(self.ep, Context(principal, region, log), params)
        except ApiError as err:
            return self.finish_error("sts", err, log)
        log["status"] = 200
        self.ep.log(log)
        self.send(200, sts_response(action, result, log["request_id"]).encode(), "text/xml",
                  {"x-amzn-RequestId": log["request_id"]})


def default_fault_code(service: str, status: int) -> str:
    if status == 429 or status == 400:
        return "ThrottlingException" if service == "ecr" else "Throttling"
    if status == 503:
        return "ServiceUnavailableException" if service == "ecr" else "ServiceUnavailable"
    return "ServerException" if service == "ecr" else "InternalFailure"


def default_fault_message(status: int) -> str:
    return "Rate exceeded" if status in (400, 429) else "Service unavailable (injected)" if status == 503 \
        else "Internal error (injected)"


class Control:
    """Unsigned test-control API under /__control/ (JSON in, JSON out)."""

    def __init__(self, handler: Handler, body: bytes, parts):
        self.h, self.body, self.parts = handler, body, parts
        self.ep = handler.ep

    def reply(self, status: int, value) -> None:
        self.h.send(status, (json.dumps(value, indent=1) + "\n").encode(), "application/json")

    def json_body(self) -> dict:
        return json.loads(self.body or b"{}")

    def handle(self) -> None:
        route = (self.h.command, self.parts.path.rstrip("/"))
        try:
            if route == ("GET", "/__control/health"):
                return self.reply(200, {"ok": True, "pid": os.getpid(), "port": self.h.server.server_port})
            if route == ("GET", "/__control/inflight"):
                with self.ep.lock:
                    return self.reply(200, {"inflight": self.ep.inflight})
            if route == ("GET", "/__control/log"):
                return self.h.send(200, self.ep.read_log().encode(), "application/x-ndjson")
            if route == ("DELETE", "/__control/log"):
                self.ep.clear_log()
                return self.reply(200, {"ok": True})
            if route == ("POST", "/__control/inject"):
                rules = self.json_body()
                rules = rules if isinstance(rules, list) else [rules]
                return self.reply(200, {"rules": [self.ep.add_injection(r) for r in rules]})
            if route == ("GET", "/__control/inject"):
                with self.ep.lock:
                    return self.reply(200, {"rules": list(self.ep.injections)})
            if route == ("DELETE", "/__control/inject"):
                with self.ep.lock:
                    self.ep.injections.clear()
                return self.reply(200, {"ok": True})
            if route == ("POST", "/__control/clock"):
                self.ep.clock_offset = float(self.json_body().get("offset_seconds", 0))
                return self.reply(200, {"offset_seconds": self.ep.clock_offset})
            if route == ("POST", "/__control/rotate-token"):
                region = self.json_body().get("region")
                self.ep.rotate_registry_password(region)
                return self.reply(200, {"expires_at": self.ep.target_for(region).expires_at})
            if route == ("POST", "/__control/registry-password"):
                password, expires_at = self.ep.registry_password(self.json_body().get("region"))
                return self.reply(200, {"username": "AWS", "password": password, "expires_at": expires_at})
            if route == ("GET", "/__control/registries"):
                with self.ep.lock:
                    return self.reply(200, {"default": self.ep.default_target.describe(), "regions": {
                        region: target.describe() for region, target in self.ep.region_targets.items()}})
            if route == ("POST", "/__control/repositories"):
                spec = self.json_body()
                record = self.ep.create_repository(str(spec.get("account", "*")), spec["name"], spec)
                return self.reply(201 if record else 409, record or {"error": "exists"})
            if route == ("GET", "/__control/repositories"):
                with self.ep.lock:
                    return self.reply(200, {"repositories": list(self.ep.repositories.values())})
            if self.h.command == "DELETE" and self.parts.path.startswith("/__control/repositories/"):
                removed = self.ep.delete_repository(self.parts.path[len("/__control/repositories/"):])
                return self.reply(200 if removed else 404, {"removed": removed})
            if route == ("GET", "/__control/s3"):
                return self.reply(200, self.ep.s3.store.describe())
            if route == ("POST", "/__control/s3/buckets"):
                return self.reply(201, self.ep.s3.store.add_bucket(self.json_body()))
            if route == ("GET", "/__control/sessions"):
                with self.ep.lock:
                    # The secret and the token too: the secrets test looks for them where
                    # they must never appear (this is a test endpoint).
                    sessions = [{"access_key_id": k, "expiration": iso8601(v["expiration"]),
                                 "arn": v["principal"].arn, "tags": v["principal"].tags,
                                 "secret_access_key": v["secret"], "session_token": v["token"]}
                                for k, v in self.ep.sessions.items()]
                return self.reply(200, {"sessions": sessions})
            return self.reply(404, {"error": "no such control route", "route": list(route)})
        except (ValueError, KeyError, TypeError) as err:
            return self.reply(400, {"error": str(err)})


# ----------------------------------------------------------------------------------------
# Server lifecycle
# ----------------------------------------------------------------------------------------

class Server:
    """Own a ThreadingHTTPServer; start() serves in a background thread (for in-process use)."""

    def __init__(self, config: dict):
        self.endpoint = Endpoint(config)
        cfg = self.endpoint.config
        self.httpd = ThreadingHTTPServer((cfg["host"], int(cfg["port"])), Handler)
        self.httpd.daemon_threads = True
        self.httpd.endpoint = self.endpoint
        self.thread = None

    @property
    def port(self) -> int:
        return self.httpd.server_port

    @property
    def url(self) -> str:
        return "http://%s:%d" % (self.endpoint.config["host"], self.port)

    def write_ready_file(self) -> None:
        path = self.endpoint.config.get("ready_file")
        if path:
            tmp = path + ".tmp"
            with open(tmp, "w") as handle:
                json.dump({"url": self.url, "port": self.port, "pid": os.getpid(),
                           "log_file": self.endpoint.log_file}, handle)
            os.replace(tmp, path)   # readers never see a partial file

    def start(self) -> "Server":
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="ecr-endpoint", daemon=True)
        self.thread.start()
        self.write_ready_file()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.endpoint.close_registry_clients()
        if self.thread:
            self.thread.join(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def config_from_args(args) -> dict:
    config = {}
    if args.config:
        with open(args.config) as handle:
            config = json.load(handle)
    if args.port is not None:
        config["port"] = args.port
    for name in ("ready_file", "log_file"):
        if getattr(args, name):
            config[name] = getattr(args, name)
    if args.region:
        config["regions"] = args.region
    if args.fast:
        config[FAST_MODE] = True
    for item in args.key:
        akid, secret, account = item.split(":", 2)
        config.setdefault("keys", {})[akid] = {"secret": secret, "account": account}
    for item in args.role:
        arn, _, external_id = item.partition("=")
        config.setdefault("roles", {})[arn] = {"external_id": external_id or None}
    config.setdefault("repositories", []).extend(args.repository)
    registry = config.setdefault("registry", {})
    for name in ("url", "ca_cert", "username", "password", "htpasswd"):
        value = getattr(args, "registry_" + name)
        if value:
            registry[name] = value
    return config


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="JSON config file (see DEFAULT_CONFIG in this file)")
    parser.add_argument("--port", type=int, help="0 = pick a free port")
    parser.add_argument("--ready-file", help="written atomically with {url, port, pid} once listening")
    parser.add_argument("--log-file", help="JSON-lines request log")
    parser.add_argument("--region", action="append", default=[], help="allowed signing region (repeatable)")
    parser.add_argument("--key", action="append", default=[], metavar="AKID:SECRET:ACCOUNT")
    parser.add_argument("--role", action="append", default=[], metavar="ROLE_ARN[=EXTERNAL_ID]")
    parser.add_argument("--repository", action="append", default=[], metavar="NAME")
    parser.add_argument("--registry-url")
    parser.add_argument("--registry-ca-cert")
    parser.add_argument("--registry-username")
    parser.add_argument("--registry-password")
    parser.add_argument("--registry-htpasswd")
    parser.add_argument("--fast", action="store_true", help="benchmark mode: see FAST_MODE in this file")
    args = parser.parse_args(argv)

    server = Server(config_from_args(args))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    print(json.dumps({"url": server.url, "port": server.port, "pid": os.getpid(),
                      "log_file": server.endpoint.log_file}), flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
