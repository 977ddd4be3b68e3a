#!/usr/bin/python3
"""Bring up the whole fake AWS side for integration tests: real registry + ECR/STS endpoint.

CLI (for C++ / shell tests):
    /usr/bin/python3 tests/support/stack.py up   --state-dir D [--config extra.json] [--region R]
        -> prints one JSON object (also saved as D/stack.json); processes keep running
    /usr/bin/python3 tests/support/stack.py down --state-dir D [--keep]
        -> stops exactly the pids recorded in D/stack.json; removes D unless --keep

Python:
    with Stack() as s:
        s.info["endpoint_url"], s.info["registry"]["host"], s.info["keys"][0] ...

With Stack(fault_proxy=True) (CLI: `up --fault-proxy`), a fault_proxy.py runs in front of the
registry and the endpoint hands it out instead (repositoryUri host with `repository_uri_host:
registry`, proxyEndpoint); its address and control API are in info["registry_proxy"]
({url, host, port, control_url, pid}). info["registry"] stays the registry itself.

Both processes run with their own session (setsid), so `up` can return while they keep
running; `down` checks /proc/<pid>/cmdline before signalling, so a recycled pid is never hit.
"""

import argparse
import json
import os
import secrets
import shutil
import string
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import registry as registry_support  # noqa: E402

PYTHON = "/usr/bin/python3"           # Debian's python, which sees python3-botocore
ENDPOINT_SCRIPT = os.path.join(HERE, "ecr_endpoint.py")
PROXY_SCRIPT = os.path.join(HERE, "fault_proxy.py")
READY_DEADLINE_SECONDS = 30.0
DEFAULT_REGIONS = ["us-east-1", "us-west-2", "eu-west-1"]
ACCOUNT_A = "111111111111"   # the caller's own account (long-term key)
ACCOUNT_B = "222222222222"   # a second account reached via AssumeRole
EXTERNAL_ID = "assetctl-test-external-id"


def _key_id(prefix: str = "AKIA") -> str:
    alphabet = string.ascii_uppercase + "234567"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(16))


def default_endpoint_config(region: str) -> dict:
    """Two accounts, CDK-style roles and repositories. Merge --config over this."""
    qualifier = "hnb659fds"
    roles = {}
    repositories = []
    for account in (ACCOUNT_A, ACCOUNT_B):
        for reg in DEFAULT_REGIONS:
            roles["arn:aws:iam::%s:role/cdk-%s-image-publishing-role-%s-%s" % (account, qualifier, account, reg)] = {}
            repositories.append({"name": "cdk-%s-container-assets-%s-%s" % (qualifier, account, reg),
                                 "account": account})
    roles["arn:aws:iam::%s:role/assetctl-publisher-with-external-id" % ACCOUNT_B] = {"external_id": EXTERNAL_ID}
    roles["arn:aws:iam::%s:role/assetctl-web-identity-role" % ACCOUNT_B] = {}
    return {
        "regions": sorted(set(DEFAULT_REGIONS) | {region}),
        "keys": {
            _key_id(): {"secret": secrets.token_urlsafe(30), "account": ACCOUNT_A, "user": "assetctl-ci"},
            _key_id(): {"secret": secrets.token_urlsafe(30), "account": ACCOUNT_B, "user": "assetctl-other"},
        },
        "roles": roles,
        "web_identity_tokens": {"assetctl-test-web-identity-token": {"subject": "system:serviceaccount:ci:assetctl"}},
        "repositories": repositories,
    }


def _deep_merge(base: dict, extra: dict) -> dict:
    result = dict(base)
    for key, value in (extra or {}).items():
        result[key] = _deep_merge(result[key], value) if isinstance(value, dict) and isinstance(
            result.get(key), dict) else value
    return result


def _health(url: str, path: str = "/__control/health") -> bool:
    try:
        with urllib.request.urlopen(url + path, timeout=0.5) as resp:
            return resp.status == 200
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Stack:
    """Registry + endpoint. `detach=True` makes them outlive this Python process (CLI `up`)."""

    def __init__(self, state_dir: str = None, extra_config: dict = None, region: str = "us-east-1",
                 detach: bool = False, fault_proxy: bool = False):
        self.fault_proxy = fault_proxy
        self.proxy_process = None
        self.proxy_info = None
        self.created_dir = state_dir is None or not os.path.exists(state_dir)
        self.state_dir = os.path.abspath(state_dir or tempfile.mkdtemp(prefix="assetctl-stack-"))
        self.extra_config = extra_config or {}
        self.region = region
        self.detach = detach
        self.registry = None
        self.endpoint_process = None
        self.info = None

    def start(self) -> dict:
        os.makedirs(self.state_dir, exist_ok=True)
        try:
            self.registry = registry_support.Registry(os.path.join(self.state_dir, "registry"), detach=self.detach)
            self.registry.start()
            if self.fault_proxy:
                self._start_proxy()
            self._start_endpoint()
        except BaseException:
            self.stop(remove_files=False)
            raise
        return self.info

    def _endpoint_config(self) -> dict:
        reg = self.registry
        config = _deep_merge(default_endpoint_config(self.region), self.extra_config)
        config.update({
            "host": "127.0.0.1", "port": 0,
            "ready_file": os.path.join(self.state_dir, "endpoint.ready"),
            "log_file": config.get("log_file") or os.path.join(self.state_dir, "requests.jsonl"),
            "registry": {"url": reg.url, "ca_cert": reg.ca_cert, "username": reg.admin_user,
                         "password": reg.admin_password, "htpasswd": reg.htpasswd},
        })
        if self.proxy_info:
            config["registry_public_url"] = self.proxy_info["url"]
        return config

    def _start_proxy(self) -> None:
        reg = self.registry
        ready = os.path.join(self.state_dir, "proxy.ready")
        if os.path.exists(ready):
            os.remove(ready)
        with open(os.path.join(self.state_dir, "proxy.stderr"), "ab") as err:
            self.proxy_process = subprocess.Popen(
                [PYTHON, PROXY_SCRIPT, "--upstream", reg.url, "--ca-cert", reg.ca_cert, "--cert", reg.cert,
                 "--key", reg.key, "--ready-file", ready], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err, start_new_session=self.detach, cwd=self.state_dir,
                preexec_fn=None if self.detach else registry_support.die_with_parent)
        state = {}

        def proxy_ready() -> bool:
            if not state and os.path.exists(ready):
                with open(ready) as handle:
                    state.update(json.load(handle))
            return bool(state) and _health(state["control_url"], "/health")

        registry_support.wait_until(proxy_ready, READY_DEADLINE_SECONDS, self.proxy_process, "fault_proxy.py")
        self.proxy_info = state

    def _start_endpoint(self) -> None:
        config = self._endpoint_config()
        config_path = os.path.join(self.state_dir, "endpoint.json")
        with open(config_path, "w") as handle:
            json.dump(config, handle, indent=1)
        ready = config["ready_file"]
        if os.path.exists(ready):
            os.remove(ready)
        with open(os.path.join(self.state_dir, "endpoint.stderr"), "ab") as err:
            self.endpoint_process = subprocess.Popen(
                [PYTHON, ENDPOINT_SCRIPT, "--config", config_path], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err, start_new_session=self.detach, cwd=self.state_dir,
                preexec_fn=None if self.detach else registry_support.die_with_parent)
        state = {}

        def endpoint_ready() -> bool:
            if not state and os.path.exists(ready):
                with open(ready) as handle:
                    state.update(json.load(handle))
            return bool(state) and _health(state["url"])

        registry_support.wait_until(endpoint_ready, READY_DEADLINE_SECONDS, self.endpoint_process,
                                    "ecr_endpoint.py")
        keys = [{"access_key_id": k, "secret_access_key": v["secret"], "account": v["account"]}
                for k, v in config["keys"].items()]
        self.info = {
            "state_dir": self.state_dir,
            "endpoint_url": state["url"],
            "region": self.region,
            "regions": config["regions"],
            "registry": self.registry.describe(),
            "keys": keys,
            "roles": config["roles"],
            "external_id": EXTERNAL_ID,
            "web_identity_token": next(iter(config.get("web_identity_tokens") or {}), None),
            "repositories": config["repositories"],
            "log_file": config["log_file"],
            "endpoint_config": config_path,
            "pids": dict({"registry": self.registry.pid, "endpoint": self.endpoint_process.pid},
                         **({"proxy": self.proxy_process.pid} if self.proxy_process else {})),
            "created_state_dir": self.created_dir,
            # Ready-made environment for a client under test (first key = account A).
            "env": {"AWS_ACCESS_KEY_ID": keys[0]["access_key_id"],
                    "AWS_SECRET_ACCESS_KEY": keys[0]["secret_access_key"],
                    "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region,
                    "AWS_ENDPOINT_URL": state["url"], "AWS_ENDPOINT_URL_ECR": state["url"],
                    "AWS_ENDPOINT_URL_STS": state["url"]},
        }
        if self.proxy_info:
            self.info["registry_proxy"] = self.proxy_info
        with open(os.path.join(self.state_dir, "stack.json"), "w") as handle:
            json.dump(self.info, handle, indent=1)

    def stop(self, remove_files: bool = None) -> None:
        if self.endpoint_process is not None:
            if self.endpoint_process.poll() is None:
                registry_support.terminate_pid(self.endpoint_process.pid, self.endpoint_process)
            self.endpoint_process = None
        if self.proxy_process is not None:
            if self.proxy_process.poll() is None:
                registry_support.terminate_pid(self.proxy_process.pid, self.proxy_process)
            self.proxy_process = None
        if self.registry is not None:
            self.registry.stop(remove_files=False)
            self.registry = None
        if remove_files if remove_files is not None else self.created_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> "Stack":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def stop_recorded(state_dir: str, keep: bool) -> dict:
    """`down`: stop the pids recorded by `up` (only if they still run our programs)."""
    path = os.path.join(state_dir, "stack.json")
    with open(path) as handle:
        info = json.load(handle)
    stopped = {}
    expected = {"endpoint": ENDPOINT_SCRIPT, "registry": registry_support.REGISTRY_BIN, "proxy": PROXY_SCRIPT}
    for name, pid in info["pids"].items():
        cmdline = _cmdline(pid)
        if pid and registry_support.pid_alive(pid) and expected[name] in cmdline and state_dir in cmdline:
            registry_support.terminate_pid(pid)
            stopped[name] = pid
    if not keep and info.get("created_state_dir", True):
        shutil.rmtree(state_dir, ignore_errors=True)
    return {"stopped": stopped, "removed": not keep and info.get("created_state_dir", True)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start registry + endpoint, print JSON")
    up.add_argument("--state-dir", required=True)
    up.add_argument("--config", help="JSON merged over the default endpoint config")
    up.add_argument("--region", default="us-east-1")
    up.add_argument("--fault-proxy", action="store_true",
                    help="run fault_proxy.py in front of the registry and hand it out instead")
    down = sub.add_parser("down", help="stop what `up` started")
    down.add_argument("--state-dir", required=True)
    down.add_argument("--keep", action="store_true", help="keep the state dir (logs) after stopping")
    args = parser.parse_args(argv)
    state_dir = os.path.abspath(args.state_dir)

    if args.command == "up":
        extra = {}
        if args.config:
            with open(args.config) as handle:
                extra = json.load(handle)
        stack = Stack(state_dir, extra, args.region, detach=True, fault_proxy=args.fault_proxy)
        info = stack.start()
        # Let the processes outlive us without Popen warnings; `down` stops them by pid.
        stack.endpoint_process = None
        stack.proxy_process = None
        stack.registry.process = None
        print(json.dumps(info, indent=1), flush=True)
        return 0
    print(json.dumps(stop_recorded(state_dir, args.keep)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
