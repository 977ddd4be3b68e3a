#!/usr/bin/python3
"""Seed inputs for the fuzz targets (fuzz/README.md).

    fuzz/make_seeds.py --committed          rewrite fuzz/corpus/<target>/seed-* (small, hand-made
                                            answers and documents; committed, replayed by ctest)
    fuzz/make_seeds.py --into DIR [--shared TESTDATA]
                                            DIR/<target>/: the committed corpus plus seeds made
                                            from tests/fixtures and, when present, the real-world
                                            assemblies of ../shared/testdata (never committed)

Inputs follow each target's layout: parts cut at "\\n--8<--\\n" (fuzz_support.hpp's
k_part_separator), answers encoded as ScriptedHttp reads them (encode_response below).
"""
import argparse
import gzip
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
import tarball_writer as tw  # noqa: E402

SEPARATOR = b"\n--8<--\n"
TARGETS = ("asset_manifest", "cloud_assembly", "image_source", "save_stream", "registry_answers",
           "aws_answers", "credential_documents", "shared_config", "docker_config", "engine_output",
           "url")

# fuzz_support.cpp's tables: the answer encoding indexes them.
STATUSES = [200, 200, 200, 200, 200, 201, 202, 204, 206, 307, 400, 401, 403, 404, 429, 503]
HEADERS = ["Content-Type", "Location", "WWW-Authenticate", "Retry-After", "Content-Length",
           "Docker-Content-Digest", "ETag", "x-amz-checksum-sha256", "Range", "x-amz-bucket-region",
           "Docker-Upload-UUID", "x-amzn-ErrorType"]


def fuzz_string(data: bytes) -> bytes:
    """FuzzInput::string: a big-endian u16 length, then the bytes."""
    return len(data).to_bytes(2, "big") + data


def encode_response(status: int, body: bytes = b"", headers=()) -> bytes:
    out = bytes([STATUSES.index(status), len(headers)])
    for name, value in headers:
        out += bytes([HEADERS.index(name)]) + fuzz_string(value.encode())
    return out + fuzz_string(body)


def parts(*documents: bytes) -> bytes:
    return SEPARATOR.join(documents)


# --- hand-made seeds (committed) ----------------------------------------------------------------

DIGEST = "sha256:" + "ab" * 32


def registry_seeds():
    challenge = 'Bearer realm="https://auth.example/token",service="registry",scope="repository:repo:push,pull"'
    error = json.dumps({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown", "detail": {}}]}).encode()
    yield "challenge", bytes([0, 0]) + encode_response(401, b"", [("WWW-Authenticate", challenge)])
    yield "token", bytes([0, 1]) + b'{"token":"abc","expires_in":300,"issued_at":"2026-12-07T00:00:00Z"}'
    yield "error-body", bytes([0, 2]) + encode_response(404, error, [("Content-Type", "application/json")])
    yield "location", bytes([0, 3]) + fuzz_string(b"https://r.example/v2/repo/blobs/uploads/") + \
        fuzz_string(b"/v2/repo/blobs/uploads/uuid?_state=abc")
    # A whole push: ping (401 + challenge), token, HEADs (404), POST (202 + Location), PUT (201),
    # manifest PUT (201 + digest).
    push = (encode_response(401, b"", [("WWW-Authenticate", 'Basic realm="r"')]) +
            encode_response(200) + encode_response(404) + encode_response(404) +
            encode_response(202, b"", [("Location", "/v2/repo/blobs/uploads/1")]) +
            encode_response(201) +
            encode_response(202, b"", [("Location", "/v2/repo/blobs/uploads/2?_state=x")]) +
            encode_response(201) + encode_response(201, b"", [("Docker-Content-Digest", DIGEST)]))
    yield "push", bytes([1]) + push
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": DIGEST, "size": 2}, "layers": []}).encode()
    yield "manifest", bytes([2]) + encode_response(200) + encode_response(
        200, b"", [("Content-Type", "application/vnd.oci.image.manifest.v1+json"),
                   ("Docker-Content-Digest", DIGEST)]) + encode_response(
        200, manifest, [("Content-Type", "application/vnd.oci.image.manifest.v1+json")])


STS_CREDENTIALS = (b"<Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
                   b"<SessionToken>t</SessionToken><Expiration>2026-12-07T01:00:00Z</Expiration></Credentials>")


def aws_seeds():
    def call(service: int, which: int) -> bytes:
        return bytes([service + 4 * which])
    yield "sts-assume-role", call(0, 0) + encode_response(
        200, b"<AssumeRoleResponse><AssumeRoleResult>" + STS_CREDENTIALS + b"</AssumeRoleResult></AssumeRoleResponse>")
    yield "sts-web-identity", call(0, 1) + encode_response(
        200, b"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>" + STS_CREDENTIALS +
        b"</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")
    yield "sts-identity", call(0, 2) + encode_response(
        200, b"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012</Account>"
             b"<Arn>arn:aws:iam::123456789012:user/u</Arn><UserId>AIDA</UserId></GetCallerIdentityResult>"
             b"</GetCallerIdentityResponse>")
    yield "sts-error", call(0, 0) + encode_response(
        403, b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message>"
             b"</Error></ErrorResponse>")
    ecr = [
        {"authorizationData": [{"authorizationToken": "QVdTOnBhc3N3b3Jk", "expiresAt": 1.8e9,
                                "proxyEndpoint": "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"}]},
        {"repositories": [{"repositoryName": "repo", "repositoryUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo",
                           "imageTagMutability": "IMMUTABLE", "registryId": "123456789012"}]},
        {"imageDetails": [{"imageDigest": DIGEST, "imageTags": ["tag"], "imageManifestMediaType":
                           "application/vnd.oci.image.manifest.v1+json"}]},
        {"images": [{"imageId": {"imageTag": "a", "imageDigest": DIGEST}}],
         "failures": [{"imageId": {"imageTag": "b"}, "failureCode": "ImageNotFound", "failureReason": "no"}]},
        {"layers": [{"layerDigest": DIGEST, "layerAvailability": "AVAILABLE"}], "failures": []},
        {"repository": {"repositoryName": "repo", "repositoryUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo"}},
    ]
    for which, body in enumerate(ecr):
        yield "ecr-%d" % which, call(1, which) + encode_response(200, json.dumps(body).encode())
    yield "ecr-error", call(1, 1) + encode_response(
        400, b'{"__type":"RepositoryNotFoundException","message":"no"}',
        [("x-amzn-ErrorType", "RepositoryNotFoundException:http://internal.amazon.com/")])
    s3 = [
        b"<LocationConstraint>eu-west-1</LocationConstraint>",
        b"<ListBucketResult><KeyCount>1</KeyCount><Contents><Key>key.zip</Key><Size>123</Size></Contents></ListBucketResult>",
        b"<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms"
        b"</SSEAlgorithm><KMSMasterKeyID>key</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule>"
        b"</ServerSideEncryptionConfiguration>",
        b"",
        b"<InitiateMultipartUploadResult><UploadId>u-1</UploadId></InitiateMultipartUploadResult>",
        b"",
        b"<CompleteMultipartUploadResult><ETag>\"e\"</ETag></CompleteMultipartUploadResult>",
        b"",
    ]
    for which, body in enumerate(s3):
        headers = [("ETag", '"e"'), ("x-amz-checksum-sha256", "hNmYd/DUBB77a/kaFvAkjy/Vc+avBcGfmW7bn4gveII=")] \
            if which == 5 else []
        yield "s3-%d" % which, call(2, which) + encode_response(200, body, headers)
    yield "s3-error-in-200", call(2, 6) + encode_response(
        200, b"<Error><Code>InternalError</Code><Message>retry</Message></Error>")
    yield "s3-redirect", call(2, 1) + encode_response(
        307, b"<Error><Code>TemporaryRedirect</Code></Error>", [("x-amz-bucket-region", "us-west-2")])
    yield "secrets", call(3, 0) + encode_response(
        200, json.dumps({"SecretString": json.dumps({"username": "u", "secret": "p"})}).encode())


def credential_seeds():
    container = json.dumps({"AccessKeyId": "ASIAX", "SecretAccessKey": "s", "Token": "t",
                            "Expiration": "2026-12-07T01:00:00Z"}).encode()
    yield "container", bytes([0]) + encode_response(200, container)
    yield "imds", bytes([1]) + encode_response(200, b"token") + encode_response(200, b"role-name") + \
        encode_response(200, json.dumps({"Code": "Success", "AccessKeyId": "ASIAX", "SecretAccessKey": "s",
                                         "Token": "t", "Expiration": "2026-12-07T01:00:00Z"}).encode())
    for name, text in (("time-z", "2026-12-07T01:00:00Z"), ("time-fraction", "2026-12-07T01:00:00.123456+02:00"),
                       ("time-offset", "2026-12-07T01:00:00-05:30")):
        yield name, bytes([2]) + text.encode()
    yield "command-line", bytes([3]) + b"/usr/bin/env 'a b' \"c \\\"d\" e\\ f"


def shared_config_seeds():
    config = b"""default
[default]
region = eu-west-1
credential_process = /usr/bin/printf '{}'

[profile chain]
role_arn = arn:aws:iam::123456789012:role/r
source_profile = base
external_id = x

[profile base]
aws_access_key_id = AKIDBASE
aws_secret_access_key = secret

[profile source]
role_arn = arn:aws:iam::123456789012:role/r
credential_source = Environment
s3 =
  addressing_style = path
"""
    credentials = b"[default]\naws_access_key_id = AKID\naws_secret_access_key = s\n"
    process = json.dumps({"Version": 1, "AccessKeyId": "AKIDP", "SecretAccessKey": "s",
                          "SessionToken": "t", "Expiration": "2026-12-07T01:00:00Z"}).encode()
    yield "profiles", parts(config, credentials, process)
    yield "chain", parts(config.replace(b"default\n", b"chain\n", 1), b"", process)


def docker_config_seeds():
    config = json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"},
                                   "123456789012.dkr.ecr.eu-west-1.amazonaws.com": {"auth": "QVdTOnA="}},
                         "credsStore": "desktop", "credHelpers": {"public.ecr.aws": "ecr-login"},
                         "proxies": {"default": {"httpProxy": "http://proxy:3128"}}}).encode()
    auth = json.dumps({"auths": {"quay.io": {"auth": "dTpw"}}}).encode()
    creds = json.dumps({"version": "1.0", "domainCredentials": {
        "registry.example:5000": {"secretsManagerSecretId": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s",
                                  "secretsUsernameField": "user", "secretsPasswordField": "pass",
                                  "assumeRoleArn": "arn:aws:iam::123456789012:role/r"}}}).encode()
    yield "config", parts(config, auth, creds)


def engine_seeds():
    def ok(out: bytes, err: bytes = b"") -> bytes:
        return bytes([0]) + fuzz_string(out) + fuzz_string(err)
    inspect = json.dumps([{"Id": DIGEST, "RootFS": {"Type": "layers", "Layers": [DIGEST]},
                           "Os": "linux", "Architecture": "arm64", "Variant": "v8"}]).encode()
    yield "probe", bytes([0]) + ok(b"20.10.24+dfsg1")
    yield "identify-podman", bytes([1]) + ok(b"podman version 4.3.1") + ok(b"")
    yield "identify-docker", bytes([1]) + ok(b"Docker version 27.3.1, build ce12230") + \
        ok(b"github.com/docker/buildx v0.17.1 257815a")
    yield "exists", bytes([2]) + bytes([201]) + fuzz_string(b"") + fuzz_string(b"Error: no such object")
    yield "image-id", bytes([3]) + ok(b"ab" * 32 + b"\n")
    yield "inspect", bytes([4]) + ok(inspect)
    yield "load", bytes([5]) + ok(b"Loaded image: localhost/publish-app/tarball:v2\n")
    yield "load-id", bytes([5]) + ok(b"Loaded image ID: " + DIGEST.encode() + b"\n")
    yield "parse-inspect", bytes([6]) + inspect


def url_seeds():
    for i, url in enumerate(("https://ecr.eu-west-1.amazonaws.com/", "http://[::1]:8080/a?b=c#d",
                             "https://user:pass@host.example:443/path?X-Amz-Signature=abc",
                             "http://169.254.170.2/v2/credentials/x")):
        yield "url-%d" % i, url.encode()


# --- seeds from fixtures and real assemblies (never committed) -----------------------------------

def assembly_dirs(roots):
    for root in roots:
        for manifest in sorted(Path(root).rglob("manifest.json")):
            if manifest.parent.name == "cdk.out" or manifest.parent.parent.name == "cdk.out" or \
                    (manifest.parent / "tree.json").exists() or "realworld-cdk" in str(manifest):
                yield manifest.parent


def first_artifact(manifest: dict, artifact_type: str):
    for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
        if artifact.get("type") == artifact_type:
            return artifact_id, artifact
    return None, None


def assembly_seed(directory: Path):
    """manifest.json with its first asset manifest renamed Stack.assets.json, and the same for
    the first nested assembly (nested.assembly/, Nested.assets.json)."""
    def renamed(manifest_dir: Path, file_name: str):
        manifest = json.loads((manifest_dir / "manifest.json").read_text())
        _, assets = first_artifact(manifest, "cdk:asset-manifest")
        assets_text = b""
        if assets is not None:
            source = manifest_dir / assets["properties"]["file"]
            assets_text = source.read_bytes() if source.exists() else b""
            assets["properties"]["file"] = file_name
        return manifest, assets_text
    manifest, assets_text = renamed(directory, "Stack.assets.json")
    _, nested = first_artifact(manifest, "cdk:cloud-assembly")
    nested_manifest, nested_assets = b"", b""
    if nested is not None and (directory / nested["properties"]["directoryName"] / "manifest.json").exists():
        inner, nested_assets = renamed(directory / nested["properties"]["directoryName"], "Nested.assets.json")
        nested["properties"]["directoryName"] = "nested.assembly"
        nested_manifest = json.dumps(inner, indent=1).encode()
    return parts(json.dumps(manifest, indent=1).encode(), assets_text, nested_manifest, nested_assets)


def docker_save_config(tar_bytes: bytes):
    import io
    import tarfile
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        names = tar.getnames()
        if "manifest.json" not in names:
            return None
        manifest = json.loads(tar.extractfile("manifest.json").read())
        return tar.extractfile(manifest[0]["Config"]).read()


def oci_archive_seed() -> bytes:
    layer = tw.tar_bytes([tw.Entry("hello.txt", b"hello\n")])
    layer_gz = tw.deterministic_gzip(layer)
    config = tw.canonical_json({"architecture": "amd64", "os": "linux",
                                "rootfs": {"type": "layers", "diff_ids": [tw.sha256(layer)]}})
    manifest = tw.canonical_json({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": tw.sha256(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": tw.sha256(layer_gz),
                    "size": len(layer_gz)}]})
    descriptor = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": tw.sha256(manifest),
                  "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "v2"}}
    return tw.tar_bytes(tw.oci_layout_entries([layer_gz, config, manifest], [descriptor]))


def fixture_seeds(shared):
    roots = [ROOT / "tests" / "fixtures"]
    if shared and (Path(shared) / "realworld-cdk").is_dir():
        roots.append(Path(shared) / "realworld-cdk")
    if shared and (Path(shared) / "cdk-out-sample").is_dir():
        roots.append(Path(shared) / "cdk-out-sample")
    for root in roots:
        for path in sorted(Path(root).rglob("*.assets.json")):
            yield "asset_manifest", "fixture-" + hashlib.sha256(str(path).encode()).hexdigest()[:12], path.read_bytes()
    for directory in assembly_dirs(roots):
        try:
            seed = assembly_seed(directory)
        except (ValueError, KeyError, OSError):
            continue
        yield "cloud_assembly", "fixture-" + hashlib.sha256(str(directory).encode()).hexdigest()[:12], seed
    tarballs = sorted(p for root in roots for p in Path(root).rglob("*.tar") if p.stat().st_size < (1 << 20))
    for path in tarballs:
        data = path.read_bytes()
        name = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        yield "image_source", "tar-" + name, bytes([1]) + data
        yield "image_source", "tgz-" + name, bytes([2]) + gzip.compress(data, mtime=0)
        config = docker_save_config(data)
        if config is not None:
            entry = json.dumps({"digest": DIGEST, "size": 10, "input_size": 1024}).encode()
            yield "save_stream", "save-" + name, parts(config, data, entry)
    oci = oci_archive_seed()
    yield "image_source", "oci-archive", bytes([2]) + oci


def committed_seeds():
    for target, seeds in (("registry_answers", registry_seeds()), ("aws_answers", aws_seeds()),
                          ("credential_documents", credential_seeds()),
                          ("shared_config", shared_config_seeds()),
                          ("docker_config", docker_config_seeds()), ("engine_output", engine_seeds()),
                          ("url", url_seeds())):
        for name, data in seeds:
            yield target, name, data
    # The file-reading targets get one small seed each, so their replay runs without fixtures.
    yield "asset_manifest", "minimal", json.dumps({"version": "36.0.0", "files": {}, "dockerImages": {
        "abc": {"source": {"directory": "asset.abc", "dockerBuildArgs": {"A": "1"}}, "destinations": {
            "d": {"repositoryName": "cdk-${AWS::AccountId}-${AWS::Region}", "imageTag": "abc",
                  "assumeRoleArn": "arn:${AWS::Partition}:iam::123456789012:role/r"}}}}}).encode() + SEPARATOR + b"abc:*"
    yield "cloud_assembly", "minimal", parts(
        json.dumps({"version": "36.0.0", "artifacts": {"Stack.assets": {
            "type": "cdk:asset-manifest", "properties": {"file": "Stack.assets.json"}}}}).encode(),
        json.dumps({"version": "36.0.0", "files": {"f": {"source": {"path": "asset.f", "packaging": "zip"},
                    "destinations": {"d": {"bucketName": "bucket-b", "objectKey": "f.zip"}}}}}).encode())
    yield "image_source", "oci-archive", bytes([2]) + oci_archive_seed()
    layer = tw.tar_bytes([tw.Entry("a.txt", b"a\n")])
    config = tw.canonical_json({"os": "linux", "rootfs": {"type": "layers", "diff_ids": [tw.sha256(layer)]}})
    save = tw.tar_bytes([tw.Entry(tw.hex_of(tw.sha256(config)) + ".json", config),
                         tw.Entry("abc/layer.tar", layer),
                         tw.Entry("manifest.json", json.dumps([{"Config": tw.hex_of(tw.sha256(config)) + ".json",
                                                                "Layers": ["abc/layer.tar"]}]).encode())],
                        sort=False)
    yield "save_stream", "legacy-save", parts(config, save, b'{"digest":"%s","size":10}' % DIGEST.encode())


def write(directory: Path, name: str, data: bytes):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--committed", action="store_true")
    parser.add_argument("--into")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "testdata"))
    args = parser.parse_args()
    if args.committed:
        for target in TARGETS:
            for old in (HERE / "corpus" / target).glob("seed-*"):
                old.unlink()
        for target, name, data in committed_seeds():
            write(HERE / "corpus" / target, "seed-" + name, data)
    if args.into:
        out = Path(args.into)
        for target in TARGETS:
            if (HERE / "corpus" / target).is_dir():
                shutil.copytree(HERE / "corpus" / target, out / target, dirs_exist_ok=True)
        for target, name, data in fixture_seeds(args.shared if os.path.isdir(args.shared) else None):
            write(out / target, name, data)


if __name__ == "__main__":
    main()
