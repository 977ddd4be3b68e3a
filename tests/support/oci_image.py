"""Tiny, deterministic container images built with plain Python (no engine, no network).

- build_image(): one gzip layer (mtime 0, fixed level) + config + manifest, as bytes.
- write_oci_layout(): an OCI image layout directory that `skopeo copy oci:DIR:TAG ...` reads.
- push_image(): upload blobs then the manifest to a registry over the distribution API with
  urllib (HEAD blob -> POST upload -> monolithic PUT ?digest=, manifest last).

Used by the endpoint tests to put a real image into the real registry, and reusable by the
C++ integration tests' fixtures.
"""

import base64
import gzip
import hashlib
import io
import json
import os
import ssl
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Dict, List

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


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


def _layer_tar(files: Dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(files[name]))
    return buf.getvalue()


def build_image(files: Dict[str, bytes] = None, docker_media_types: bool = False) -> Image:
    """A one-layer linux/amd64 image; same input -> same digests."""
    files = files or {"hello.txt": b"hello from assetctl tests\n"}
    tar = _layer_tar(files)
    layer = gzip.compress(tar, compresslevel=6, mtime=0)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/hello"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(tar)]},
        "history": [{"created_by": "assetctl tests/support/oci_image.py"}],
    }, sort_keys=True, separators=(",", ":")).encode()
    manifest_type = DOCKER_MANIFEST if docker_media_types else OCI_MANIFEST
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": manifest_type,
        "config": {"mediaType": DOCKER_CONFIG if docker_media_types else OCI_CONFIG,
                   "digest": sha256_digest(config), "size": len(config)},
        "layers": [{"mediaType": DOCKER_LAYER_GZIP if docker_media_types else OCI_LAYER_GZIP,
                    "digest": sha256_digest(layer), "size": len(layer)}],
    }, sort_keys=True, separators=(",", ":")).encode()
    return Image(manifest=manifest, media_type=manifest_type,
                 blobs={sha256_digest(config): config, sha256_digest(layer): layer},
                 config_digest=sha256_digest(config), layer_digests=[sha256_digest(layer)])


def write_oci_layout(directory: str, image: Image, tag: str = "latest") -> str:
    """Write an OCI image layout; returns the skopeo source string 'oci:DIR:TAG'."""
    blob_dir = os.path.join(directory, "blobs", "sha256")
    os.makedirs(blob_dir, exist_ok=True)
    for digest, data in list(image.blobs.items()) + [(image.digest, image.manifest)]:
        with open(os.path.join(blob_dir, digest.split(":", 1)[1]), "wb") as handle:
            handle.write(data)
    with open(os.path.join(directory, "oci-layout"), "w") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": image.media_type, "digest": image.digest, "size": len(image.manifest),
                            "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    with open(os.path.join(directory, "index.json"), "w") as handle:
        json.dump(index, handle)
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
