#!/usr/bin/env python3
"""Expected S3 signatures for tests/unit/aws/test_s3_client.cpp, computed by botocore.

botocore's S3SigV4Auth is an implementation independent of assetctl's: it signs the path exactly
as it is on the wire (no normalisation, no second encoding), sorts the query itself and, over
https without Content-MD5, signs the payload's SHA-256. Each case below is one request as
S3Client must send it (method, URL encoded here with urllib's quote, headers, body); the
Authorization botocore computes for it at a fixed time is written to signatures.json, which is
committed. Rerun after changing a case:

    python3 tests/unit/data/s3/make_signatures.py > tests/unit/data/s3/signatures.json
"""

import base64
import datetime
import hashlib
import json
import sys
import urllib.parse
from unittest import mock

import botocore.auth
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SIGNING_TIME = datetime.datetime(2026, 11, 27, 10, 0, 0)
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "session-token-example"
KEY = "a b/c+d=\u00e9"
OWNER = "123456789012"
PUT_BODY = b"hello, s3\n"
COMPLETE_BODY = (
    '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    "<Part><PartNumber>1</PartNumber><ETag>&quot;etag-1&quot;</ETag>"
    "<ChecksumSHA256>Y2hlY2sx</ChecksumSHA256></Part>"
    "</CompleteMultipartUpload>"
).encode()


class FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return SIGNING_TIME

    @classmethod
    def now(cls, tz=None):
        return SIGNING_TIME.replace(tzinfo=tz) if tz else SIGNING_TIME


def encoded_key(key):
    return urllib.parse.quote(key.encode(), safe="/~")


def checksum(body):
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def cases():
    virtual = "https://assets-bucket.s3.eu-west-1.amazonaws.com"
    yield {
        "name": "ListObjectsV2 virtual-hosted",
        "region": "eu-west-1",
        "token": False,
        "method": "GET",
        "url": virtual + "/?list-type=2&prefix=" + urllib.parse.quote(KEY.encode(), safe="~")
        + "&max-keys=1",
        "headers": {"x-amz-expected-bucket-owner": OWNER},
        "body": b"",
    }
    yield {
        "name": "PutObject with KMS and a session token",
        "region": "eu-west-1",
        "token": True,
        "method": "PUT",
        "url": virtual + "/" + encoded_key(KEY),
        "headers": {
            "Content-Type": "application/zip",
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:eu-west-1:123456789012:key/k1",
            "x-amz-checksum-sha256": checksum(PUT_BODY),
            "x-amz-expected-bucket-owner": OWNER,
        },
        "body": PUT_BODY,
    }
    yield {
        "name": "UploadPart path style on a custom endpoint",
        "region": "us-east-1",
        "token": False,
        "method": "PUT",
        "url": "http://127.0.0.1:9000/assets.bucket/" + encoded_key(KEY)
        + "?partNumber=2&uploadId=" + urllib.parse.quote("abc/123+x", safe="~"),
        "headers": {"x-amz-checksum-sha256": checksum(PUT_BODY)},
        "body": PUT_BODY,
    }
    yield {
        "name": "GetBucketLocation path style for a bucket that is not a DNS name",
        "region": "cn-north-1",
        "token": False,
        "method": "GET",
        "url": "https://s3.cn-north-1.amazonaws.com.cn/Assets_Bucket?location",
        "headers": {"x-amz-expected-bucket-owner": OWNER},
        "body": b"",
    }
    yield {
        "name": "CompleteMultipartUpload",
        "region": "eu-west-1",
        "token": False,
        "method": "POST",
        "url": virtual + "/" + encoded_key(KEY) + "?uploadId=upload-1",
        "headers": {"Content-Type": "application/xml"},
        "body": COMPLETE_BODY,
    }


def authorization(case):
    credentials = Credentials(ACCESS_KEY, SECRET_KEY, TOKEN if case["token"] else None)
    request = AWSRequest(method=case["method"], url=case["url"], headers=dict(case["headers"]),
                         data=case["body"])
    request.context["client_config"] = None
    with mock.patch.object(botocore.auth.datetime, "datetime", FixedDatetime):
        S3SigV4Auth(credentials, "s3", case["region"]).add_auth(request)
    return request.headers["Authorization"], request.headers["X-Amz-Content-SHA256"]


def main():
    out = []
    for case in cases():
        auth, content_sha256 = authorization(case)
        out.append({"name": case["name"], "method": case["method"], "url": case["url"],
                    "authorization": auth, "content_sha256": content_sha256})
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
