"""Server-side AWS SigV4 verification for the local ECR/STS endpoint, done by botocore.

The point of this module is independence: assetctl's own C++ signer is checked against
botocore (Debian package python3-botocore), never against itself. We only *parse* the
Authorization header here; the canonical request, string to sign and signature are all
computed by botocore.auth.SigV4Auth over the request exactly as it was received.

Entry point: verify_request(...) -> VerifiedRequest, or raises SigV4Error whose `kind`
says which AWS error the caller should answer with (the wire shapes differ per service and
live in ecr_endpoint.py).
"""

import datetime
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple
from urllib.parse import unquote

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

# Failure kinds; ecr_endpoint maps each to the service's own error code.
MISSING = "missing"            # no Authorization header at all
INCOMPLETE = "incomplete"      # header present but malformed
UNKNOWN_KEY = "unknown_key"    # access key id not known
BAD_TOKEN = "bad_token"        # session token missing/wrong for a session key
EXPIRED_TOKEN = "expired_token"  # session credentials past their Expiration
MISMATCH = "mismatch"          # recomputed signature differs
SKEW = "skew"                  # X-Amz-Date too far from the server clock
SCOPE = "scope"                # wrong region/service/date in the credential scope
MISSING_CONTENT_SHA256 = "missing_content_sha256"   # S3 only: no x-amz-content-sha256 header


class SigV4Error(Exception):
    def __init__(self, kind: str, message: str, access_key_id: Optional[str] = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.access_key_id = access_key_id


@dataclass
class Secret:
    """What the endpoint knows about an access key."""
    secret_access_key: str
    session_token: Optional[str] = None       # required for ASIA... session keys
    expiration: Optional[float] = None        # epoch seconds, session keys only
    principal: object = None                  # opaque, handed back to the caller


@dataclass
class VerifiedRequest:
    access_key_id: str
    region: str
    service: str
    timestamp: str
    signed_headers: List[str]
    principal: object = None
    canonical_request: str = ""
    payload_hash: Optional[str] = None        # S3: x-amz-content-sha256 as received


@dataclass
class ParsedAuthorization:
    access_key_id: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: List[str]
    signature: str
    raw_credential: str = ""
    extra: dict = field(default_factory=dict)


class _ReceivedHeadersSigV4(SigV4Auth):
    """SigV4Auth that canonicalises exactly the headers the client said it signed.

    Stock botocore signs "all headers but a small blacklist" (user-agent, expect, ...), which
    is right for a client but wrong for a verifier: the client's SignedHeaders list is what
    counts. Everything else (header value trimming, duplicate joining, path/query encoding,
    payload hashing, key derivation) is botocore's own code.
    """

    def __init__(self, credentials, service_name, region_name, signed_headers):
        super().__init__(credentials, service_name, region_name)
        self._signed = signed_headers

    def headers_to_sign(self, request):
        header_map = HTTPHeaders()
        for name in self._signed:
            for value in request.headers.get_all(name) or []:
                header_map[name] = value
        return header_map


def parse_authorization(value: str) -> ParsedAuthorization:
    """Parse 'AWS4-HMAC-SHA256 Credential=AK/d/r/s/aws4_request, SignedHeaders=a;b, Signature=hex'."""
    if not value.startswith(ALGORITHM + " "):
        raise SigV4Error(INCOMPLETE, "Unsupported AWS 'algorithm': '%s'" % value.split(" ")[0])
    parts = {}
    for item in value[len(ALGORITHM) + 1:].split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            raise SigV4Error(INCOMPLETE, "Authorization header requires each component to be of the form key=value")
        parts[key] = val
    for required in ("Credential", "SignedHeaders", "Signature"):
        if required not in parts:
            raise SigV4Error(
                INCOMPLETE,
                "Authorization header requires '%s' parameter. Authorization=%s" % (required, value))
    cred = parts["Credential"].split("/")
    if len(cred) != 5:
        raise SigV4Error(INCOMPLETE, "Credential must have exactly 5 slash-delimited elements, e.g. "
                         "keyid/date/region/service/term, got '%s'" % parts["Credential"])
    return ParsedAuthorization(
        access_key_id=cred[0], date=cred[1], region=cred[2], service=cred[3], terminator=cred[4],
        signed_headers=[h.strip().lower() for h in parts["SignedHeaders"].split(";") if h.strip()],
        signature=parts["Signature"].strip(), raw_credential=parts["Credential"])


def parse_query(raw_query: str) -> List[Tuple[str, str]]:
    """Split a raw query string into decoded pairs; botocore re-encodes them canonically.

    AWS decodes the received query and URI-encodes each name/value again ('+' stays a
    literal plus), so a client that encoded differently but equivalently still verifies.
    """
    pairs = []
    if raw_query:
        for item in raw_query.split("&"):
            key, _, val = item.partition("=")
            pairs.append((unquote(key), unquote(val)))
    return pairs


def request_timestamp(headers: HTTPHeaders) -> Optional[str]:
    """X-Amz-Date, else the Date header converted to the SigV4 basic format."""
    value = headers.get("x-amz-date")
    if value:
        return value.strip()
    date = headers.get("date")
    if date:
        from email.utils import parsedate_to_datetime
        try:
            return parsedate_to_datetime(date).astimezone(datetime.timezone.utc).strftime(SIGV4_TIMESTAMP)
        except (TypeError, ValueError):
            return None
    return None


def _fmt(ts: datetime.datetime) -> str:
    return ts.strftime(SIGV4_TIMESTAMP)


def check_skew(timestamp: str, now: float, max_skew_seconds: int) -> None:
    """AWS's own wording, e.g. 'Signature expired: A is now earlier than B (C - 5 min.)'."""
    try:
        when = datetime.datetime.strptime(timestamp, SIGV4_TIMESTAMP).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise SigV4Error(INCOMPLETE, "Invalid X-Amz-Date '%s': expected format yyyyMMdd'T'HHmmss'Z'" % timestamp)
    server = datetime.datetime.fromtimestamp(int(now), datetime.timezone.utc)
    window = datetime.timedelta(seconds=max_skew_seconds)
    minutes = max_skew_seconds // 60
    if when < server - window:
        raise SigV4Error(SKEW, "Signature expired: %s is now earlier than %s (%s - %d min.)"
                         % (timestamp, _fmt(server - window), _fmt(server), minutes))
    if when > server + window:
        raise SigV4Error(SKEW, "Signature not yet current: %s is still later than %s (%s + %d min.)"
                         % (timestamp, _fmt(server + window), _fmt(server), minutes))


class _ReceivedHeadersS3SigV4(_ReceivedHeadersSigV4, S3SigV4Auth):
    """botocore's S3 signer (no path normalisation, payload hash from x-amz-content-sha256) over
    the headers the client said it signed."""


def compute_signature(method: str, raw_path: str, raw_query: str, headers: HTTPHeaders, body: bytes,
                      timestamp: str, secret: str, region: str, service: str,
                      signed_headers: Sequence[str], signer_class=_ReceivedHeadersSigV4) -> Tuple[str, str]:
    """Return (canonical_request, signature) as botocore computes them for this request."""
    # The scheme only matters to botocore's payload decision: over 'http' it always hashes the
    # body (unless X-Amz-Content-SHA256 says otherwise), which is what we want.
    request = AWSRequest(method=method, url="http://verifier.invalid" + raw_path,
                         params=parse_query(raw_query), data=body)
    request.headers = headers
    request.context["timestamp"] = timestamp
    signer = signer_class(Credentials("unused", secret), service, region, list(signed_headers))
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    return canonical, signer.signature(string_to_sign, request)


def _checked_authorization(headers: HTTPHeaders, now: float, expected_service: str,
                           allowed_regions: Sequence[str], max_skew_seconds: int,
                           check_clock: bool) -> Tuple[ParsedAuthorization, str]:
    """The parsed Authorization header and the request timestamp, after the checks AWS makes
    before it looks at the key: header shape, signed headers present, clock skew, scope."""
    authorization = headers.get("authorization")
    if not authorization:
        raise SigV4Error(MISSING, "Missing Authentication Token")
    auth = parse_authorization(authorization.strip())

    if auth.terminator != "aws4_request":
        raise SigV4Error(SCOPE, "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. "
                         % auth.terminator, auth.access_key_id)
    if "host" not in auth.signed_headers:
        raise SigV4Error(INCOMPLETE, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
                         auth.access_key_id)
    for name in auth.signed_headers:
        if headers.get(name) is None:
            raise SigV4Error(MISMATCH, "The request signature we calculated does not match the signature you "
                             "provided. Signed header '%s' is missing from the request." % name, auth.access_key_id)

    timestamp = request_timestamp(headers)
    if not timestamp:
        raise SigV4Error(INCOMPLETE, "Authorization header requires existence of either a 'X-Amz-Date' or a "
                         "'Date' header. Authorization=%s" % authorization, auth.access_key_id)
    if check_clock:
        check_skew(timestamp, now, max_skew_seconds)

    # Scope checks come before the key lookup, as AWS does (a wrong region fails even for a good key).
    if auth.service != expected_service:
        raise SigV4Error(SCOPE, "Credential should be scoped to correct service: '%s'. " % expected_service,
                         auth.access_key_id)
    if allowed_regions and auth.region not in allowed_regions:
        raise SigV4Error(SCOPE, "Credential should be scoped to a valid region, not '%s'. " % auth.region,
                         auth.access_key_id)
    if auth.date != timestamp[0:8]:
        raise SigV4Error(SCOPE, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                         "from HTTP: '%s' != '%s', from '%s'." % (auth.date, timestamp[0:8],
                                                                   "X-Amz-Date" if headers.get("x-amz-date") else "Date"),
                         auth.access_key_id)
    return auth, timestamp


def _checked_secret(auth: ParsedAuthorization, headers: HTTPHeaders, lookup: Callable[[str], Optional[Secret]],
                    now: float) -> Secret:
    secret = lookup(auth.access_key_id)
    if secret is None:
        raise SigV4Error(UNKNOWN_KEY, "The security token included in the request is invalid.", auth.access_key_id)
    if secret.session_token is not None:
        # Session credentials: the token travels in X-Amz-Security-Token (signed or appended
        # after signing; AWS accepts both for non-S3 services).
        presented = headers.get("x-amz-security-token")
        if presented is None or not hmac.compare_digest(presented.strip(), secret.session_token):
            raise SigV4Error(BAD_TOKEN, "The security token included in the request is invalid.", auth.access_key_id)
        if secret.expiration is not None and now >= secret.expiration:
            raise SigV4Error(EXPIRED_TOKEN, "The security token included in the request is expired",
                             auth.access_key_id)
    return secret


SIGNATURE_MISMATCH_MESSAGE = ("The request signature we calculated does not match the signature you provided. "
                              "Check your AWS Secret Access Key and signing method. Consult the service "
                              "documentation for details.")


def verify_request(method: str, raw_path: str, raw_query: str, headers: HTTPHeaders, body: bytes, *,
                   lookup: Callable[[str], Optional[Secret]], now: float,
                   expected_service: str, allowed_regions: Sequence[str] = (),
                   max_skew_seconds: int = 300, check_clock: bool = True) -> VerifiedRequest:
    """Verify one received request; raise SigV4Error on any failure.

    headers: all received headers (duplicates kept, original case irrelevant).
    lookup: access key id -> Secret or None.
    allowed_regions: empty means any region.
    """
    auth, timestamp = _checked_authorization(headers, now, expected_service, allowed_regions, max_skew_seconds,
                                             check_clock)
    secret = _checked_secret(auth, headers, lookup, now)

    declared = headers.get("x-amz-content-sha256")
    if declared and declared.strip() != UNSIGNED_PAYLOAD and declared.strip() != hashlib.sha256(body).hexdigest():
        # botocore trusts this header when present; the server must check it against the body.
        raise SigV4Error(MISMATCH, "The provided 'x-amz-content-sha256' header does not match what was computed.",
                         auth.access_key_id)

    canonical, expected = compute_signature(method, raw_path, raw_query, headers, body, timestamp,
                                            secret.secret_access_key, auth.region, auth.service,
                                            auth.signed_headers)
    if not hmac.compare_digest(expected, auth.signature):
        raise SigV4Error(MISMATCH, SIGNATURE_MISMATCH_MESSAGE, auth.access_key_id)
    return VerifiedRequest(access_key_id=auth.access_key_id, region=auth.region, service=auth.service,
                           timestamp=timestamp, signed_headers=auth.signed_headers,
                           principal=secret.principal, canonical_request=canonical)


def verify_s3_request(method: str, raw_path: str, raw_query: str, headers: HTTPHeaders, *,
                      lookup: Callable[[str], Optional[Secret]], now: float, allowed_regions: Sequence[str] = (),
                      max_skew_seconds: int = 900, check_clock: bool = True) -> VerifiedRequest:
    """Verify an S3 request from its headers alone, with botocore's S3SigV4Auth (S3's rules: the
    path exactly as received, no normalisation or double encoding; the payload hash is the
    x-amz-content-sha256 header, which S3 requires). The body is not looked at: the caller streams
    it and checks its SHA-256 against VerifiedRequest.payload_hash (unless UNSIGNED-PAYLOAD).
    A signature mismatch carries the canonical request we computed (S3 returns it, too)."""
    if headers.get("authorization") and headers.get("x-amz-content-sha256") is None:
        raise SigV4Error(MISSING_CONTENT_SHA256, "Missing required header for this request: x-amz-content-sha256")
    auth, timestamp = _checked_authorization(headers, now, "s3", allowed_regions, max_skew_seconds, check_clock)
    secret = _checked_secret(auth, headers, lookup, now)
    canonical, expected = compute_signature(method, raw_path, raw_query, headers, b"", timestamp,
                                            secret.secret_access_key, auth.region, "s3", auth.signed_headers,
                                            signer_class=_ReceivedHeadersS3SigV4)
    if not hmac.compare_digest(expected, auth.signature):
        error = SigV4Error(MISMATCH, SIGNATURE_MISMATCH_MESSAGE, auth.access_key_id)
        error.canonical_request = canonical
        raise error
    return VerifiedRequest(access_key_id=auth.access_key_id, region=auth.region, service="s3",
                           timestamp=timestamp, signed_headers=auth.signed_headers,
                           principal=secret.principal, canonical_request=canonical,
                           payload_hash=headers.get("x-amz-content-sha256").strip())


def headers_from_pairs(pairs: Sequence[Tuple[str, str]]) -> HTTPHeaders:
    """Build the HTTPHeaders multimap botocore expects, keeping duplicates in order."""
    result = HTTPHeaders()
    for name, value in pairs:
        result[name] = value
    return result


_HEADER_LINE = re.compile(r"^([^:\s]+):(.*)$")


def parse_raw_request(text: str) -> Tuple[str, str, str, HTTPHeaders, bytes]:
    """Parse an aws-c-auth test-suite request.txt (folded header lines allowed)."""
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" ", 1)[0]              # drop " HTTP/1.1"; the target may hold spaces
    pairs: List[List[str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and pairs:
            pairs[-1][1] += " " + line.strip()      # obsolete line folding
            continue
        match = _HEADER_LINE.match(line)
        if match:
            pairs.append([match.group(1), match.group(2)])
    path, _, query = target.partition("?")
    return method, path, query, headers_from_pairs([tuple(p) for p in pairs]), body.encode("utf-8")
