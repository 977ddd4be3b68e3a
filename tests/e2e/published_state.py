"""What the registry and S3 hold after a run, read with independent clients straight at the
servers, never through a fault proxy (skopeo and the registry API over urllib; S3 with
botocore, the AWS CLI's library): the checks of "never a tag that points at missing content,
never a partial object, never an unfinished multipart upload" that the kill -9 and fault-matrix
tests share. A mixin for test_publish_tarball.TarballCase (self.registry_get, self.remote_tags,
self.remote_raw, self.ref, self.info)."""
import hashlib
import json

import botocore.session
from botocore.config import Config

from assetctl_run import REGION, wait_for
from stack import ACCOUNT_A

BUCKET = "cdk-hnb659fds-assets-%s-%s" % (ACCOUNT_A, REGION)


class PublishedState:

    def wait_until_quiet(self, seconds=60):
        """Waits until neither the endpoint nor the registry's proxy is serving a request: a
        killed client's last request (a CompleteMultipartUpload, a manifest PUT) may still be
        completing on the server, and would change what is there after it was read."""
        def quiet():
            inflight = json.loads(self.control("GET", "/__control/inflight"))["inflight"]
            return inflight == 0 and all(entry["done"] for entry in self.proxy.log())
        wait_for(quiet, seconds, "the servers to finish the killed run's requests")

    def s3(self):
        """A botocore S3 client of account A straight at the endpoint (no retries: a fault here
        is the test's, not assetctl's)."""
        client = getattr(self, "_s3_client", None)
        if client is None:
            key = next(k for k in self.info["keys"] if k["account"] == ACCOUNT_A)
            client = botocore.session.Session().create_client(
                "s3", endpoint_url=self.info["endpoint_url"], region_name=REGION,
                aws_access_key_id=key["access_key_id"], aws_secret_access_key=key["secret_access_key"],
                config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}))
            self._s3_client = client
        return client

    def complete_tags(self, repository):
        """The repository's tags, each checked: its manifest readable and every blob it names
        there (HEAD 200)."""
        tags = self.remote_tags(repository)
        for tag in tags:
            # skopeo reads it as a client would (every manifest type accepted).
            manifest = json.loads(self.remote_raw(self.ref(repository, tag)))
            for descriptor in [manifest["config"], *manifest["layers"]]:
                status, _ = self.registry_get("/v2/%s/blobs/%s" % (repository, descriptor["digest"]), method="HEAD")
                self.assertEqual(status, 200, "%s:%s names blob %s, which is missing" % (
                    repository, tag, descriptor["digest"]))
        return tags

    def s3_objects(self, prefix, read_contents=True):
        """{key: (size, sha256)} of the objects under `prefix/`; {key: (size, None)} without
        read_contents."""
        listing = self.s3().list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
        objects = {entry["Key"]: entry["Size"] for entry in listing.get("Contents") or []}
        if not read_contents:
            return {name: (size, None) for name, size in objects.items()}
        return {name: (size, hashlib.sha256(self.s3().get_object(Bucket=BUCKET, Key=name)["Body"].read()).hexdigest())
                for name, size in objects.items()}

    def unfinished_uploads(self, prefix):
        """Keys of multipart uploads under `prefix/` that were neither completed nor aborted."""
        listing = self.s3().list_multipart_uploads(Bucket=BUCKET, Prefix=prefix + "/")
        return sorted(upload["Key"] for upload in listing.get("Uploads") or [])

    def published_now(self, prefix, targets, read_contents=True):
        """The targets that are published now; fails on any incomplete tag, partial or wrong
        object, or object that no target names. targets: {(asset, destination): what}, what =
        ("image", repository, tag, image) or ("file", key, size, sha256)."""
        done = set()
        objects = self.s3_objects(prefix, read_contents)
        for target, what in targets.items():
            if what[0] == "image":
                _, repository, tag, _ = what
                if tag in self.complete_tags(repository):
                    done.add(target)
            else:
                _, key, size, digest = what
                if key in objects:
                    self.assertEqual(objects[key], (size, digest if read_contents else None),
                                     "partial or wrong object %s" % key)
                    done.add(target)
        self.assertLessEqual(set(objects), {what[1] for what in targets.values() if what[0] == "file"})
        return done
