#!/usr/bin/env bash
# The README's main command: install what is needed, build assetctl, bring up a local stack
# (a private dockerd, a TLS registry with htpasswd, and an ECR/STS-compatible endpoint that
# checks SigV4 with botocore, and answers S3), publish the committed example cloud assembly
# (examples/cdk.out: three images and two file assets, two regions) through it, show the
# published image URIs and S3 URLs, and stop everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DASSETCTL_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j "$(nproc)"
assetctl=$root/build/release/apps/assetctl/assetctl

state=$(mktemp -d /tmp/assetctl-demo-XXXXXX)
trap 'rm -rf "$state"' EXIT

echo '==> starting dockerd, the registry and the ECR/STS/S3 endpoint on 127.0.0.1'
# The example app deploys to account 123456789012 in us-east-1 and eu-west-1: give that account
# CDK's bootstrap roles, repositories and buckets. Repository URIs point at the local registry
# instead of <account>.dkr.ecr.<region>.amazonaws.com; S3 is the endpoint itself.
/usr/bin/python3 - "$state/endpoint.json" "$state/buckets.json" <<'PY'
import json, sys
account, q = "123456789012", "hnb659fds"
regions = ["us-east-1", "eu-west-1"]
json.dump({
    "repository_uri_host": "registry",
    "roles": {f"arn:aws:iam::{account}:role/cdk-{q}-{kind}-publishing-role-{account}-{r}": {}
              for r in regions for kind in ("image", "file")},
    "repositories": [{"name": f"cdk-{q}-container-assets-{account}-{r}", "account": account}
                     for r in regions],
}, open(sys.argv[1], "w"))
json.dump([{"name": f"cdk-{q}-assets-{account}-{r}", "region": r, "account": account,
            "encryption": {"kms": None}} for r in regions], open(sys.argv[2], "w"))
PY

# stack.py exec runs the command with the environment a CI job would have (AWS keys, region,
# endpoint overrides, DOCKER_HOST, no shared AWS files, no IMDS) and stops everything after it.
/usr/bin/python3 tests/support/stack.py exec --state-dir "$state/stack" --config "$state/endpoint.json" \
  --buckets-json "@$state/buckets.json" \
  --dockerd-state-dir "$state/dockerd" -- bash -euo pipefail -c '
    # assetctl pushes images itself (native push): it trusts the local registry'"'"'s private CA
    # the way a CI job trusts a private one, through AWS_CA_BUNDLE.
    AWS_CA_BUNDLE=$(/usr/bin/python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[\"registry\"][\"ca_cert\"])" "$1/stack.json")
    export AWS_CA_BUNDLE
    echo "==> assetctl publish --path examples/cdk.out"
    "$0" publish --path examples/cdk.out
    echo "==> a second run finds everything published"
    "$0" publish --path examples/cdk.out' "$assetctl" "$state/stack"
