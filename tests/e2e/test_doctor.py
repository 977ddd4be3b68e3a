"""End-to-end: `assetctl doctor` against the local ECR/STS endpoint and the TLS registry.

Covers every credential source (environment, shared files, source_profile role chains,
credential_process, web identity, ECS container and IMDSv2 served on loopback), assuming a role
with an external id and session tags, a bootstrapped and a non-bootstrapped destination, a bad
secret and injected throttling. Results are read from doctor's JSON and the endpoint's request
log, never from log text.
"""
import json
import sys
import tempfile
import textwrap
import unittest
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))
from assetctl_run import (ASSETS_FAILED, FIXTURE, OK, REGION, assetctl, assets_repository,  # noqa: E402
                          environment_without, external_id_role_arn, isolated_aws, main,
                          publishing_role_arn, skip, web_identity_role_arn)

try:
    import botocore.session  # noqa: E402
    from metadata_servers import EcsCredentialsServer, ImdsServer  # noqa: E402
    from stack import ACCOUNT_A, ACCOUNT_B, EXTERNAL_ID, Stack  # noqa: E402
except ImportError as error:  # botocore missing: the harness cannot run
    skip(error)

WITH_EXTERNAL_ID = external_id_role_arn(ACCOUNT_B)
WEB_IDENTITY_ROLE = web_identity_role_arn(ACCOUNT_B)


def control(url, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


class Doctor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()
        cls.info = cls.stack.start()
        cls.url = cls.info["endpoint_url"]
        cls.key = cls.info["keys"][0]

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()

    def setUp(self):
        control(self.url, "DELETE", "/__control/log")
        control(self.url, "DELETE", "/__control/inject")
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self.tmp.name)
        self.addCleanup(self.tmp.cleanup)

    # --- helpers ------------------------------------------------------------------------------

    def base_env(self, **extra):
        """An environment with no credentials at all, pointed at the local endpoint."""
        env = environment_without(("AWS_",))
        env.update(isolated_aws(self.dir))
        env.update({
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": REGION,
        })
        env.update(extra)
        return env

    def key_env(self, key=None):
        key = key or self.key
        return {"AWS_ACCESS_KEY_ID": key["access_key_id"],
                "AWS_SECRET_ACCESS_KEY": key["secret_access_key"]}

    def doctor(self, env, *args, path=FIXTURE, engine=False):
        extra = [] if engine else ["--no-engine"]
        result = assetctl("doctor", "--json", "--path", path, *extra, *args, env=env)
        self.assertIn(result.code, (OK, ASSETS_FAILED), result.err)
        return result, result.json()

    def log(self):
        text = control(self.url, "GET", "/__control/log")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def calls(self, operation):
        return [entry for entry in self.log() if entry["operation"] == operation]

    def session_credentials(self):
        """Session credentials minted by the local STS (what ECS/IMDS would hand out)."""
        session = botocore.session.get_session()
        sts = session.create_client("sts", region_name=REGION, endpoint_url=self.url,
                                    aws_access_key_id=self.key["access_key_id"],
                                    aws_secret_access_key=self.key["secret_access_key"])
        role = publishing_role_arn(ACCOUNT_A, REGION)
        try:
            answer = sts.assume_role(RoleArn=role, RoleSessionName="metadata-test")["Credentials"]
        finally:
            sts.close()
        expiration = answer["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ")
        control(self.url, "DELETE", "/__control/log")
        return answer, expiration

    def assert_all_ok(self, result, report, account=ACCOUNT_A):
        self.assertEqual(result.code, OK, json.dumps(report, indent=1))
        self.assertTrue(report["ok"])
        self.assertEqual(report["identity"]["account"], account)
        self.assertGreaterEqual(len(report["destinations"]), 3)
        for destination in report["destinations"]:
            self.assertTrue(destination["ok"], destination)
            self.assertEqual(destination["login"]["registry"], self.info["registry"]["host"])

    def write_manifest(self, destination):
        manifest = {"version": "55.0.0", "dockerImages": {"img": {
            "source": {"directory": "asset.img"}, "destinations": {"d1": destination}}}}
        (self.dir / "asset.img").mkdir(exist_ok=True)
        (self.dir / "asset.img" / "Dockerfile").write_text("FROM scratch\n")
        path = self.dir / "Test.assets.json"
        path.write_text(json.dumps(manifest))
        return path

    # --- credential sources ---------------------------------------------------------------------

    def test_environment_credentials_and_bootstrapped_destinations(self):
        result, report = self.doctor(self.base_env(**self.key_env()))
        self.assert_all_ok(result, report)
        self.assertEqual(report["credentials"]["source"], "environment")
        # One AssumeRole per role, however many destinations use it.
        roles = [entry["role_arn"] for entry in self.calls("AssumeRole")]
        self.assertEqual(len(roles), len(set(roles)))
        self.assertTrue(all(entry["signature_verified"] for entry in self.log()))

    def test_no_secret_in_trace_logs(self):
        credentials, expiration = self.session_credentials()
        token_file = self.dir / "ecs-token"
        token_file.write_text("ecs-secret-token")
        with EcsCredentialsServer(credentials, expiration, "ecs-secret-token") as server:
            env = self.base_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=server.url + "/creds",
                                AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(token_file))
            result = assetctl("-vv", "doctor", "--no-engine", "--path", FIXTURE, env=env)
        self.assertEqual(result.code, OK, result.err)
        self.assertIn("http POST", result.err)  # trace logging really was on
        for secret in (credentials["SecretAccessKey"], credentials["SessionToken"],
                       "ecs-secret-token"):
            self.assertNotIn(secret, result.out + result.err)

    def test_shared_credentials_file_with_profile(self):
        credentials = self.dir / "credentials"
        credentials.write_text(textwrap.dedent(f"""\
            [default]
            aws_access_key_id = AKIAWRONGWRONGWRONG1
            aws_secret_access_key = wrong
            [ci]
            aws_access_key_id = {self.key["access_key_id"]}
            aws_secret_access_key = {self.key["secret_access_key"]}
            """))
        env = self.base_env(AWS_SHARED_CREDENTIALS_FILE=str(credentials), AWS_PROFILE="ci")
        result, report = self.doctor(env)
        self.assert_all_ok(result, report)
        self.assertIn("ci", report["credentials"]["source"])

    def test_profile_option_overrides_environment_profile(self):
        credentials = self.dir / "credentials"
        credentials.write_text(textwrap.dedent(f"""\
            [other]
            aws_access_key_id = {self.key["access_key_id"]}
            aws_secret_access_key = {self.key["secret_access_key"]}
            """))
        env = self.base_env(AWS_SHARED_CREDENTIALS_FILE=str(credentials), AWS_PROFILE="missing")
        result, report = self.doctor(env, "--profile", "other")
        self.assert_all_ok(result, report)

    def test_role_chain_with_source_profile_and_external_id(self):
        config = self.dir / "config"
        config.write_text(textwrap.dedent(f"""\
            [profile base]
            aws_access_key_id = {self.key["access_key_id"]}
            aws_secret_access_key = {self.key["secret_access_key"]}
            [profile deploy]
            role_arn = {WITH_EXTERNAL_ID}
            source_profile = base
            external_id = {EXTERNAL_ID}
            region = {REGION}
            """))
        env = self.base_env(AWS_CONFIG_FILE=str(config), AWS_PROFILE="deploy")
        del env["AWS_REGION"]  # the profile's region is used
        result, report = self.doctor(env)
        self.assert_all_ok(result, report, account=ACCOUNT_B)
        self.assertEqual(report["region"]["region"], REGION)
        first = self.calls("AssumeRole")[0]
        self.assertEqual(first["role_arn"], WITH_EXTERNAL_ID)
        self.assertEqual(first["external_id"], EXTERNAL_ID)
        self.assertEqual(first["access_key_id"], self.key["access_key_id"])

    def test_credential_process(self):
        script = self.dir / "creds.py"
        script.write_text(textwrap.dedent(f"""\
            import json
            print(json.dumps({{"Version": 1, "AccessKeyId": "{self.key["access_key_id"]}",
                              "SecretAccessKey": "{self.key["secret_access_key"]}"}}))
            """))
        config = self.dir / "config"
        config.write_text(f"[default]\ncredential_process = /usr/bin/python3 '{script}'\n")
        result, report = self.doctor(self.base_env(AWS_CONFIG_FILE=str(config)))
        self.assert_all_ok(result, report)

    def test_failing_credential_process_stops_the_chain(self):
        config = self.dir / "config"
        config.write_text("[default]\ncredential_process = /bin/sh -c 'echo token expired >&2; exit 3'\n")
        env = self.base_env(AWS_CONFIG_FILE=str(config), **self.key_env())
        # Environment credentials come first in the chain, so remove them for this case.
        del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        result, report = self.doctor(env)
        self.assertEqual(result.code, ASSETS_FAILED)
        self.assertFalse(report["credentials"]["ok"])
        self.assertIn("token expired", report["credentials"]["error"])

    def test_web_identity_from_environment(self):
        token_file = self.dir / "token"
        token_file.write_text(self.info["web_identity_token"])
        env = self.base_env(AWS_WEB_IDENTITY_TOKEN_FILE=str(token_file),
                            AWS_ROLE_ARN=WEB_IDENTITY_ROLE)
        result, report = self.doctor(env)
        self.assert_all_ok(result, report, account=ACCOUNT_B)
        calls = self.calls("AssumeRoleWithWebIdentity")
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["role_arn"], WEB_IDENTITY_ROLE)

    def test_ecs_container_credentials_full_uri_with_token_file(self):
        credentials, expiration = self.session_credentials()
        token_file = self.dir / "ecs-token"
        token_file.write_text("ecs-secret-token")
        with EcsCredentialsServer(credentials, expiration, "ecs-secret-token") as server:
            env = self.base_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=server.url + "/creds",
                                AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(token_file))
            result, report = self.doctor(env)
        self.assert_all_ok(result, report)
        self.assertEqual(server.requests[0], ("GET", "/creds", "ecs-secret-token"))

    def test_ec2_instance_metadata_v2(self):
        credentials, expiration = self.session_credentials()
        with ImdsServer(credentials, expiration) as server:
            env = self.base_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=server.url)
            del env["AWS_EC2_METADATA_DISABLED"]
            result, report = self.doctor(env)
        self.assert_all_ok(result, report)
        self.assertEqual(server.requests[0], ("PUT", "/latest/api/token"))

    def test_no_credentials_lists_every_source(self):
        result, report = self.doctor(self.base_env())
        self.assertEqual(result.code, ASSETS_FAILED)
        error = report["credentials"]["error"]
        self.assertIn("no AWS credentials found", error)
        for source in ("environment", "web identity", "ECS", "EC2"):
            self.assertIn(source, error)

    # --- roles, repositories, failures ----------------------------------------------------------

    def test_external_id_and_session_tags_reach_sts(self):
        manifest = self.write_manifest({
            "repositoryName": assets_repository(ACCOUNT_B, REGION),
            "imageTag": "t", "region": REGION, "assumeRoleArn": WITH_EXTERNAL_ID,
            "assumeRoleExternalId": EXTERNAL_ID,
            "assumeRoleAdditionalOptions": {"Tags": [{"Key": "team", "Value": "platform"}],
                                            "TransitiveTagKeys": ["team"]}})
        result, report = self.doctor(self.base_env(**self.key_env()), path=manifest)
        self.assertEqual(result.code, OK, json.dumps(report, indent=1))
        self.assertEqual(report["destinations"][0]["externalId"], EXTERNAL_ID)
        (call,) = self.calls("AssumeRole")
        self.assertEqual(call["role_arn"], WITH_EXTERNAL_ID)
        self.assertEqual(call["external_id"], EXTERNAL_ID)
        self.assertEqual(call["tags"], {"team": "platform"})
        self.assertEqual(call["transitive_tag_keys"], ["team"])
        self.assertTrue(call["role_session_name"].startswith("assetctl-"))

    def test_wrong_external_id_is_reported_for_the_destination(self):
        manifest = self.write_manifest({
            "repositoryName": assets_repository(ACCOUNT_B, REGION),
            "imageTag": "t", "region": REGION, "assumeRoleArn": WITH_EXTERNAL_ID,
            "assumeRoleExternalId": "not-the-right-one"})
        result, report = self.doctor(self.base_env(**self.key_env()), path=manifest)
        self.assertEqual(result.code, ASSETS_FAILED)
        check = report["destinations"][0]["assumeRole"]
        self.assertFalse(check["ok"])
        self.assertIn("AccessDenied", check["error"])

    def test_destination_without_repository_is_not_bootstrapped(self):
        repository = assets_repository(ACCOUNT_A, "eu-west-1")
        control(self.url, "DELETE", f"/__control/repositories/{repository}")
        self.addCleanup(control, self.url, "POST", "/__control/repositories",
                        {"name": repository, "account": ACCOUNT_A})
        result, report = self.doctor(self.base_env(**self.key_env()))
        self.assertEqual(result.code, ASSETS_FAILED)
        failing = [d for d in report["destinations"] if not d["ok"]]
        self.assertEqual([d["repository"] for d in failing], [repository])
        check = failing[0]["repositoryCheck"]
        self.assertFalse(check["exists"])
        self.assertIn("Is this account bootstrapped?", check["error"])

    def test_bad_secret_fails_once_without_retry_storm(self):
        key = dict(self.key, secret_access_key="definitely-not-the-secret")
        result, report = self.doctor(self.base_env(**self.key_env(key)))
        self.assertEqual(result.code, ASSETS_FAILED)
        self.assertFalse(report["identity"]["ok"])
        self.assertIn("SignatureDoesNotMatch", report["identity"]["error"])
        self.assertEqual(len(self.calls("GetCallerIdentity")), 1)
        self.assertNotIn("definitely-not-the-secret", result.out + result.err)

    def test_throttling_is_retried(self):
        control(self.url, "POST", "/__control/inject",
                {"op": "GetCallerIdentity", "status": 400, "code": "Throttling", "count": 2})
        result, report = self.doctor(self.base_env(**self.key_env(), AWS_MAX_ATTEMPTS="3"))
        self.assertEqual(result.code, OK, json.dumps(report, indent=1))
        calls = self.calls("GetCallerIdentity")
        self.assertEqual([bool(call["injected"]) for call in calls], [True, True, False])

    def test_throttling_beyond_max_attempts_fails(self):
        control(self.url, "POST", "/__control/inject",
                {"op": "GetCallerIdentity", "status": 400, "code": "Throttling", "count": 5})
        result, report = self.doctor(self.base_env(**self.key_env(), AWS_MAX_ATTEMPTS="2"))
        self.assertEqual(result.code, ASSETS_FAILED)
        self.assertIn("Throttling", report["identity"]["error"])
        self.assertEqual(len(self.calls("GetCallerIdentity")), 2)

    def test_missing_engine_is_reported(self):
        env = self.base_env(**self.key_env(), CDK_DOCKER=str(self.dir / "no-such-docker"))
        result, report = self.doctor(env, engine=True)
        self.assertEqual(result.code, ASSETS_FAILED)
        self.assertFalse(report["engine"]["ok"])
        self.assertIn("no-such-docker", report["engine"]["error"])
        self.assertIn("CDK_DOCKER", report["engine"]["error"])


if __name__ == "__main__":
    main()
