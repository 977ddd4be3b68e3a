"""S3 (REST-XML, path style) for the local test endpoint (ecr_endpoint.py); not a general emulator.

ecr_endpoint.Handler hands every request whose credential scope names service `s3` (and every
unsigned request that is not for STS or the control API) to S3Service.handle. Requests are
path style, `/<bucket>/<key>`, as clients use it on loopback. Every signature is verified by
botocore's own S3 signer (sigv4_verify.verify_s3_request), never by assetctl code; the payload
hash (x-amz-content-sha256) is checked against the body's real SHA-256 while the body streams
to disk, so 50 MiB parts never sit in memory.

Operations: ListBuckets, HeadBucket, GetBucketLocation, GetBucketEncryption, ListObjectsV2,
ListMultipartUploads, PutObject, HeadObject, GetObject (Range), DeleteObject,
CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListParts.

Buckets (endpoint config "s3": {"data_dir": D, "buckets": [spec...]}), a spec being
    {"name", "region", "account", "encryption": "none" | "AES256" | "aws:kms" | {"kms": ARN or null},
     "deny_get_encryption": false, "allow_accounts": [other accounts with full access],
     "require_sse": null | "AES256" | "aws:kms"}  (a bucket policy denying writes without that header)
Objects live on disk: D/<bucket>/objects/<sha256(key)> (+ .json metadata, see object_file()),
parts of unfinished uploads in D/<bucket>/uploads/<id>/, temporary files in D/<bucket>/tmp/.
"""

import base64
import binascii
import datetime
import email.utils
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import traceback
import uuid
import xml.etree.ElementTree as ET
import zlib
from typing import Dict, List, Optional
from urllib.parse import parse_qsl, quote_plus, unquote
from xml.sax.saxutils import escape as xml_escape

import sigv4_verify as sigv4

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MIN_PART_SIZE = 5 << 20               # every part but the last (EntityTooSmall)
MAX_PART_NUMBER = 10000
PIECE_SIZE = 1 << 20                  # bodies are read, hashed, written and sent in pieces of this size
MAX_XML_BODY = 2 << 20                # the largest non-upload body we accept (CompleteMultipartUpload, ...)
MAX_KEYS = 1000
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
STREAMING_PREFIX = "STREAMING-"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
# Checksum headers S3 verifies -> hashlib/zlib name; crc32c and crc64nvme are stored, not verified.
VERIFIED_CHECKSUMS = {"sha256": "sha256", "sha1": "sha1", "crc32": "crc32"}
CHECKSUM_NAMES = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")

# IAM action of each operation: a principal's "deny" list and cross-account checks use it.
ACTIONS = {
    "ListBuckets": "s3:ListAllMyBuckets", "HeadBucket": "s3:ListBucket", "ListObjectsV2": "s3:ListBucket",
    "GetBucketLocation": "s3:GetBucketLocation", "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads", "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject", "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload", "ListParts": "s3:ListMultipartUploadParts",
    "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "DeleteObject": "s3:DeleteObject",
}
UPLOAD_OPERATIONS = ("PutObject", "UploadPart")     # their bodies stream to disk


# ----------------------------------------------------------------------------------------
# Errors and XML
# ----------------------------------------------------------------------------------------

class S3Error(Exception):
    """An S3 error answer: status, code, message and the extra elements S3 puts in <Error>."""

    def __init__(self, status: int, code: str, message: str, fields: list = None, headers: dict = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = list(fields or [])
        self.headers = dict(headers or {})


def access_denied() -> S3Error:
    return S3Error(403, "AccessDenied", "Access Denied")


def no_such_bucket(name: str) -> S3Error:
    return S3Error(404, "NoSuchBucket", "The specified bucket does not exist", [("BucketName", name)])


def no_such_key(key: str) -> S3Error:
    return S3Error(404, "NoSuchKey", "The specified key does not exist.", [("Key", key)])


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the "
                   "upload may have been aborted or completed.", [("UploadId", upload_id)])


def invalid_argument(message: str, name: str = None, value: str = None) -> S3Error:
    fields = [("ArgumentName", name), ("ArgumentValue", value)] if name else []
    return S3Error(400, "InvalidArgument", message, fields)


def malformed_xml() -> S3Error:
    return S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against "
                   "our published schema")


# SigV4 failure kind -> (status, S3 code, message or None for the verifier's own).
SIGV4_ERRORS = {
    sigv4.MISSING: (403, "AccessDenied", "Access Denied"),
    sigv4.INCOMPLETE: (400, "AuthorizationHeaderMalformed", None),
    sigv4.UNKNOWN_KEY: (403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our "
                        "records."),
    sigv4.BAD_TOKEN: (400, "InvalidToken", "The provided token is malformed or otherwise invalid."),
    sigv4.EXPIRED_TOKEN: (400, "ExpiredToken", "The provided token has expired."),
    sigv4.MISMATCH: (403, "SignatureDoesNotMatch", None),
    sigv4.SKEW: (403, "RequestTimeTooSkewed", "The difference between the request time and the current time is "
                 "too large."),
    sigv4.SCOPE: (400, "AuthorizationHeaderMalformed", None),
    sigv4.MISSING_CONTENT_SHA256: (400, "InvalidRequest", None),
}

# Injected faults without a code: S3's codes for the status.
DEFAULT_FAULTS = {
    400: ("RequestTimeout", "Your socket connection to the server was not read from or written to within the "
          "timeout period. Idle connections will be closed."),
    403: ("AccessDenied", "Access Denied"),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}


def xml_element(name: str, content) -> str:
    """<name>content</name>; content is text, a number, a bool, None (empty) or [(name, content)]."""
    if content is None:
        return "<%s/>" % name
    if isinstance(content, list):
        inner = "".join(xml_element(child, value) for child, value in content)
    elif isinstance(content, bool):
        inner = "true" if content else "false"
    else:
        inner = xml_escape(str(content))
    return "<%s>%s</%s>" % (name, inner, name)


def xml_document(root: str, children: list, namespace: bool = True) -> bytes:
    attrs = ' xmlns="%s"' % S3_NAMESPACE if namespace else ""
    inner = "".join(xml_element(name, value) for name, value in children)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<%s%s>%s</%s>' % (root, attrs, inner, root)).encode()


def error_document(error: S3Error, request_id: str, host_id: str) -> bytes:
    fields = [("Code", error.code), ("Message", error.message)] + [f for f in error.fields if f[1] is not None]
    return xml_document("Error", fields + [("RequestId", request_id), ("HostId", host_id)], namespace=False)


def iso_time(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def http_time(epoch: float) -> str:
    return email.utils.formatdate(int(epoch), usegmt=True)


def local_name(element) -> str:
    return element.tag.rsplit("}", 1)[-1]


# ----------------------------------------------------------------------------------------
# Buckets
# ----------------------------------------------------------------------------------------

def normalize_encryption(value):
    """"none" | "AES256" | {"kms": ARN or None}; "aws:kms" (no key id) is {"kms": None}."""
    if value in (None, "none", "AES256"):
        return value or "none"
    if value == "aws:kms":
        return {"kms": None}
    if isinstance(value, dict) and set(value) == {"kms"}:
        return {"kms": value["kms"]}
    raise ValueError("bucket encryption must be 'none', 'AES256', 'aws:kms' or {'kms': ARN}: %r" % (value,))


def normalize_bucket(spec: dict) -> dict:
    name = spec["name"]
    if not BUCKET_RE.match(name):
        raise ValueError("invalid bucket name %r" % name)
    account = str(spec["account"])
    if not ACCOUNT_RE.match(account):
        raise ValueError("bucket %s: account must be 12 digits, not %r" % (name, account))
    return {"name": name, "region": spec.get("region") or "us-east-1", "account": account,
            "encryption": normalize_encryption(spec.get("encryption", "none")),
            "deny_get_encryption": bool(spec.get("deny_get_encryption", False)),
            "require_sse": spec.get("require_sse"),
            "allow_accounts": [str(a) for a in spec.get("allow_accounts") or []],
            "created": spec.get("created") or time.time()}


def aws_managed_kms_key(account: str, region: str) -> str:
    """The ARN of the account's `aws/s3` key in region (stable, like the real one)."""
    seed = hashlib.sha256(("aws/s3:%s:%s" % (account, region)).encode()).digest()
    return "arn:aws:kms:%s:%s:key/%s" % (region, account, uuid.UUID(bytes=seed[:16], version=4))


def kms_key_arn(key_id: str, account: str, region: str) -> str:
    """What S3 echoes for a key id given as an ARN, a bare key id or an alias."""
    if key_id.startswith("arn:"):
        return key_id
    if key_id.startswith("alias/"):
        return "arn:aws:kms:%s:%s:%s" % (region, account, key_id)
    return "arn:aws:kms:%s:%s:key/%s" % (region, account, key_id)


def default_sse(bucket: dict) -> Optional[dict]:
    """The encryption a PutObject without SSE headers gets from the bucket's default."""
    encryption = bucket["encryption"]
    if encryption == "none":
        return None
    if encryption == "AES256":
        return {"algorithm": "AES256"}
    key = encryption["kms"] or aws_managed_kms_key(bucket["account"], bucket["region"])
    return {"algorithm": "aws:kms", "kms_key_id": key}


def sse_headers(sse: Optional[dict]) -> dict:
    if not sse:
        return {}
    headers = {"x-amz-server-side-encryption": sse["algorithm"]}
    if sse.get("kms_key_id"):
        headers["x-amz-server-side-encryption-aws-kms-key-id"] = sse["kms_key_id"]
    return headers


def object_file(data_dir: str, bucket: str, key: str) -> str:
    """Where the bytes of bucket/key are (its metadata: the same path + '.json')."""
    return os.path.join(data_dir, bucket, "objects", hashlib.sha256(key.encode("utf-8", "surrogateescape"))
                        .hexdigest())


# ----------------------------------------------------------------------------------------
# Storage
# ----------------------------------------------------------------------------------------

class Store:
    """Objects and unfinished multipart uploads, on disk under data_dir; thread-safe.

    Bytes are written to a temporary file first and renamed into place under the lock together
    with the index update, so a reader sees the old object or the new one, never a part."""

    def __init__(self, data_dir: str, buckets: List[dict]):
        self.data_dir = data_dir
        self.lock = threading.RLock()
        self.buckets: Dict[str, dict] = {}
        self.objects: Dict[str, Dict[str, dict]] = {}    # bucket -> key -> metadata
        self.uploads: Dict[str, dict] = {}               # upload id -> upload record
        for spec in buckets:
            self.add_bucket(spec)

    def add_bucket(self, spec: dict) -> dict:
        bucket = normalize_bucket(spec)
        for sub in ("objects", "uploads", "tmp"):
            os.makedirs(os.path.join(self.data_dir, bucket["name"], sub), exist_ok=True)
        with self.lock:
            self.buckets[bucket["name"]] = bucket
            self.objects.setdefault(bucket["name"], {})
        return bucket

    def bucket(self, name: str) -> Optional[dict]:
        with self.lock:
            return self.buckets.get(name)

    def temp_file(self, bucket: str) -> str:
        fd, path = tempfile.mkstemp(dir=os.path.join(self.data_dir, bucket, "tmp"))
        os.close(fd)
        return path

    # Objects ---------------------------------------------------------------------------
    def put_object(self, bucket: str, key: str, temp_path: str, meta: dict) -> None:
        target = object_file(self.data_dir, bucket, key)
        meta_temp = temp_path + ".json"
        with open(meta_temp, "w") as handle:
            json.dump(dict(meta, key=key), handle, indent=1)
        with self.lock:
            os.replace(temp_path, target)
            os.replace(meta_temp, target + ".json")
            self.objects[bucket][key] = dict(meta, key=key)

    def open_object(self, bucket: str, key: str):
        """(metadata, open binary file) or (None, None); the file stays the one read even if replaced."""
        with self.lock:
            meta = self.objects[bucket].get(key)
            if meta is None:
                return None, None
            return dict(meta), open(object_file(self.data_dir, bucket, key), "rb")

    def object_meta(self, bucket: str, key: str) -> Optional[dict]:
        with self.lock:
            meta = self.objects[bucket].get(key)
            return dict(meta) if meta else None

    def delete_object(self, bucket: str, key: str) -> None:
        with self.lock:
            if self.objects[bucket].pop(key, None) is not None:
                target = object_file(self.data_dir, bucket, key)
                for path in (target, target + ".json"):
                    if os.path.exists(path):
                        os.remove(path)

    def keys(self, bucket: str) -> List[dict]:
        with self.lock:
            return [dict(self.objects[bucket][k]) for k in sorted(self.objects[bucket])]

    # Multipart -------------------------------------------------------------------------
    def create_upload(self, bucket: str, key: str, record: dict) -> str:
        upload_id = base64.urlsafe_b64encode(secrets.token_bytes(48)).decode().rstrip("=")
        os.makedirs(self.upload_dir(bucket, upload_id))
        with self.lock:
            self.uploads[upload_id] = dict(record, bucket=bucket, key=key, upload_id=upload_id, parts={})
        return upload_id

    def upload_dir(self, bucket: str, upload_id: str) -> str:
        return os.path.join(self.data_dir, bucket, "uploads", upload_id)

    def upload(self, bucket: str, key: str, upload_id: str) -> dict:
        with self.lock:
            record = self.uploads.get(upload_id)
            if record is None or record["bucket"] != bucket or record["key"] != key:
                raise no_such_upload(upload_id)
            return dict(record, parts=dict(record["parts"]))

    def add_part(self, upload_id: str, number: int, temp_path: str, part: dict) -> None:
        """Renames the part into its upload; NoSuchUpload (and the part dropped) if the upload
        was aborted or completed meanwhile."""
        with self.lock:
            record = self.uploads.get(upload_id)
            if record is None:
                os.remove(temp_path)
                raise no_such_upload(upload_id)
            path = os.path.join(self.upload_dir(record["bucket"], upload_id), str(number))
            os.replace(temp_path, path)
            record["parts"][number] = dict(part, path=path)

    def take_upload(self, bucket: str, key: str, upload_id: str) -> dict:
        """Removes the upload from the index (parts arriving later fail with NoSuchUpload)."""
        with self.lock:
            record = self.upload(bucket, key, upload_id)
            del self.uploads[upload_id]
            return record

    def restore_upload(self, record: dict) -> None:
        """A completion that failed its checks leaves the upload as it was, as S3 does."""
        with self.lock:
            self.uploads[record["upload_id"]] = record

    def drop_upload_files(self, record: dict) -> None:
        shutil.rmtree(self.upload_dir(record["bucket"], record["upload_id"]), ignore_errors=True)

    def uploads_of(self, bucket: str) -> List[dict]:
        with self.lock:
            found = [dict(u, parts=dict(u["parts"])) for u in self.uploads.values() if u["bucket"] == bucket]
        return sorted(found, key=lambda u: (u["key"], u["initiated"], u["upload_id"]))

    def describe(self) -> dict:
        with self.lock:
            return {"data_dir": self.data_dir, "buckets": {n: dict(b) for n, b in self.buckets.items()}}


# ----------------------------------------------------------------------------------------
# Request bodies
# ----------------------------------------------------------------------------------------

class PieceReader:
    """readline()/read(n) over an iterator of byte pieces (for aws-chunked decoding)."""

    def __init__(self, pieces):
        self.pieces = iter(pieces)
        self.buffer = b""

    def _fill(self) -> bool:
        piece = next(self.pieces, None)
        if piece is None:
            return False
        self.buffer += piece
        return True

    def readline(self) -> bytes:
        while b"\n" not in self.buffer:
            if len(self.buffer) > 65536 or not self._fill():
                line, self.buffer = self.buffer, b""
                return line
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size and self._fill():
            pass
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


class RequestBody:
    """The body of one request, read once, in pieces: Content-Length or Transfer-Encoding:
    chunked, and inside either S3's aws-chunked encoding (STREAMING-UNSIGNED-PAYLOAD-TRAILER)."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        self.chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self.length = int(headers.get("Content-Length") or 0)
        self.aws_chunked = "aws-chunked" in (headers.get("Content-Encoding") or "").lower()
        self.trailers: Dict[str, str] = {}
        self.consumed = False

    def _transfer_pieces(self):
        if self.chunked:
            yield from self._http_chunks()
            return
        remaining = self.length
        while remaining > 0:
            piece = self.rfile.read(min(remaining, PIECE_SIZE))
            if not piece:
                raise ConnectionError("client closed the connection in the middle of the body")
            remaining -= len(piece)
            yield piece

    def _http_chunks(self):
        while True:
            size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return
            remaining = size
            while remaining > 0:
                piece = self.rfile.read(min(remaining, PIECE_SIZE))
                if not piece:
                    raise ConnectionError("client closed the connection in the middle of a chunk")
                remaining -= len(piece)
                yield piece
            self.rfile.readline(65537)

    def _aws_chunks(self, raw):
        reader = PieceReader(raw)
        while True:
            header = reader.readline().strip()
            if not header:
                raise S3Error(400, "IncompleteBody", "The request body terminated unexpectedly")
            size = int(header.split(b";")[0], 16)
            if size == 0:
                self._read_trailers(reader)
                return
            data = reader.read(size)
            if len(data) != size:
                raise S3Error(400, "IncompleteBody", "The request body terminated unexpectedly")
            yield data
            reader.readline()

    def _read_trailers(self, reader: PieceReader) -> None:
        while True:
            line = reader.readline().strip()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            self.trailers[name.strip().lower()] = value.strip()
        for _ in iter(lambda: reader.read(PIECE_SIZE), b""):
            pass

    def pieces(self):
        """The decoded body, once."""
        if self.consumed:
            return
        self.consumed = True
        raw = self._transfer_pieces()
        yield from (self._aws_chunks(raw) if self.aws_chunked else raw)

    def drain(self) -> None:
        """Reads what is left (so the connection can serve the next request)."""
        if not self.consumed:
            self.aws_chunked = False     # drain raw bytes; never fail while draining
            for _ in self.pieces():
                pass


class Digests:
    """MD5 + SHA-256 (always) and the checksums the request asks about, over one body."""

    def __init__(self, wanted=()):
        self.size = 0
        self.md5, self.sha256 = hashlib.md5(), hashlib.sha256()
        self.extra = {name: hashlib.new(name) for name in wanted if name in ("sha1",)}
        self.crc32 = 0 if "crc32" in wanted else None

    def update(self, piece: bytes) -> None:
        self.size += len(piece)
        self.md5.update(piece)
        self.sha256.update(piece)
        for digest in self.extra.values():
            digest.update(piece)
        if self.crc32 is not None:
            self.crc32 = zlib.crc32(piece, self.crc32)

    def base64_of(self, name: str) -> Optional[str]:
        """The checksum `name` (sha256, sha1, crc32) as S3 writes it, base64 of the big-endian bytes."""
        if name == "sha256":
            return base64.b64encode(self.sha256.digest()).decode()
        if name == "crc32" and self.crc32 is not None:
            return base64.b64encode(self.crc32.to_bytes(4, "big")).decode()
        digest = self.extra.get(name)
        return base64.b64encode(digest.digest()).decode() if digest else None


def body_checksums(headers) -> Dict[str, str]:
    """x-amz-checksum-<name> headers of the request: name -> base64 value."""
    found = {}
    for name in CHECKSUM_NAMES:
        value = headers.get("x-amz-checksum-" + name)
        if value is not None:
            found[name] = value.strip()
    return found


def trailer_checksum_names(headers) -> List[str]:
    value = headers.get("x-amz-trailer") or ""
    return [t.strip().lower()[len("x-amz-checksum-"):] for t in value.split(",")
            if t.strip().lower().startswith("x-amz-checksum-")]


# ----------------------------------------------------------------------------------------
# Requests and answers
# ----------------------------------------------------------------------------------------

class S3Request:
    """Method, bucket, key and query of one path-style request, and the operation they name."""

    def __init__(self, method: str, raw_path: str, raw_query: str, headers):
        self.method, self.raw_path, self.raw_query, self.headers = method, raw_path, raw_query, headers
        self.query = dict(parse_qsl(raw_query, keep_blank_values=True))
        bucket, _, key = raw_path.lstrip("/").partition("/")
        self.bucket = unquote(bucket)
        self.key = unquote(key)
        self.operation = operation_name(method, self.bucket, self.key, self.query, headers)


def operation_name(method: str, bucket: str, key: str, query: dict, headers) -> Optional[str]:
    if not bucket:
        return "ListBuckets" if method == "GET" else None
    if not key:
        return _bucket_operation(method, query)
    if method == "PUT":
        if headers.get("x-amz-copy-source"):
            return None                            # CopyObject / UploadPartCopy: not implemented
        return "UploadPart" if "uploadId" in query else "PutObject"
    if method == "POST":
        return "CreateMultipartUpload" if "uploads" in query else "CompleteMultipartUpload" \
            if "uploadId" in query else None
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if method == "GET":
        return "ListParts" if "uploadId" in query else "GetObject"
    return "HeadObject" if method == "HEAD" else None


def _bucket_operation(method: str, query: dict) -> Optional[str]:
    if method == "HEAD":
        return "HeadBucket"
    if method != "GET":
        return None
    for name, operation in (("location", "GetBucketLocation"), ("encryption", "GetBucketEncryption"),
                            ("uploads", "ListMultipartUploads")):
        if name in query:
            return operation
    return "ListObjectsV2" if query.get("list-type") == "2" else None


class Response:
    """An answer: status, headers and either bytes or a range of an open file."""

    def __init__(self, status: int = 200, body: bytes = b"", headers: dict = None, content_type: str = None,
                 file=None, offset: int = 0, length: int = 0):
        self.status, self.body, self.headers = status, body, dict(headers or {})
        self.content_type = content_type or ("application/xml" if body else None)
        self.file, self.offset, self.length = file, offset, length


def xml_response(root: str, children: list, headers: dict = None) -> Response:
    return Response(200, xml_document(root, children), headers)


class Call:
    """Everything an operation needs about its request."""

    def __init__(self, req: S3Request, principal, region: str, payload_hash: str, body: RequestBody, log: dict):
        self.req, self.principal, self.region, self.payload_hash = req, principal, region, payload_hash
        self.body, self.log = body, log
        self.bucket: Optional[dict] = None
        self.request_bytes = b""                    # the body of operations that are not uploads

    @property
    def headers(self):
        return self.req.headers


def parse_range(value: Optional[str], size: int):
    """(offset, length, partial) for a Range header; InvalidRange when it selects nothing."""
    if not value:
        return 0, size, False
    match = re.match(r"^bytes=(\d*)-(\d*)$", value.strip())
    if not match or match.groups() == ("", ""):
        return 0, size, False                     # S3 ignores a Range it cannot parse
    first, last = match.groups()
    if first == "":
        length = min(int(last), size)
        return size - length, length, True
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise S3Error(416, "InvalidRange", "The requested range is not satisfiable",
                      [("RangeRequested", value), ("ActualObjectSize", size)])
    return start, end - start + 1, True


def url_encoded(value: Optional[str], encode: bool) -> Optional[str]:
    return quote_plus(value, safe="/") if encode and value is not None else value


def _int_param(query: dict, name: str, default: int, limit: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_argument("Provided %s not an integer or within integer range" % name, name, raw)
    if value < 0:
        raise invalid_argument("Argument %s must be an integer between 0 and 2147483647" % name, name, raw)
    return min(value, limit)


def owner_xml(account: str) -> list:
    return [("ID", hashlib.sha256(account.encode()).hexdigest()), ("DisplayName", "account-%s" % account)]


def stored_headers(headers) -> dict:
    """The headers S3 keeps with an object and returns on GET/HEAD."""
    kept = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith("x-amz-meta-") or lower in ("cache-control", "content-disposition", "content-language",
                                                        "expires") or (lower == "content-encoding" and
                                                                        value.strip().lower() != "aws-chunked"):
            kept[lower] = value
    return kept


# ----------------------------------------------------------------------------------------
# The service
# ----------------------------------------------------------------------------------------

class S3Service:
    """S3 of one endpoint: its Store plus the request handling. `endpoint` is the
    ecr_endpoint.Endpoint (keys and sessions, clock, injections, request log)."""

    def __init__(self, endpoint, config: dict):
        self.ep = endpoint
        data_dir = config.get("data_dir") or tempfile.mkdtemp(prefix="s3-endpoint-")
        os.makedirs(data_dir, exist_ok=True)
        self.store = Store(os.path.abspath(data_dir), config.get("buckets") or [])

    # Entry point ---------------------------------------------------------------------------
    def handle(self, h, parts) -> None:
        req = S3Request(h.command, h.raw_path(parts), parts.query, h.received_headers())
        log = h.new_log("s3", req.operation)
        log.update({"bucket": req.bucket or None, "key": req.key or None,
                    "upload_id": req.query.get("uploadId"), "part_number": req.query.get("partNumber")})
        body = RequestBody(h.rfile, h.headers)
        try:
            response = self._answer(h, req, body, log)
            if response is None:
                return                                 # an injected drop: no answer at all
            body.drain()
        except S3Error as err:
            try:
                body.drain()
            except (ConnectionError, OSError, ValueError):
                h.close_connection = True
            response = self._error_response(err, log)
        except (ConnectionError, ValueError) as err:   # the client went away mid-body, or sent garbage
            log.update({"status": 0, "error_code": "IncompleteBody", "error_message": str(err)})
            self.ep.log(log)
            h.close_connection = True
            return
        except Exception:                              # a bug here must show up as a 500 in the test
            traceback.print_exc()
            h.close_connection = True
            response = self._error_response(S3Error(500, "InternalError", "endpoint bug, see its stderr"), log)
        self._finish(h, response, log)

    def _answer(self, h, req: S3Request, body: RequestBody, log: dict) -> Optional[Response]:
        principal, region, payload_hash = self._verify(h, req, log)
        if not self._inject(h, req.operation, body, log):
            return None
        if req.operation is None:
            raise S3Error(501, "NotImplemented", "A header you provided implies functionality that is not "
                          "implemented")
        call = Call(req, principal, region, payload_hash, body, log)
        if req.operation != "ListBuckets":
            call.bucket = self._authorize(call)
        elif principal.denied(ACTIONS["ListBuckets"]):
            raise access_denied()
        if req.operation not in UPLOAD_OPERATIONS:
            call.request_bytes = self._small_body(call)
        return getattr(self, "op_" + req.operation)(call)

    def _finish(self, h, response: Response, log: dict) -> None:
        log["status"] = response.status
        self.ep.log(log)
        h.send_response(response.status)
        headers = dict(response.headers)
        headers.setdefault("x-amz-request-id", log["request_id"])
        headers.setdefault("x-amz-id-2", base64.b64encode(log["request_id"].encode()).decode())
        if response.content_type:
            h.send_header("Content-Type", response.content_type)
        length = response.length if response.file else len(response.body)
        h.send_header("Content-Length", str(length))
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        if h.command != "HEAD":
            self._write_body(h, response)
        if response.file:
            response.file.close()

    @staticmethod
    def _write_body(h, response: Response) -> None:
        if not response.file:
            h.wfile.write(response.body)
            return
        response.file.seek(response.offset)
        remaining = response.length
        while remaining > 0:
            piece = response.file.read(min(remaining, PIECE_SIZE))
            if not piece:
                break
            h.wfile.write(piece)
            remaining -= len(piece)

    def _error_response(self, err: S3Error, log: dict) -> Response:
        log.update({"status": err.status, "error_code": err.code, "error_message": err.message})
        host_id = base64.b64encode(log["request_id"].encode()).decode()
        return Response(err.status, error_document(err, log["request_id"], host_id), err.headers)

    # Signature, injections, access -------------------------------------------------------
    def _verify(self, h, req: S3Request, log: dict):
        ep = self.ep
        try:
            verified = sigv4.verify_s3_request(
                req.method, req.raw_path, req.raw_query, req.headers, lookup=ep.lookup_secret, now=ep.now(),
                allowed_regions=ep.config["regions"],
                max_skew_seconds=int(ep.config["max_skew_seconds"].get("s3", 900)))
        except sigv4.SigV4Error as err:
            log.update({"access_key_id": err.access_key_id, "signature_verified": False})
            status, code, message = SIGV4_ERRORS[err.kind]
            fields = [("AWSAccessKeyId", err.access_key_id)] if err.access_key_id else []
            if getattr(err, "canonical_request", None):
                fields.append(("CanonicalRequest", err.canonical_request))
            raise S3Error(status, code, message or err.message, fields)
        principal = verified.principal
        log.update({"access_key_id": verified.access_key_id, "signature_verified": True, "region": verified.region,
                    "account": principal.account, "principal_arn": principal.arn,
                    "payload_hash": verified.payload_hash})
        if verified.payload_hash.startswith(STREAMING_PREFIX) and verified.payload_hash != UNSIGNED_TRAILER:
            raise S3Error(501, "NotImplemented", "this test endpoint does not verify signed aws-chunked bodies "
                          "(%s)" % verified.payload_hash)
        return principal, verified.region, verified.payload_hash

    def _inject(self, h, operation: Optional[str], body: RequestBody, log: dict) -> bool:
        """Applies a matching injection rule: False if the answer is 'none' (connection dropped)."""
        rule = self.ep.take_injection("s3", operation or "")
        if rule is None:
            return True
        log.update({"injected": True, "injection_id": rule["id"]})
        if rule.get("delay_ms"):
            time.sleep(rule["delay_ms"] / 1000.0)     # simulated latency, not synchronisation
        if rule.get("drop"):
            body.drain()
            log.update({"status": 0, "error_code": "ConnectionDropped"})
            self.ep.log(log)
            h.close_connection = True
            return False
        if rule.get("status") is None:                # a delay only; the request then runs normally
            return True
        status = int(rule["status"])
        code, message = DEFAULT_FAULTS.get(status, DEFAULT_FAULTS[500])
        headers = {"Retry-After": str(rule["retry_after"])} if rule.get("retry_after") is not None else {}
        raise S3Error(status, rule.get("code") or code, rule.get("message") or message, headers=headers)

    def _authorize(self, call: Call) -> dict:
        """The bucket, if this caller may do this operation on it (S3's answers otherwise)."""
        req = call.req
        bucket = self.store.bucket(req.bucket)
        if bucket is None:
            raise no_such_bucket(req.bucket)
        expected = req.headers.get("x-amz-expected-bucket-owner")
        if expected is not None and not ACCOUNT_RE.match(expected.strip()):
            raise S3Error(400, "InvalidBucketOwnerAWSAccountID", "The value of the expected bucket owner parameter "
                          "must be an AWS Account ID... [%s]" % expected)
        if call.region != bucket["region"] and req.operation != "GetBucketLocation":
            raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; the region "
                          "'%s' is wrong; expecting '%s'" % (call.region, bucket["region"]),
                          [("Region", bucket["region"])], {"x-amz-bucket-region": bucket["region"]})
        account = call.principal.account
        if account != bucket["account"] and account not in bucket["allow_accounts"]:
            raise access_denied()
        if expected is not None and expected.strip() != bucket["account"]:
            raise access_denied()
        if call.principal.denied(ACTIONS[req.operation]):
            raise access_denied()
        return bucket

    # Bodies ----------------------------------------------------------------------------------
    def _small_body(self, call: Call) -> bytes:
        data, digests = bytearray(), Digests()
        for piece in call.body.pieces():
            if len(data) + len(piece) > MAX_XML_BODY:
                raise S3Error(400, "MaxMessageLengthExceeded", "Your request was too big.")
            data += piece
            digests.update(piece)
        self._check_digests(call, digests)
        return bytes(data)

    def _receive(self, call: Call):
        """Streams the body to a temporary file -> (path, Digests, checksums the client sent)."""
        wanted = list(body_checksums(call.headers)) + trailer_checksum_names(call.headers)
        digests = Digests(wanted)
        path = self.store.temp_file(call.bucket["name"])
        try:
            with open(path, "wb") as out:
                for piece in call.body.pieces():
                    digests.update(piece)
                    out.write(piece)
            checksums = self._check_digests(call, digests)
        except BaseException:
            os.remove(path)
            raise
        call.log.update({"bytes": digests.size, "checksums": sorted(checksums)})
        return path, digests, checksums

    def _check_digests(self, call: Call, digests: Digests) -> Dict[str, str]:
        """x-amz-content-sha256, Content-MD5 and x-amz-checksum-* against the body; -> the checksums."""
        declared = call.payload_hash
        actual = digests.sha256.hexdigest()
        if not declared.startswith(STREAMING_PREFIX) and declared != sigv4.UNSIGNED_PAYLOAD and declared != actual:
            raise S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not "
                          "match what was computed.", [("ClientComputedContentSHA256", declared),
                                                       ("S3ComputedContentSHA256", actual)])
        decoded_length = call.headers.get("x-amz-decoded-content-length")
        if call.body.aws_chunked and decoded_length is not None and int(decoded_length) != digests.size:
            raise S3Error(400, "IncompleteBody", "You did not provide the number of bytes specified by the "
                          "Content-Length HTTP header")
        self._check_md5(call.headers.get("Content-MD5"), digests)
        checksums = dict(body_checksums(call.headers))
        checksums.update({name[len("x-amz-checksum-"):]: value for name, value in call.body.trailers.items()
                          if name.startswith("x-amz-checksum-")})
        for name, value in checksums.items():
            if name in VERIFIED_CHECKSUMS and value != digests.base64_of(name):
                raise S3Error(400, "BadDigest", "The %s you specified did not match the calculated checksum."
                              % name.upper())
        return checksums

    @staticmethod
    def _check_md5(value: Optional[str], digests: Digests) -> None:
        if value is None:
            return
        try:
            given = base64.b64decode(value.strip(), validate=True)
        except binascii.Error:
            given = b""
        if len(given) != 16:
            raise S3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        if given != digests.md5.digest():
            raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")

    def _request_sse(self, call: Call) -> Optional[dict]:
        """The encryption a new object gets: the request's SSE headers, else the bucket default."""
        algorithm = call.headers.get("x-amz-server-side-encryption")
        key_id = call.headers.get("x-amz-server-side-encryption-aws-kms-key-id")
        call.log.update({"sse_requested": algorithm, "sse_kms_key_requested": key_id})
        required = call.bucket.get("require_sse")
        if required and (algorithm or "").strip() != required:
            raise access_denied()         # as a bucket policy denying puts without this header does
        if algorithm is None:
            if key_id is not None:
                raise invalid_argument("Server Side Encryption with AWS KMS managed key requires HTTP header "
                                       "x-amz-server-side-encryption : aws:kms", "x-amz-server-side-encryption",
                                       "null")
            return default_sse(call.bucket)
        algorithm = algorithm.strip()
        if algorithm not in SSE_ALGORITHMS:
            raise invalid_argument("The encryption method specified is not supported", "x-amz-server-side-encryption",
                                   algorithm)
        if algorithm == "AES256":
            if key_id is not None:
                raise invalid_argument("Server Side Encryption with AWS KMS managed key requires HTTP header "
                                       "x-amz-server-side-encryption : aws:kms", "x-amz-server-side-encryption",
                                       algorithm)
            return {"algorithm": "AES256"}
        bucket = call.bucket
        key = kms_key_arn(key_id.strip(), bucket["account"], bucket["region"]) if key_id else \
            aws_managed_kms_key(bucket["account"], bucket["region"])
        return {"algorithm": algorithm, "kms_key_id": key}

    def _new_object_fields(self, call: Call) -> dict:
        return {"content_type": call.headers.get("Content-Type") or "binary/octet-stream",
                "sse": self._request_sse(call), "headers": stored_headers(call.headers)}

    # Bucket operations -------------------------------------------------------------------
    def op_ListBuckets(self, call: Call) -> Response:
        account = call.principal.account
        buckets = sorted((b for b in self.store.describe()["buckets"].values() if b["account"] == account),
                         key=lambda b: b["name"])
        return xml_response("ListAllMyBucketsResult", [
            ("Owner", owner_xml(account)),
            ("Buckets", [("Bucket", [("Name", b["name"]), ("CreationDate", iso_time(b["created"]))])
                         for b in buckets])])

    def op_HeadBucket(self, call: Call) -> Response:
        return Response(200, headers={"x-amz-bucket-region": call.bucket["region"]})

    def op_GetBucketLocation(self, call: Call) -> Response:
        region = call.bucket["region"]
        inner = "" if region == "us-east-1" else xml_escape(region)     # us-east-1 is the empty constraint
        body = '<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="%s">%s</LocationConstraint>' % (
            S3_NAMESPACE, inner)
        return Response(200, body.encode())

    def op_GetBucketEncryption(self, call: Call) -> Response:
        bucket = call.bucket
        if bucket["deny_get_encryption"]:
            raise access_denied()
        encryption = bucket["encryption"]
        if encryption == "none":
            raise S3Error(404, "ServerSideEncryptionConfigurationNotFoundError", "The server side encryption "
                          "configuration was not found", [("BucketName", bucket["name"])])
        rule = [("SSEAlgorithm", "AES256")] if encryption == "AES256" else [("SSEAlgorithm", "aws:kms")] + (
            [("KMSMasterKeyID", encryption["kms"])] if encryption["kms"] else [])
        return xml_response("ServerSideEncryptionConfiguration", [
            ("Rule", [("ApplyServerSideEncryptionByDefault", rule), ("BucketKeyEnabled", False)])])

    def op_ListObjectsV2(self, call: Call) -> Response:
        query = call.req.query
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter") or None
        max_keys = _int_param(query, "max-keys", MAX_KEYS, MAX_KEYS)
        token = query.get("continuation-token")
        after = self._decode_token(token) if token is not None else query.get("start-after", "")
        items, truncated = self._list_items(call.bucket["name"], prefix, delimiter, after, max_keys)
        encode = query.get("encoding-type") == "url"
        children = [("Name", call.bucket["name"]), ("Prefix", url_encoded(prefix, encode)), ("KeyCount", len(items)),
                    ("MaxKeys", max_keys)]
        if delimiter:
            children.append(("Delimiter", url_encoded(delimiter, encode)))
        if encode:
            children.append(("EncodingType", "url"))
        children.append(("IsTruncated", truncated))
        if token is not None:
            children.append(("ContinuationToken", token))
        if truncated:
            last = items[-1][1] if items[-1][0] == "prefix" else items[-1][1]["key"]
            children.append(("NextContinuationToken", base64.urlsafe_b64encode(last.encode()).decode()))
        if query.get("start-after"):
            children.append(("StartAfter", url_encoded(query["start-after"], encode)))
        fetch_owner = query.get("fetch-owner") == "true"
        for kind, value in items:
            if kind == "prefix":
                children.append(("CommonPrefixes", [("Prefix", url_encoded(value, encode))]))
            else:
                children.append(("Contents", self._contents_xml(call.bucket, value, encode, fetch_owner)))
        return xml_response("ListBucketResult", children)

    @staticmethod
    def _decode_token(token: str) -> str:
        try:
            return base64.urlsafe_b64decode(token.encode()).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise invalid_argument("The continuation token provided is incorrect", "continuation-token", token)

    def _list_items(self, bucket: str, prefix: str, delimiter: Optional[str], after: str, max_keys: int):
        """[("key", meta) | ("prefix", common prefix)] in key order after `after`, and truncated?"""
        items = []
        for meta in self.store.keys(bucket):
            key = meta["key"]
            if not key.startswith(prefix) or key <= after:
                continue
            item = ("key", meta)
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[:cut + len(delimiter)]
                    if common == after or (items and items[-1] == ("prefix", common)):
                        continue
                    item = ("prefix", common)
            if len(items) == max_keys:
                return items, True
            items.append(item)
        return items, False

    @staticmethod
    def _contents_xml(bucket: dict, meta: dict, encode: bool, fetch_owner: bool) -> list:
        contents = [("Key", url_encoded(meta["key"], encode)), ("LastModified", iso_time(meta["last_modified"])),
                    ("ETag", meta["etag"])]
        contents += [("ChecksumAlgorithm", name.upper()) for name in sorted(meta.get("checksums") or {})]
        contents += [("Size", meta["size"]), ("StorageClass", "STANDARD")]
        if fetch_owner:
            contents.append(("Owner", owner_xml(bucket["account"])))
        return contents

    def op_ListMultipartUploads(self, call: Call) -> Response:
        query = call.req.query
        prefix = query.get("prefix", "")
        key_marker, id_marker = query.get("key-marker", ""), query.get("upload-id-marker", "")
        max_uploads = _int_param(query, "max-uploads", MAX_KEYS, MAX_KEYS)
        uploads = [u for u in self.store.uploads_of(call.bucket["name"]) if u["key"].startswith(prefix)]
        if key_marker and id_marker:
            uploads = [u for u in uploads if (u["key"], u["upload_id"]) > (key_marker, id_marker)]
        elif key_marker:
            uploads = [u for u in uploads if u["key"] > key_marker]
        page, truncated = uploads[:max_uploads], len(uploads) > max_uploads
        children = [("Bucket", call.bucket["name"]), ("KeyMarker", key_marker), ("UploadIdMarker", id_marker)]
        if truncated:
            children += [("NextKeyMarker", page[-1]["key"]), ("NextUploadIdMarker", page[-1]["upload_id"])]
        children += [("Prefix", prefix), ("MaxUploads", max_uploads), ("IsTruncated", truncated)]
        for upload in page:
            children.append(("Upload", self._upload_xml(call.bucket, upload)))
        return xml_response("ListMultipartUploadsResult", children)

    @staticmethod
    def _upload_xml(bucket: dict, upload: dict) -> list:
        fields = [("Key", upload["key"]), ("UploadId", upload["upload_id"]),
                  ("Initiator", [("ID", upload["initiator"]), ("DisplayName", upload["initiator"])]),
                  ("Owner", owner_xml(bucket["account"])), ("StorageClass", "STANDARD"),
                  ("Initiated", iso_time(upload["initiated"]))]
        if upload.get("checksum_algorithm"):
            fields.append(("ChecksumAlgorithm", upload["checksum_algorithm"]))
        return fields

    # Object operations -------------------------------------------------------------------
    def op_PutObject(self, call: Call) -> Response:
        fields = self._new_object_fields(call)
        path, digests, checksums = self._receive(call)
        meta = dict(fields, size=digests.size, etag='"%s"' % digests.md5.hexdigest(),
                    last_modified=int(self.ep.now()), checksums=checksums, parts_count=0)
        self.store.put_object(call.bucket["name"], call.req.key, path, meta)
        headers = dict(sse_headers(meta["sse"]), ETag=meta["etag"])
        headers.update({"x-amz-checksum-" + name: value for name, value in checksums.items()})
        return Response(200, headers=headers)

    def _object_headers(self, call: Call, meta: dict) -> dict:
        headers = {"ETag": meta["etag"], "Last-Modified": http_time(meta["last_modified"]), "Accept-Ranges": "bytes"}
        headers.update(sse_headers(meta.get("sse")))
        headers.update(meta.get("headers") or {})
        if (call.headers.get("x-amz-checksum-mode") or "").upper() == "ENABLED":
            headers.update({"x-amz-checksum-" + n: v for n, v in (meta.get("checksums") or {}).items()})
        if meta.get("parts_count"):
            headers["x-amz-mp-parts-count"] = str(meta["parts_count"])
        return headers

    def _read_object(self, call: Call) -> Response:
        meta, handle = self.store.open_object(call.bucket["name"], call.req.key)
        if meta is None:
            raise no_such_key(call.req.key)
        try:
            offset, length, partial = parse_range(call.headers.get("Range"), meta["size"])
        except S3Error:
            handle.close()
            raise
        headers = self._object_headers(call, meta)
        if partial:
            headers["Content-Range"] = "bytes %d-%d/%d" % (offset, offset + length - 1, meta["size"])
        return Response(206 if partial else 200, headers=headers, content_type=meta["content_type"], file=handle,
                        offset=offset, length=length)

    def op_GetObject(self, call: Call) -> Response:
        return self._read_object(call)

    def op_HeadObject(self, call: Call) -> Response:
        return self._read_object(call)

    def op_DeleteObject(self, call: Call) -> Response:
        self.store.delete_object(call.bucket["name"], call.req.key)
        return Response(204)

    # Multipart ---------------------------------------------------------------------------
    def op_CreateMultipartUpload(self, call: Call) -> Response:
        algorithm = (call.headers.get("x-amz-checksum-algorithm") or "").strip().upper() or None
        if algorithm is not None and algorithm.lower() not in CHECKSUM_NAMES:
            raise S3Error(400, "InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with "
                          "any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
        record = dict(self._new_object_fields(call), initiated=self.ep.now(), checksum_algorithm=algorithm,
                      initiator=call.principal.arn)
        upload_id = self.store.create_upload(call.bucket["name"], call.req.key, record)
        call.log["upload_id"] = upload_id
        headers = sse_headers(record["sse"])
        if algorithm:
            headers["x-amz-checksum-algorithm"] = algorithm
        return xml_response("InitiateMultipartUploadResult", [
            ("Bucket", call.bucket["name"]), ("Key", call.req.key), ("UploadId", upload_id)], headers)

    @staticmethod
    def _part_number(call: Call) -> int:
        raw = call.req.query.get("partNumber", "")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PART_NUMBER:
            raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", raw)
        return int(raw)

    def op_UploadPart(self, call: Call) -> Response:
        number = self._part_number(call)
        upload_id = call.req.query["uploadId"]
        upload = self.store.upload(call.bucket["name"], call.req.key, upload_id)
        path, digests, checksums = self._receive(call)
        algorithm = (upload.get("checksum_algorithm") or "").lower()
        if algorithm and (set(checksums) - {algorithm} or algorithm not in checksums):
            os.remove(path)
            sent = ",".join(sorted(checksums)) or "null"
            raise S3Error(400, "InvalidRequest", "Checksum Type mismatch occurred, expected checksum Type: %s, actual "
                          "checksum Type: %s" % (algorithm, sent))
        part = {"number": number, "size": digests.size, "etag": '"%s"' % digests.md5.hexdigest(),
                "last_modified": int(self.ep.now()), "checksums": checksums}
        self.store.add_part(upload_id, number, path, part)
        headers = dict(sse_headers(upload["sse"]), ETag=part["etag"])
        headers.update({"x-amz-checksum-" + name: value for name, value in checksums.items()})
        return Response(200, headers=headers)

    def op_ListParts(self, call: Call) -> Response:
        upload = self.store.upload(call.bucket["name"], call.req.key, call.req.query["uploadId"])
        query = call.req.query
        marker = _int_param(query, "part-number-marker", 0, MAX_PART_NUMBER)
        max_parts = _int_param(query, "max-parts", MAX_KEYS, MAX_KEYS)
        numbers = [n for n in sorted(upload["parts"]) if n > marker]
        page, truncated = numbers[:max_parts], len(numbers) > max_parts
        children = [("Bucket", call.bucket["name"]), ("Key", call.req.key), ("UploadId", upload["upload_id"]),
                    ("PartNumberMarker", marker)]
        if truncated:
            children.append(("NextPartNumberMarker", page[-1]))
        children += [("MaxParts", max_parts), ("IsTruncated", truncated)]
        for number in page:
            part = upload["parts"][number]
            fields = [("PartNumber", number), ("LastModified", iso_time(part["last_modified"])),
                      ("ETag", part["etag"]), ("Size", part["size"])]
            fields += [("Checksum" + name.upper(), value) for name, value in sorted(part["checksums"].items())]
            children.append(("Part", fields))
        children += self._upload_xml(call.bucket, upload)[2:5]
        if upload.get("checksum_algorithm"):
            children.append(("ChecksumAlgorithm", upload["checksum_algorithm"]))
        return xml_response("ListPartsResult", children)

    def op_AbortMultipartUpload(self, call: Call) -> Response:
        record = self.store.take_upload(call.bucket["name"], call.req.key, call.req.query["uploadId"])
        self.store.drop_upload_files(record)
        return Response(204)

    def op_CompleteMultipartUpload(self, call: Call) -> Response:
        requested = parse_complete_request(call.request_bytes)
        bucket, key = call.bucket["name"], call.req.key
        upload = self.store.take_upload(bucket, key, call.req.query["uploadId"])
        try:
            parts = check_completion(upload, requested)
            path, etag, checksum = self._assemble(bucket, parts, upload.get("checksum_algorithm"))
        except BaseException:
            self.store.restore_upload(upload)
            raise
        fields = {n: upload[n] for n in ("content_type", "sse", "headers")}
        checksums = {upload["checksum_algorithm"].lower(): checksum} if checksum else {}
        meta = dict(fields, size=sum(p["size"] for p in parts), etag=etag, last_modified=int(self.ep.now()),
                    checksums=checksums, parts_count=len(parts))
        self.store.put_object(bucket, key, path, meta)
        self.store.drop_upload_files(upload)
        call.log["bytes"] = meta["size"]
        children = [("Location", "http://%s/%s/%s" % (call.headers.get("Host", "localhost"), bucket, key)),
                    ("Bucket", bucket), ("Key", key), ("ETag", etag)]
        if checksum:
            children.append(("Checksum" + upload["checksum_algorithm"], checksum))
        return xml_response("CompleteMultipartUploadResult", children, sse_headers(upload["sse"]))

    def _assemble(self, bucket: str, parts: List[dict], algorithm: Optional[str]):
        """Concatenates the parts into a temporary file -> (path, multipart ETag, composite checksum)."""
        path = self.store.temp_file(bucket)
        md5s = hashlib.md5()
        try:
            with open(path, "wb") as out:
                for part in parts:
                    with open(part["path"], "rb") as source:
                        shutil.copyfileobj(source, out, PIECE_SIZE)
                    md5s.update(bytes.fromhex(part["etag"].strip('"')))
        except BaseException:
            os.remove(path)
            raise
        etag = '"%s-%d"' % (md5s.hexdigest(), len(parts))
        return path, etag, composite_checksum(parts, algorithm)


def composite_checksum(parts: List[dict], algorithm: Optional[str]) -> Optional[str]:
    """S3's checksum of checksums: the algorithm over the parts' decoded checksums, base64, '-N'."""
    name = (algorithm or "").lower()
    if name not in VERIFIED_CHECKSUMS:
        return None
    joined = b"".join(base64.b64decode(p["checksums"][name]) for p in parts)
    raw = zlib.crc32(joined).to_bytes(4, "big") if name == "crc32" else hashlib.new(name, joined).digest()
    return "%s-%d" % (base64.b64encode(raw).decode(), len(parts))


def parse_complete_request(body: bytes) -> List[dict]:
    """CompleteMultipartUpload's <Part> list -> [{"number", "etag", "checksums"}] in request order."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise malformed_xml()
    if local_name(root) != "CompleteMultipartUpload":
        raise malformed_xml()
    parts = []
    for element in root:
        if local_name(element) != "Part":
            raise malformed_xml()
        fields = {local_name(child): (child.text or "").strip() for child in element}
        if not fields.get("PartNumber", "").isdigit() or "ETag" not in fields:
            raise malformed_xml()
        parts.append({"number": int(fields["PartNumber"]), "etag": fields["ETag"].strip('"'),
                      "checksums": {n[len("Checksum"):].lower(): v for n, v in fields.items()
                                    if n.startswith("Checksum")}})
    if not parts:
        raise malformed_xml()
    return parts


def check_completion(upload: dict, requested: List[dict]) -> List[dict]:
    """The uploaded parts a completion names, after S3's checks (order, ETags, checksums, sizes)."""
    numbers = [p["number"] for p in requested]
    if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        raise S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered "
                      "by part number.", [("UploadId", upload["upload_id"])])
    algorithm = (upload.get("checksum_algorithm") or "").lower()
    parts = []
    for wanted in requested:
        part = upload["parts"].get(wanted["number"])
        if part is None or part["etag"].strip('"') != wanted["etag"]:
            raise invalid_part(upload, wanted)
        if algorithm:
            given = wanted["checksums"].get(algorithm)
            if given is None:
                raise S3Error(400, "InvalidRequest", "The upload was created using a %s checksum. The complete "
                              "request must include the checksum for each part. It was missing for part %d in the "
                              "request." % (algorithm, wanted["number"]))
            if given != part["checksums"].get(algorithm):
                raise invalid_part(upload, wanted)
        parts.append(part)
    for part in parts[:-1]:
        if part["size"] < MIN_PART_SIZE:
            raise S3Error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                          [("ProposedSize", part["size"]), ("MinSizeAllowed", MIN_PART_SIZE),
                           ("PartNumber", part["number"]), ("ETag", part["etag"].strip('"'))])
    return parts


def invalid_part(upload: dict, wanted: dict) -> S3Error:
    return S3Error(400, "InvalidPart", "One or more of the specified parts could not be found.  The part may not "
                   "have been uploaded, or the specified entity tag may not match the part's entity tag.",
                   [("UploadId", upload["upload_id"]), ("PartNumber", wanted["number"]), ("ETag", wanted["etag"])])


def is_s3_request(path: str, headers) -> bool:
    """S3 if the credential scope names service s3; unsigned requests too, unless for STS ('/') or
    the control API. (ECR and STS requests always go to '/'.)"""
    authorization = headers.get("Authorization") or ""
    match = re.search(r"Credential=[^/,]*/[^/,]*/[^/,]*/([^/,]*)/", authorization)
    if match:
        return match.group(1) == "s3"
    if authorization:
        return False
    return path != "/" and not path.startswith("/__control/")
