#!/usr/bin/python3
"""tests/support/ecr_endpoint.py with three changes for benchmarking, so that the fake's own costs
do not swamp what bench/run.sh measures (bench/run.sh --stock-endpoint uses the stock one):

1. TCP_NODELAY on every accepted connection. The stock handler writes the response headers and
   the body in two send() calls on a keep-alive connection with Nagle's algorithm on, so the body
   waits for the client's delayed ACK: about 40 ms added to every request after the first on a
   connection. cdk-assets reuses its connections; this alone took its 50-asset no-op (151 calls)
   from 8.1 s to 3.5 s in a trial run. Real AWS endpoints don't stall like that.
2. DescribeImages by imageIds costs what it costs on ECR, one lookup per requested id. The
   stock one lists every tag of the repository and HEADs each (to fill `imageTags` with all the
   tags of the image): with 50 tags in the bootstrap repository that is ~0.8 s per call on a
   busy 2-core machine, and cdk-assets makes one call per asset (the 50-asset no-op took ~40 s).
   Here each requested id is resolved with one HEAD plus one GET, as before, and `imageTags`
   holds the requested tag only. cdk-assets only asks whether the image exists; assetctl does
   not call DescribeImages.
3. The endpoint's own calls to the registry (a HEAD or GET per image id in DescribeImages and
   BatchGetImage) reuse one keep-alive TLS connection per handler thread instead of a new TLS
   handshake each, for both tools alike.

Everything else (SigV4 checks with botocore, STS, BatchGetImage's answers, the request log, the
control API) is the unmodified test endpoint.

Each request log line also gets `server_ms`: how long the endpoint took from parsing the request
to writing the log line (signature check and the registry round trips included, sending the
answer excluded), so the bench can say how much of a run was spent waiting on this fake.
"""

import http.client
import os
import socket
import sys
import threading
import time
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "support"))
import ecr_endpoint as endpoint  # noqa: E402


def describe_images(ep, ctx, params: dict) -> dict:
    if params.get("imageIds") is None:          # listing: keep the stock behaviour
        return STOCK_DESCRIBE_IMAGES(ep, ctx, params)
    repo, account = endpoint._require_repository(ep, ctx, params)
    endpoint._require_registry(ep)
    ids = endpoint._image_ids(params)
    ctx.log["image_ids"] = ids
    details = []
    for image_id in ids:
        if image_id.get("imageDigest") and not endpoint.DIGEST_RE.match(image_id["imageDigest"]):
            raise endpoint.ecr_error("InvalidParameterException", "Invalid parameter at 'imageDigest' failed to "
                                     "satisfy constraint: 'Invalid digest'")
        found = endpoint._resolve(ep, repo, image_id)
        if not found:
            raise endpoint.ecr_error("ImageNotFoundException", "The image with imageId %s does not exist within "
                                     "the repository with name '%s' in the registry with id '%s'"
                                     % (endpoint._id_text(image_id), repo, account))
        tags = [image_id["imageTag"]] if image_id.get("imageTag") else []
        details.append(endpoint._image_detail(ep, repo, account, found[0], found[1], tags))
    return {"imageDetails": details}


STOCK_DESCRIBE_IMAGES = endpoint.ECR_OPERATIONS["DescribeImages"]
endpoint.ECR_OPERATIONS["DescribeImages"] = describe_images

STOCK_NEW_LOG = endpoint.Handler.new_log
STOCK_LOG = endpoint.Endpoint.log
STARTED = {}      # id(log entry) -> perf_counter() at new_log


def new_log(self, service, operation):
    entry = STOCK_NEW_LOG(self, service, operation)
    STARTED[id(entry)] = time.perf_counter()
    return entry


def log(self, entry: dict) -> None:
    start = STARTED.pop(id(entry), None)
    if start is not None:
        entry["server_ms"] = round((time.perf_counter() - start) * 1000.0, 2)
    STOCK_LOG(self, entry)


endpoint.Handler.new_log = new_log
endpoint.Endpoint.log = log

STOCK_SETUP = endpoint.Handler.setup


def setup(self) -> None:
    STOCK_SETUP(self)
    self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


endpoint.Handler.setup = setup

CONNECTIONS = threading.local()


def registry_request(self, method: str, path: str, accept=None):
    """RegistryClient.request over a per-thread keep-alive connection (one retry on a stale one)."""
    parts = urlsplit(self.url)
    headers = {"Authorization": self.auth}
    if accept:
        headers["Accept"] = ", ".join(accept)
    for attempt in (1, 2):
        conn = getattr(CONNECTIONS, "conn", None)
        if conn is None:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=10, context=self.context)
            else:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            CONNECTIONS.conn = conn
        try:
            conn.request(method, path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            if resp.will_close:
                conn.close()
                CONNECTIONS.conn = None
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        except (OSError, http.client.HTTPException):
            conn.close()
            CONNECTIONS.conn = None
            if attempt == 2:
                raise


endpoint.RegistryClient.request = registry_request

if __name__ == "__main__":
    sys.exit(endpoint.main())
