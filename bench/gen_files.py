#!/usr/bin/env python3
"""Write a cloud assembly with ONE asset manifest holding 20 file assets (S3), for bench/run.sh's
`files` and `files-noop` scenarios.

    python3 bench/gen_files.py OUTDIR [--account 111111111111] [--region us-east-1] [--scale 1.0]

The shape is what aws-cdk-lib's DefaultStackSynthesizer writes (schema 54, which both
cdk-assets 4.7.3 and assetctl read): manifest.json with one `cdk:asset-manifest` artifact and
`Files.assets.json` with `files` whose destinations name the bootstrap bucket, the asset hash
(+ extension) as object key, the region and the file-publishing role. The mix:
  12 small templates (packaging file): CloudFormation-like JSON and YAML of 2-40 KiB
   8 Lambda-like folders (packaging zip) of 5, 8, 12, 16, 22, 30, 40 and 50 MiB (x --scale):
     about half text (JS sources and package.json files under node_modules/, which deflate
     well), half incompressible binaries (a `.node` addon, a bundled `.wasm`), nested folders,
     a dot file and an 0755 bootstrap script
All bytes come from seeded generators (SHAKE-256 and a counter-driven text template): the same
arguments give the same files and the same asset ids on every machine. The asset id is a
sha256 over the relative paths and contents (CDK fingerprints sources too; the exact recipe
does not matter to either publisher).
"""

import argparse
import hashlib
import json
import os
import shutil
import sys

SCHEMA_VERSION = "54.0.0"
QUALIFIER = "hnb659fds"
TEMPLATES = 12
FOLDER_MIB = (5, 8, 12, 16, 22, 30, 40, 50)
MIB = 1 << 20


def noise(label: str, size: int) -> bytes:
    """Incompressible, deterministic bytes."""
    return hashlib.shake_256(label.encode()).digest(size)


def source_text(label: str, size: int) -> bytes:
    """JS-like text that deflates roughly 4-6x, deterministic: a template over a counter and
    a few bytes of noise per line."""
    words = noise(label, 4096).hex()
    lines, total, n = [], 0, 0
    while total < size:
        word = words[(n * 7) % 4000:(n * 7) % 4000 + 12]
        line = "export function handler_%d(event) { return compute('%s', event.value + %d); }\n" % (n, word, n)
        lines.append(line)
        total += len(line)
        n += 1
    return "".join(lines).encode()[:size]


def template(index: int) -> tuple:
    """(file name, bytes) of small template number `index`."""
    size = (2 + (index * 37) % 39) << 10
    resources = {}
    count = 0
    while len(json.dumps(resources)) < size:
        resources["Queue%04d" % count] = {"Type": "AWS::SQS::Queue",
                                          "Properties": {"QueueName": "bench-%d-%d" % (index, count),
                                                         "VisibilityTimeout": 30 + count % 90}}
        count += 1
    document = {"AWSTemplateFormatVersion": "2010-09-09", "Description": "bench template %d" % index,
                "Resources": resources}
    if index % 3 == 2:  # every third one YAML-ish (JSON is valid YAML); the extension is what counts
        return "template-%02d.yaml" % index, json.dumps(document, indent=1).encode() + b"\n"
    return "template-%02d.json" % index, json.dumps(document, indent=1).encode() + b"\n"


def lambda_folder(index: int, mib: float) -> dict:
    """{relative path: (bytes, mode)} of a Lambda-like folder of about `mib` MiB."""
    size = int(mib * MIB)
    text, binary = size // 2, size - size // 2
    label = "bench-lambda-%d" % index
    files = {
        "index.js": (b"exports.handler = require('./dist/main').handler;\n", 0o644),
        ".npmrc": (b"package-lock=false\n", 0o644),
        "bin/bootstrap": (b"#!/bin/sh\nexec node \"$(dirname \"$0\")/../index.js\"\n", 0o755),
        "native/addon.node": (noise(label + "-addon", binary * 3 // 4), 0o755),
        "dist/bundle.wasm": (noise(label + "-wasm", binary - binary * 3 // 4), 0o644),
    }
    per_module = max(text // 16, 1)
    for module in range(16):
        base = "node_modules/pkg-%02d" % module
        files[base + "/package.json"] = (json.dumps({"name": "pkg-%02d" % module, "version": "1.%d.0" % index},
                                                    indent=1).encode(), 0o644)
        files[base + "/lib/index.js"] = (source_text("%s-%d" % (label, module), per_module), 0o644)
    return files


def fingerprint(files: dict) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name][0]
        digest.update(b"%s\0%d\0" % (name.encode(), len(data)))
        digest.update(data)
    return digest.hexdigest()


def write(root: str, relative: str, data: bytes, mode: int = 0o644) -> None:
    path = os.path.join(root, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


def destination(asset_id: str, key: str, account: str, region: str) -> dict:
    return {"%s-%s-%s" % (account, region, asset_id[:8]): {
        "bucketName": "cdk-%s-assets-%s-%s" % (QUALIFIER, account, region),
        "objectKey": key,
        "region": region,
        "assumeRoleArn": "arn:${AWS::Partition}:iam::%s:role/cdk-%s-file-publishing-role-%s-%s" % (
            account, QUALIFIER, account, region),
    }}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir")
    parser.add_argument("--account", default="111111111111")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--stack", default="Files")
    parser.add_argument("--scale", type=float, default=1.0, help="folder sizes x this (tests of the bench: 0.05)")
    args = parser.parse_args(argv)

    if os.path.exists(args.outdir):
        shutil.rmtree(args.outdir)
    os.makedirs(args.outdir)

    assets = {}
    for index in range(TEMPLATES):
        name, data = template(index)
        asset_id = fingerprint({name: (data, 0o644)})
        extension = os.path.splitext(name)[1]
        write(args.outdir, "asset.%s%s" % (asset_id, extension), data)
        assets[asset_id] = {"displayName": "Template%02d" % index,
                            "source": {"path": "asset.%s%s" % (asset_id, extension), "packaging": "file"},
                            "destinations": destination(asset_id, asset_id + extension, args.account, args.region)}
    for index, mib in enumerate(FOLDER_MIB):
        files = lambda_folder(index, mib * args.scale)
        asset_id = fingerprint(files)
        for relative, (data, mode) in files.items():
            write(args.outdir, os.path.join("asset." + asset_id, relative), data, mode)
        assets[asset_id] = {"displayName": "Function%02dCode" % index,
                            "source": {"path": "asset." + asset_id, "packaging": "zip"},
                            "destinations": destination(asset_id, asset_id + ".zip", args.account, args.region)}

    assets_file = "%s.assets.json" % args.stack
    with open(os.path.join(args.outdir, assets_file), "w") as handle:
        json.dump({"version": SCHEMA_VERSION, "files": assets}, handle, indent=1)
    manifest = {
        "version": SCHEMA_VERSION,
        "artifacts": {
            "%s.assets" % args.stack: {
                "type": "cdk:asset-manifest",
                "properties": {
                    "file": assets_file,
                    "requiresBootstrapStackVersion": 6,
                    "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/%s/version" % QUALIFIER,
                },
            },
        },
    }
    with open(os.path.join(args.outdir, "manifest.json"), "w") as handle:
        json.dump(manifest, handle, indent=1)
    with open(os.path.join(args.outdir, "cdk.out"), "w") as handle:
        json.dump({"version": SCHEMA_VERSION}, handle)
    print(os.path.join(args.outdir, assets_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
