"""Tiny, deterministic container images built with plain Python (no engine, no network).

- build_image(): one gzip layer (mtime 0, fixed level) + config + manifest, as bytes.
- write_oci_layout(): an OCI image layout directory that `skopeo copy oci:DIR:TAG ...` reads.
- push_image(): upload blobs then the manifest to a registry over the distribution API with
  urllib (HEAD blob -> POST upload -> monolithic PUT ?digest=, manifest last).

Used by the endpoint tests to put a real image into the real registry, and reusable by the
C++ integration tests' fixtures.
"""

import base64
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tarball_writer import (  # noqa: E402  (same directory)
    DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, REF_NAME, Entry,
    canonical_json, deterministic_gzip, oci_layout_entries, tar_bytes, write_directory)
from tarball_writer import sha256 as sha256_digest  # noqa: E402,F401  (callers use oci_image.sha256_digest)


@dataclass
class Image:
    manifest: bytes
    media_type: str
    blobs: Dict[str, bytes] = field(default_factory=dict)   # digest -> bytes (config + layers)
    config_digest: str = ""
    layer_digests: List[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)


def build_image(files: Dict[str, bytes] = None, docker_media_types: bool = False) -> Image:
    """A one-layer linux/amd64 image; same input -> same digests."""
    files = files or {"hello.txt": b"hello from assetctl tests\n"}
    tar = tar_bytes([Entry(name, data) for name, data in files.items()])
    layer = deterministic_gzip(tar)
    config = canonical_json({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/hello"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(tar)]},
        "history": [{"created_by": "assetctl tests/support/oci_image.py"}],
    })
    manifest_type = DOCKER_MANIFEST if docker_media_types else OCI_MANIFEST
    manifest = canonical_json({
        "schemaVersion": 2, "mediaType": manifest_type,
        "config": {"mediaType": DOCKER_CONFIG if docker_media_types else OCI_CONFIG,
                   "digest": sha256_digest(config), "size": len(config)},
        "layers": [{"mediaType": DOCKER_LAYER_GZIP if docker_media_types else OCI_LAYER_GZIP,
                    "digest": sha256_digest(layer), "size": len(layer)}],
    })
    return Image(manifest=manifest, media_type=manifest_type,
                 blobs={sha256_digest(config): config, sha256_digest(layer): layer},
                 config_digest=sha256_digest(config), layer_digests=[sha256_digest(layer)])


def write_oci_layout(directory: str, image: Image, tag: str = "latest") -> str:
    """Write an OCI image layout; returns the skopeo source string 'oci:DIR:TAG'."""
    descriptor = {"mediaType": image.media_type, "digest": image.digest, "size": len(image.manifest),
                  "annotations": {REF_NAME: tag}}
    write_directory(directory, oci_layout_entries(list(image.blobs.values()) + [image.manifest], [descriptor]))
    return "oci:%s:%s" % (directory, tag)


class _Client:
    def __init__(self, registry_url: str, username: str, password: str, ca_cert: str):
        self.base = registry_url.rstrip("/")
        self.auth = "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode()).decode()
        self.context = ssl.create_default_context(cafile=ca_cert)

    def request(self, method: str, url: str, body: bytes = None, headers: dict = None):
        if not url.startswith("http"):
            url = self.base + url
        req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
        req.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.context) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()


def push_image(registry_url: str, repository: str, tag: str, image: Image, username: str, password: str,
               ca_cert: str) -> str:
    """Push blobs (skipping present ones) then the manifest; returns the manifest digest."""
    client = _Client(registry_url, username, password, ca_cert)
    for digest, data in image.blobs.items():
        status, _, _ = client.request("HEAD", "/v2/%s/blobs/%s" % (repository, digest))
        if status == 200:
            continue
        status, headers, body = client.request("POST", "/v2/%s/blobs/uploads/" % repository, b"")
        if status != 202:
            raise RuntimeError("upload start for %s: HTTP %d %s" % (digest, status, body[:200]))
        location = urllib.parse.urljoin(client.base + "/", headers["Location"])   # may be relative
        sep = "&" if "?" in location else "?"
        status, _, body = client.request("PUT", location + sep + "digest=" + urllib.parse.quote(digest), data,
                                         {"Content-Type": "application/octet-stream"})
        if status != 201:
            raise RuntimeError("upload of %s: HTTP %d %s" % (digest, status, body[:200]))
    status, headers, body = client.request("PUT", "/v2/%s/manifests/%s" % (repository, tag), image.manifest,
                                           {"Content-Type": image.media_type})
    if status != 201:
        raise RuntimeError("manifest put: HTTP %d %s" % (status, body[:300]))
    return headers.get("Docker-Content-Digest", image.digest)
