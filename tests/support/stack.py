#!/usr/bin/python3
"""Bring up the whole fake AWS side for integration tests: real registry + ECR/STS endpoint.

CLI (for C++ / shell tests):
    /usr/bin/python3 tests/support/stack.py up   --state-dir D [--config extra.json] [--region R]
        -> prints one JSON object (also saved as D/stack.json); processes keep running
    /usr/bin/python3 tests/support/stack.py down --state-dir D [--keep]
        -> stops exactly the pids recorded in D/stack.json; removes D unless --keep
    /usr/bin/python3 tests/support/stack.py env --state-dir D [--dockerd-state-dir DD] [--docker-config C]
        -> prints `export NAME=value` lines for `eval`: the environment of a client (client_env)
    /usr/bin/python3 tests/support/stack.py exec [--state-dir D] [up's options] [--dockerd-state-dir DD
                     [--import-busybox]] [--docker-config C] [--keep] -- COMMAND [ARG...]
        -> brings the stack (and, with --dockerd-state-dir, a private dockerd) up, runs COMMAND in
           client_env, stops everything, and exits with COMMAND's status. Prints nothing itself.

Python:
    with Stack() as s:
        s.info["endpoint_url"], s.info["registry"]["host"], s.info["keys"][0] ...

With Stack(fault_proxy=True) (CLI: `up --fault-proxy`), a fault_proxy.py runs in front of the
registry and the endpoint hands it out instead (repositoryUri host with `repository_uri_host:
registry`, proxyEndpoint); its address and control API are in info["registry_proxy"]
({url, host, port, control_url, pid}). info["registry"] stays the registry itself.

With Stack(regions=["us-east-1", "us-west-2"]) (CLI: `up --regions us-east-1,us-west-2`), each of
those regions gets a registry of its own (TLS + htpasswd, the default registry's certificate, so
its ca_cert/cert_dir trust them all), as ECR has one registry per region: the endpoint's
"registries" config sends that region's tokens, repository URIs and image lookups there.
info["registries"] = {region: registry.describe()}; other regions use info["registry"].
With proxied_regions=[R] (CLI: `--fault-proxy-region R`), a fault_proxy.py runs in front of R's
registry and the endpoint hands it out for R; info["registry_proxies"] = {R: proxy info}.

With Stack(fast=True) (CLI: `--fast`), the endpoint runs in benchmark mode (FAST_MODE in
ecr_endpoint.py: DescribeImages by id in O(ids), keep-alive to the registry, server_ms in the log).

Both processes run with their own session (setsid), so `up` can return while they keep
running; `down` checks /proc/<pid>/cmdline before signalling, so a recycled pid is never hit.
"""

import argparse
import json
import os
import secrets
import shlex
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dockerd as dockerd_support  # noqa: E402
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
            roles["arn:aws:iam::%s:role/cdk-%s-file-publishing-role-%s-%s" % (account, qualifier, account, reg)] = {}
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


def bootstrap_bucket(account: str, region: str) -> dict:
    """The bucket `cdk bootstrap` makes: default encryption aws:kms with the AWS-managed key."""
    return {"name": "cdk-hnb659fds-assets-%s-%s" % (account, region), "region": region, "account": account,
            "encryption": {"kms": None}, "deny_get_encryption": False}


def s3_buckets(regions: list, account: str, extra: list) -> list:
    """A bootstrap bucket of `account` in every region, then `extra` (which may replace one by name)."""
    buckets = {b["name"]: b for b in (bootstrap_bucket(account, region) for region in regions)}
    for spec in extra or []:
        spec = dict(spec)
        spec.setdefault("account", account)
        spec.setdefault("region", "us-east-1")
        spec.setdefault("encryption", "none")
        spec.setdefault("deny_get_encryption", False)
        buckets[spec["name"]] = spec
    return list(buckets.values())


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
                 detach: bool = False, fault_proxy: bool = False, fast: bool = False, regions: list = None,
                 proxied_regions: list = None, buckets: list = None):
        self.fault_proxy = fault_proxy
        self.extra_buckets = list(buckets or [])
        self.own_regions = list(regions or [])
        self.proxied_regions = list(proxied_regions or [])
        unknown = set(self.proxied_regions) - set(self.own_regions)
        if unknown:
            raise ValueError("proxied regions need a registry of their own (regions=): %s" % sorted(unknown))
        self.region_registries = {}          # region -> Registry
        self.region_proxies = {}             # region -> (Popen, proxy info)
        self.fast = fast
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
                self.proxy_process, self.proxy_info = self._start_proxy(self.registry, "proxy")
            self._start_region_registries()
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
        config["regions"] = sorted(set(config["regions"]) | set(self.own_regions))
        config["registries"] = {region: self._registry_spec(region) for region in self.region_registries}
        if self.fast:
            config["fast"] = True
        main_account = str(next(iter(config["keys"].values()))["account"])
        config["s3"] = {"data_dir": os.path.join(self.state_dir, "s3"),
                        "buckets": s3_buckets(config["regions"], main_account, self.extra_buckets)}
        return config

    def _start_region_registries(self) -> None:
        for region in self.own_regions:
            reg = registry_support.Registry(os.path.join(self.state_dir, "registry-" + region), detach=self.detach,
                                            tls_from=self.registry)
            self.region_registries[region] = reg
            reg.start()
            if region in self.proxied_regions:
                self.region_proxies[region] = self._start_proxy(reg, "proxy-" + region)

    def _registry_spec(self, region: str) -> dict:
        reg = self.region_registries[region]
        spec = {"url": reg.url, "ca_cert": reg.ca_cert, "username": reg.admin_user,
                "password": reg.admin_password, "htpasswd": reg.htpasswd}
        if region in self.region_proxies:
            spec["public_url"] = self.region_proxies[region][1]["url"]
        return spec

    def _start_proxy(self, reg, name: str) -> tuple:
        """A fault_proxy.py in front of reg -> (Popen, its ready-file info)."""
        ready = os.path.join(self.state_dir, name + ".ready")
        if os.path.exists(ready):
            os.remove(ready)
        with open(os.path.join(self.state_dir, name + ".stderr"), "ab") as err:
            process = subprocess.Popen(
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

        try:
            registry_support.wait_until(proxy_ready, READY_DEADLINE_SECONDS, process, "fault_proxy.py")
        except BaseException:
            registry_support.terminate_pid(process.pid, process)
            raise
        return process, state

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
            "s3": {"buckets": {b["name"]: b for b in config["s3"]["buckets"]}, "data_dir": config["s3"]["data_dir"]},
            "log_file": config["log_file"],
            "endpoint_config": config_path,
            "pids": self._pids(),
            "created_state_dir": self.created_dir,
            "fast": self.fast,
            # Ready-made environment for a client under test (first key = account A).
            "env": {"AWS_ACCESS_KEY_ID": keys[0]["access_key_id"],
                    "AWS_SECRET_ACCESS_KEY": keys[0]["secret_access_key"],
                    "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region,
                    "AWS_ENDPOINT_URL": state["url"], "AWS_ENDPOINT_URL_ECR": state["url"],
                    "AWS_ENDPOINT_URL_STS": state["url"], "AWS_ENDPOINT_URL_S3": state["url"]},
        }
        if self.proxy_info:
            self.info["registry_proxy"] = self.proxy_info
        if self.region_registries:
            self.info["registries"] = {region: reg.describe() for region, reg in self.region_registries.items()}
        if self.region_proxies:
            self.info["registry_proxies"] = {region: info for region, (_, info) in self.region_proxies.items()}
        with open(os.path.join(self.state_dir, "stack.json"), "w") as handle:
            json.dump(self.info, handle, indent=1)

    def _pids(self) -> dict:
        """name -> pid; `down` tells the programs apart by the name's prefix (see stop_recorded)."""
        pids = {"registry": self.registry.pid, "endpoint": self.endpoint_process.pid}
        if self.proxy_process:
            pids["proxy"] = self.proxy_process.pid
        for region, reg in self.region_registries.items():
            pids["registry-" + region] = reg.pid
        for region, (process, _) in self.region_proxies.items():
            pids["proxy-" + region] = process.pid
        return pids

    def stop(self, remove_files: bool = None) -> None:
        for region, (process, _) in list(self.region_proxies.items()):
            if process is not None and process.poll() is None:
                registry_support.terminate_pid(process.pid, process)
        self.region_proxies.clear()
        for reg in self.region_registries.values():
            reg.stop(remove_files=False)
        self.region_registries.clear()
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
        program = expected[name.split("-", 1)[0]]       # "registry-us-west-2" is a registry
        if pid and registry_support.pid_alive(pid) and program in cmdline and state_dir in cmdline:
            registry_support.terminate_pid(pid)
            stopped[name] = pid
    if not keep and info.get("created_state_dir", True):
        shutil.rmtree(state_dir, ignore_errors=True)
    return {"stopped": stopped, "removed": not keep and info.get("created_state_dir", True)}


CLIENT_DOCKER_VARS = ("DOCKER_HOST", "DOCKER_BUILDKIT", "PATH")


def client_env(info: dict, dockerd_info: dict = None, docker_config: str = None) -> dict:
    """The variables a CI job would have against this stack: its AWS keys, region and endpoint
    overrides (info["env"]), shared AWS files that do not exist (in the state dir), no IMDS;
    with a dockerd, its DOCKER_HOST, DOCKER_BUILDKIT and a PATH on which `docker` is its
    client; DOCKER_CONFIG only when given (otherwise the caller's own)."""
    env = dict(info["env"])
    if dockerd_info:
        env.update({name: dockerd_info["env"][name] for name in CLIENT_DOCKER_VARS})
    if docker_config:
        env["DOCKER_CONFIG"] = docker_config
    env["AWS_CONFIG_FILE"] = os.path.join(info["state_dir"], "no-aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(info["state_dir"], "no-aws-credentials")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def shell_exports(env: dict) -> str:
    return "".join("export %s=%s\n" % (name, shlex.quote(value)) for name, value in sorted(env.items()))


def _read_json(path: str) -> dict:
    with open(path) as handle:
        return json.load(handle)


def _exit_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode     # killed by signal N: 128+N, as a shell


class _Terminated(Exception):
    pass


def _raise_terminated(signum, frame):
    raise _Terminated()


def exec_in_stack(args, extra: dict) -> int:
    """`exec`: stack (+ dockerd) up, COMMAND in client_env, everything down again."""
    signal.signal(signal.SIGTERM, _raise_terminated)     # so that `finally` stops what we started
    stack = Stack(args.state_dir and os.path.abspath(args.state_dir), extra, args.region,
                  fault_proxy=args.fault_proxy, fast=args.fast, regions=_region_list(args.regions),
                  proxied_regions=args.fault_proxy_region, buckets=_bucket_list(args.buckets_json))
    daemon = None
    try:
        info = stack.start()
        dockerd_info = None
        if args.dockerd_state_dir:
            daemon = dockerd_support.Dockerd(args.dockerd_state_dir)
            daemon.start()
            extra_state = {"busybox_image_id": daemon.import_busybox()} if args.import_busybox else {}
            dockerd_info = daemon.save_state(extra_state)
        env = dict(os.environ, **client_env(info, dockerd_info, args.docker_config))
        return _exit_status(subprocess.run(args.command, env=env).returncode)
    except _Terminated:
        return 128 + signal.SIGTERM
    finally:
        if daemon is not None:
            daemon.stop(remove_files=False if args.keep else None)
        stack.stop(remove_files=False if args.keep else None)


def _bucket_list(text: str) -> list:
    """--buckets-json: a JSON list of bucket specs, or @FILE holding one."""
    if not text:
        return []
    if text.startswith("@"):
        return _read_json(text[1:])
    return json.loads(text)


def _region_list(text: str) -> list:
    return [region.strip() for region in (text or "").split(",") if region.strip()]


def _add_up_options(parser) -> None:
    parser.add_argument("--config", help="JSON merged over the default endpoint config")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--fault-proxy", action="store_true",
                        help="run fault_proxy.py in front of the registry and hand it out instead")
    parser.add_argument("--fast", action="store_true",
                        help="benchmark mode of the endpoint (FAST_MODE in ecr_endpoint.py)")
    parser.add_argument("--regions", help="comma-separated regions that get a registry of their own each")
    parser.add_argument("--fault-proxy-region", action="append", default=[], metavar="REGION",
                        help="a fault_proxy.py in front of that region's own registry (one of --regions)")
    parser.add_argument("--buckets-json", metavar="JSON|@FILE",
                        help='extra S3 buckets: [{"name", "region", "account", "encryption", "deny_get_encryption"}]')


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command_name", required=True)
    up = sub.add_parser("up", help="start registry + endpoint, print JSON")
    up.add_argument("--state-dir", required=True)
    _add_up_options(up)
    down = sub.add_parser("down", help="stop what `up` started")
    down.add_argument("--state-dir", required=True)
    down.add_argument("--keep", action="store_true", help="keep the state dir (logs) after stopping")
    env = sub.add_parser("env", help="print a client's environment of a running stack as shell exports")
    env.add_argument("--state-dir", required=True)
    env.add_argument("--dockerd-state-dir", help="also the docker variables of `dockerd.py up` there")
    env.add_argument("--docker-config", help="DOCKER_CONFIG for the client")
    run = sub.add_parser("exec", help="run COMMAND against a stack that lives as long as it")
    run.add_argument("--state-dir", help="default: a new temporary directory")
    _add_up_options(run)
    run.add_argument("--dockerd-state-dir", help="also start a private dockerd (dockerd.py) there")
    run.add_argument("--import-busybox", action="store_true", help="with a dockerd: import local/busybox:latest")
    run.add_argument("--docker-config", help="DOCKER_CONFIG for COMMAND")
    run.add_argument("--keep", action="store_true", help="keep the state dirs (logs) afterwards")
    run.add_argument("command", nargs="+", metavar="COMMAND", help="after --: the command and its arguments")
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    extra = _read_json(args.config) if getattr(args, "config", None) else {}
    if args.command_name == "exec":
        return exec_in_stack(args, extra)
    state_dir = os.path.abspath(args.state_dir)
    if args.command_name == "env":
        dockerd_info = None
        if args.dockerd_state_dir:
            dockerd_info = _read_json(os.path.join(args.dockerd_state_dir, dockerd_support.STATE_FILE))
        sys.stdout.write(shell_exports(client_env(_read_json(os.path.join(state_dir, "stack.json")), dockerd_info,
                                                  args.docker_config)))
        return 0
    if args.command_name == "up":
        stack = Stack(state_dir, extra, args.region, detach=True, fault_proxy=args.fault_proxy, fast=args.fast,
                      regions=_region_list(args.regions), proxied_regions=args.fault_proxy_region,
                      buckets=_bucket_list(args.buckets_json))
        info = stack.start()
        # Let the processes outlive us without Popen warnings; `down` stops them by pid.
        stack.endpoint_process = None
        stack.proxy_process = None
        stack.registry.process = None
        for reg in stack.region_registries.values():
            reg.process = None
        for region in stack.region_proxies:
            stack.region_proxies[region] = (None, stack.region_proxies[region][1])
        print(json.dumps(info, indent=1), flush=True)
        return 0
    print(json.dumps(stop_recorded(state_dir, args.keep)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
