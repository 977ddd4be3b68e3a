#!/usr/bin/python3
"""The push of fake_engine.sh (tests/e2e/test_publish.py, test_sigint_during_push): a real but
partial push of a tiny image to IMAGE_REF, which then completes only when the test lets it.

Uploads a layer and a config blob over the registry API, writes "<state>/partial" (the blob
digests, as JSON) and waits until "<state>/release" exists; then PUTs the manifest, which tags
the image, and writes "<state>/tagged". A push that is stopped (as assetctl must stop the whole
process group of its engine command on Ctrl-C) therefore leaves blobs and no tag; one that
survives tags the image as soon as the test releases it.

    partial_push.py IMAGE_REF STATE_DIR
Environment: FAKE_ENGINE_CA (the registry's CA), FAKE_ENGINE_AUTH (user:password).
"""
import hashlib
import json
import os
import ssl
import sys
import time
import urllib.parse
import urllib.request
from base64 import b64encode

RELEASE_WAIT = 120  # seconds: bounds the wait for the test, which releases (or kills) it sooner


def write_atomically(path, text):
    with open(path + ".tmp", "w") as handle:
        handle.write(text)
    os.rename(path + ".tmp", path)


class Registry:
    def __init__(self, host):
        self.base = "https://" + host
        self.context = ssl.create_default_context(cafile=os.environ["FAKE_ENGINE_CA"])
        self.auth = "Basic " + b64encode(os.environ["FAKE_ENGINE_AUTH"].encode()).decode()

    def request(self, method, url, data=None, headers=None):
        request = urllib.request.Request(urllib.parse.urljoin(self.base, url), data=data, method=method,
                                         headers={"Authorization": self.auth, **(headers or {})})
        with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
            return response

    def upload_blob(self, repository, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        location = self.request("POST", "/v2/%s/blobs/uploads/" % repository).headers["Location"]
        separator = "&" if "?" in location else "?"
        self.request("PUT", location + separator + "digest=" + digest, data=data,
                     headers={"Content-Type": "application/octet-stream"})
        return {"digest": digest, "size": len(data)}


def main():
    ref, state = sys.argv[1], sys.argv[2]
    host, rest = ref.split("/", 1)
    repository, tag = rest.rsplit(":", 1)
    registry = Registry(host)
    layer = registry.upload_blob(repository, b"partial push layer of %s\n" % ref.encode())
    config = registry.upload_blob(repository, json.dumps({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode())
    write_atomically(os.path.join(state, "partial"), json.dumps({"layer": layer, "config": config}))
    deadline = time.monotonic() + RELEASE_WAIT
    while not os.path.exists(os.path.join(state, "release")):
        if time.monotonic() > deadline:
            return 1
        time.sleep(0.05)  # polls the test's release file; the deadline bounds it
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", **config},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", **layer}]}
    registry.request("PUT", "/v2/%s/manifests/%s" % (repository, tag), data=json.dumps(manifest).encode(),
                     headers={"Content-Type": manifest["mediaType"]})
    write_atomically(os.path.join(state, "tagged"), ref + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
