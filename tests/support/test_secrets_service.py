"""The fake Secrets Manager of the local endpoint (secrets_service.py), checked with botocore's
own secretsmanager client (it signs; the endpoint verifies with botocore's SigV4 code): the
answer's shape, lookups by name and ARN, regions, access control, signature refusal, and that
the request log never holds a secret value.
Run: /usr/bin/python3 -m unittest discover -s tests/support -p 'test_secrets_service.py'
"""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import botocore.session  # noqa: E402
except ImportError as err:   # the pyenv python3 first on PATH does not see Debian's botocore
    raise ImportError("run these tests with /usr/bin/python3 (Debian python3-botocore)") from err
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

import secrets_service  # noqa: E402
import stack  # noqa: E402

NO_RETRY = Config(retries={"total_max_attempts": 1})
READER_ROLE = "arn:aws:iam::%s:role/base-image-reader" % stack.ACCOUNT_A
SECRETS = {
    "hub-login": {"secret_string": json.dumps({"username": "hubuser", "secret": "hub-s3cret-value"})},
    "eu-login": {"secret_string": "eu-s3cret-value", "region": "eu-west-1"},
    "role-only": {"secret_string": "role-s3cret-value", "allowed_roles": [READER_ROLE]},
}
STACK = None
CLIENTS = []   # closed at module teardown


def setUpModule():
    global STACK
    STACK = stack.Stack(extra_config={"secrets": SECRETS, "roles": {READER_ROLE: {}}})
    unittest.addModuleCleanup(STACK.stop)
    unittest.addModuleCleanup(close_clients)
    STACK.start()


def close_clients():
    for made in CLIENTS:
        made.close()
    CLIENTS.clear()


def made(new_client):
    CLIENTS.append(new_client)
    return new_client


def client(region="us-east-1", key=None, secret=None, token=None):
    env = STACK.info["env"]
    session = botocore.session.get_session()
    return made(session.create_client(
        "secretsmanager", region_name=region, endpoint_url=STACK.info["endpoint_url"], config=NO_RETRY,
        aws_access_key_id=key or env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=secret or env["AWS_SECRET_ACCESS_KEY"], aws_session_token=token))


def read_log():
    with open(STACK.info["log_file"]) as handle:
        return [json.loads(line) for line in handle if line.strip()]


class SecretsServiceTest(unittest.TestCase):
    def test_get_secret_value_by_name_and_by_arn(self):
        answer = client().get_secret_value(SecretId="hub-login")
        self.assertEqual(json.loads(answer["SecretString"])["secret"], "hub-s3cret-value")
        self.assertEqual(answer["Name"], "hub-login")
        self.assertRegex(answer["ARN"], r"^arn:aws:secretsmanager:us-east-1:%s:secret:hub-login-\w{6}$"
                         % stack.ACCOUNT_A)
        self.assertEqual(client().get_secret_value(SecretId=answer["ARN"])["Name"], "hub-login")
        self.assertEqual(client().get_secret_value(SecretId=answer["ARN"][:-7])["Name"], "hub-login")

    def test_a_secret_lives_in_its_region(self):
        self.assertEqual(client("eu-west-1").get_secret_value(SecretId="eu-login")["SecretString"],
                         "eu-s3cret-value")
        with self.assertRaises(ClientError) as caught:
            client("us-east-1").get_secret_value(SecretId="eu-login")
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceNotFoundException")

    def test_unknown_secret(self):
        with self.assertRaises(ClientError) as caught:
            client().get_secret_value(SecretId="nope")
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceNotFoundException")

    def test_allowed_roles_only_lets_that_role_read(self):
        with self.assertRaises(ClientError) as caught:
            client().get_secret_value(SecretId="role-only")
        self.assertEqual(caught.exception.response["Error"]["Code"], "AccessDeniedException")
        env = STACK.info["env"]
        sts = made(botocore.session.get_session().create_client(
            "sts", region_name="us-east-1", endpoint_url=STACK.info["endpoint_url"], config=NO_RETRY,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"]))
        creds = sts.assume_role(RoleArn=READER_ROLE, RoleSessionName="reader")["Credentials"]
        answer = client(key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                        token=creds["SessionToken"]).get_secret_value(SecretId="role-only")
        self.assertEqual(answer["SecretString"], "role-s3cret-value")

    def test_a_bad_signature_is_refused(self):
        with self.assertRaises(ClientError) as caught:
            client(secret="wrong-secret").get_secret_value(SecretId="hub-login")
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidSignatureException")

    def test_the_log_names_the_secret_id_never_its_value(self):
        client().get_secret_value(SecretId="hub-login")
        entries = [e for e in read_log() if e["service"] == secrets_service.SERVICE]
        self.assertTrue(entries)
        self.assertTrue(all(e["signature_verified"] in (True, False) for e in entries))
        self.assertIn("hub-login", [e.get("secret_id") for e in entries])
        with open(STACK.info["log_file"]) as handle:
            text = handle.read()
        for spec in SECRETS.values():
            self.assertNotIn(spec["secret_string"], text)
            self.assertNotIn("s3cret-value", text)


if __name__ == "__main__":
    unittest.main()
