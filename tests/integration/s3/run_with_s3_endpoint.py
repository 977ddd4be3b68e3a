#!/usr/bin/python3
"""Run the S3 client's integration test binary against the local test endpoint's S3.

Starts the stack (tests/support/stack.py: the ECR/STS/S3 endpoint, whose S3 verifies every
request with botocore's S3SigV4Auth, and its registry) with a few extra buckets, runs the test
binary with the stack's client environment plus ASSETCTL_TEST_S3_* variables (control URL,
bucket names, accounts, the aws CLI), and stops the stack whatever happens. Exit code 77
(CTest "Skipped") only when a prerequisite is missing; otherwise 0 when the binary passed and 1
for anything else (a binary that exits 77 here counts as a failure).

    run_with_s3_endpoint.py --support-dir tests/support -- build/.../s3_client_test [catch args]
"""

import argparse
import os
import subprocess
import sys

SKIPPED = 77
PREREQUISITES = ["/usr/bin/docker-registry", "/usr/bin/htpasswd", "/usr/bin/openssl", "/usr/bin/aws"]
BUCKETS = [
    {"name": "assetctl-it-aes", "encryption": "AES256"},
    {"name": "assetctl-it-plain", "encryption": "none"},
    {"name": "assetctl-it-hidden", "encryption": "AES256", "deny_get_encryption": True},
    {"name": "assetctl-it-kms", "encryption": {"kms": "arn:aws:kms:us-east-1:111111111111:key/k-it"},
     "require_sse": "aws:kms"},
    {"name": "assetctl-it-eu", "region": "eu-west-1", "encryption": "none"},
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--support-dir", required=True, help="tests/support (stack.py)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- BINARY [ARGS...]")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no test binary given")

    missing = [path for path in PREREQUISITES if not os.access(path, os.X_OK)]
    try:
        import botocore.auth  # noqa: F401  (the endpoint verifies signatures with it)
    except ImportError:
        missing.append("python3-botocore")
    s3_support = os.path.join(args.support_dir, "s3_service.py")
    if not os.path.exists(s3_support):
        missing.append(s3_support + " (the endpoint without S3)")
    if missing:
        print("s3 integration test skipped: missing %s" % ", ".join(missing), flush=True)
        return SKIPPED

    sys.path.insert(0, args.support_dir)
    import stack  # tests/support/stack.py

    harness = stack.Stack(buckets=BUCKETS + [{"name": "assetctl-it-foreign", "account": stack.ACCOUNT_B}])
    try:
        harness.start()
        info = harness.info
        env = dict(os.environ)
        env.update(stack.client_env(info))
        env.update({
            "ASSETCTL_TEST_S3_ENDPOINT": info["endpoint_url"],
            "ASSETCTL_TEST_S3_ACCOUNT": stack.ACCOUNT_A,
            "ASSETCTL_TEST_S3_FOREIGN_ACCOUNT": stack.ACCOUNT_B,
            "ASSETCTL_TEST_S3_BOOTSTRAP_BUCKET": "cdk-hnb659fds-assets-%s-us-east-1" % stack.ACCOUNT_A,
            "ASSETCTL_TEST_S3_AWS_CLI": "/usr/bin/aws",
        })
        result = subprocess.run(command, env=env, stdin=subprocess.DEVNULL)
        if result.returncode == 0:
            return 0
        print("s3 integration test failed: %s exited %d" % (command[0], result.returncode), flush=True)
        with open(info["log_file"]) as log:
            print("--- endpoint log (last lines) ---\n" + "".join(log.readlines()[-20:]), flush=True)
        return 1
    finally:
        harness.stop()


if __name__ == "__main__":
    sys.exit(main())
