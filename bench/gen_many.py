#!/usr/bin/env python3
"""Write a cloud assembly with ONE asset manifest holding N docker image assets (default 50).

    python3 bench/gen_many.py OUTDIR [--count 50] [--account 111111111111] [--region us-east-1]

The shape is what aws-cdk-lib's DefaultStackSynthesizer writes (schema 54, which both
cdk-assets 4.7.3 and assetctl read): manifest.json with one `cdk:asset-manifest` artifact,
`Many.assets.json` with `dockerImages` whose destinations name the bootstrap repository, the
asset hash as image tag, the region and the image-publishing role. Every asset has a directory
of its own, `asset.<hash>/` with a Dockerfile (`FROM scratch` + `COPY`) and a one-line file, so
the 50 ids are 50 real, distinct, offline-buildable images. bench/run.sh publishes them once
(not timed) and then measures the no-op publish of this manifest with both tools.

The asset id is a sha256 over the directory's file names and contents (CDK fingerprints the
directory too; the exact recipe does not matter to either publisher).
"""

import argparse
import hashlib
import json
import os
import shutil
import sys

SCHEMA_VERSION = "54.0.0"
QUALIFIER = "hnb659fds"


def image_files(index: int) -> dict:
    return {
        "Dockerfile": "FROM scratch\nCOPY service.txt /etc/service/service.txt\n",
        "service.txt": "bench service %03d\n" % index,
    }


def fingerprint(files: dict) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name].encode()
        digest.update(b"%s\0%d\0" % (name.encode(), len(data)))
        digest.update(data)
    return digest.hexdigest()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--account", default="111111111111")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--stack", default="Many")
    args = parser.parse_args(argv)

    account, region = args.account, args.region
    repository = "cdk-%s-container-assets-%s-%s" % (QUALIFIER, account, region)
    role = "arn:${AWS::Partition}:iam::%s:role/cdk-%s-image-publishing-role-%s-%s" % (
        account, QUALIFIER, account, region)
    destination_id = "%s-%s" % (account, region)

    if os.path.exists(args.outdir):
        shutil.rmtree(args.outdir)
    os.makedirs(args.outdir)

    images = {}
    for index in range(args.count):
        files = image_files(index)
        asset_id = fingerprint(files)
        directory = "asset." + asset_id
        os.makedirs(os.path.join(args.outdir, directory))
        for name, text in files.items():
            with open(os.path.join(args.outdir, directory, name), "w") as handle:
                handle.write(text)
        images[asset_id] = {
            "displayName": "service%03dImage" % index,
            "source": {"directory": directory},
            "destinations": {
                # CDK appends 8 hex of a hash of the destination; any unique id will do.
                "%s-%s" % (destination_id, asset_id[:8]): {
                    "repositoryName": repository,
                    "imageTag": asset_id,
                    "region": region,
                    "assumeRoleArn": role,
                },
            },
        }

    assets_file = "%s.assets.json" % args.stack
    with open(os.path.join(args.outdir, assets_file), "w") as handle:
        json.dump({"version": SCHEMA_VERSION, "dockerImages": images}, handle, indent=1)
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
