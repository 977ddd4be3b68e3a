#!/usr/bin/python3
"""Load: a generated cloud assembly of many image and file assets over three regions, published
against the local stack with ECR-like rate limits (issue #13). Not a CI test: it prints figures.

    /usr/bin/python3 bench/load.py [--assetctl build/dev/apps/assetctl/assetctl]
        [--scales 100:40,250:100,500:200] [--sample 30:20 --runs 3] [--no-cdk-assets]

The stack (tests/support/stack.py, started here) has a registry of its own per region
(us-east-1, us-west-2, eu-west-1), each behind a fault proxy that answers a manifest PUT - ECR's
PutImage - with 429 TOOMANYREQUESTS beyond --put-image-rate per second (default 10), and the
endpoint answers GetAuthorizationToken with ThrottlingException beyond --token-rate per second
(default 20, over all regions: stricter than ECR's per-region limit).

The assembly (bench/gen_load.py's shape, written here): manifest.json with one asset manifest
per region, each holding a third of the images - CDK TarballImageAssets (the `docker load`
executable CDK writes; assetctl reads the tarball itself), one random 16 KiB layer each, pushed
to the region's bootstrap repository with the asset hash as tag through the image-publishing
role - and a third of the files (4-64 KiB, random) for the region's bootstrap bucket through
the file-publishing role.

1. For each scale IMAGES:FILES, assetctl publishes a fresh assembly once (`publish --json`),
   sampled every 10 ms for its threads and open descriptors; reported: wall time, peak RSS
   (getrusage), the most threads and descriptors at once, AWS calls in all and per asset (the
   endpoint's log), registry requests per image and how many were throttled (the proxies'
   logs), and that every tag and object is there (registry tag lists, S3 with botocore).
   Flat memory, threads and descriptors across scales mean no per-asset leak.
2. With cdk-assets 4.7.3 installed in bench/node_modules (bench/run.sh installs it) and a
   private dockerd (tests/support/dockerd.py), cdk-assets and assetctl publish the --sample
   assembly side by side, --runs times each, alternating, each run a freshly generated
   assembly (nothing present): medians and the ratio. cdk-assets publishes one manifest per
   call, so its run is three calls in a row, as a pipeline script would make them.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "support"))
import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402

import dockerd as dockerd_support  # noqa: E402
import fault_proxy  # noqa: E402
import image_tarballs as it  # noqa: E402
from stack import ACCOUNT_A, Stack, client_env  # noqa: E402

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
QUALIFIER = "hnb659fds"
CDK_LOAD_SCRIPT = "docker load -i \"$1\" | tail -n 1 | sed \"s/Loaded image[^:]*: //g\""
CDK_ASSETS = ROOT / "bench" / "node_modules" / "cdk-assets" / "bin" / "cdk-assets.js"


def log(message):
    print("load: " + message, file=sys.stderr, flush=True)


# --- the assembly -------------------------------------------------------------------------

def write_assembly(out: Path, images: int, files: int, seed: str) -> dict:
    """Writes cdk.out under `out`; returns {"path", "manifests", "tags": {region: [...]},
    "objects": {region: {key: size}}}."""
    out.mkdir(parents=True)
    manifests = {region: {"version": "36.0.0", "dockerImages": {}, "files": {}} for region in REGIONS}
    tags = {region: [] for region in REGIONS}
    objects = {region: {} for region in REGIONS}
    rng = random.Random(seed)
    for index in range(images):
        region = REGIONS[index % len(REGIONS)]
        image = it.sample_image("%s-image-%d" % (seed, index), sizes=(16 << 10,))
        asset = hashlib.sha256(image.config).hexdigest()
        tarball = "asset.%s.tar" % asset
        it.write_docker_save_legacy(str(out / tarball), [image])
        manifests[region]["dockerImages"][asset] = {
            "source": {"executable": ["sh", "-c", CDK_LOAD_SCRIPT, "cdk-tarball-image-asset", tarball]},
            "destinations": {"%s-%s" % (ACCOUNT_A, region): {
                "repositoryName": "cdk-%s-container-assets-%s-%s" % (QUALIFIER, ACCOUNT_A, region),
                "imageTag": asset, "region": region,
                "assumeRoleArn": "arn:${AWS::Partition}:iam::%s:role/cdk-%s-image-publishing-role-%s-%s" % (
                    ACCOUNT_A, QUALIFIER, ACCOUNT_A, region)}}}
        tags[region].append(asset)
    for index in range(files):
        region = REGIONS[index % len(REGIONS)]
        data = rng.randbytes(rng.randint(4 << 10, 64 << 10))
        asset = hashlib.sha256(data).hexdigest()
        (out / ("asset.%s.bin" % asset)).write_bytes(data)
        key = "%s.bin" % asset
        manifests[region]["files"][asset] = {
            "source": {"path": "asset.%s.bin" % asset, "packaging": "file"},
            "destinations": {"%s-%s" % (ACCOUNT_A, region): {
                "bucketName": "cdk-%s-assets-%s-%s" % (QUALIFIER, ACCOUNT_A, region), "objectKey": key,
                "region": region,
                "assumeRoleArn": "arn:${AWS::Partition}:iam::%s:role/cdk-%s-file-publishing-role-%s-%s" % (
                    ACCOUNT_A, QUALIFIER, ACCOUNT_A, region)}}}
        objects[region][key] = len(data)
    artifacts, paths = {}, []
    for region, manifest in manifests.items():
        name = "Load-%s.assets" % region
        (out / (name + ".json")).write_text(json.dumps(manifest, indent=1))
        artifacts[name] = {"type": "cdk:asset-manifest", "properties": {"file": name + ".json"}}
        paths.append(str(out / (name + ".json")))
    (out / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": artifacts}, indent=1))
    return {"path": str(out), "manifests": paths, "tags": tags, "objects": objects, "images": images,
            "files": files}


# --- the stack's view ---------------------------------------------------------------------

class StackView:
    def __init__(self, info: dict):
        self.info = info
        self.proxies = {region: fault_proxy.FaultProxyClient(p["control_url"])
                        for region, p in info["registry_proxies"].items()}
        key = next(k for k in info["keys"] if k["account"] == ACCOUNT_A)
        self.s3 = {region: botocore.session.Session().create_client(
            "s3", endpoint_url=info["endpoint_url"], region_name=region, aws_access_key_id=key["access_key_id"],
            aws_secret_access_key=key["secret_access_key"],
            config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"})) for region in REGIONS}

    def control(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.info["endpoint_url"] + "/__control/" + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read().decode()

    def set_rate_limits(self, put_image_rate, token_rate):
        for proxy in self.proxies.values():
            proxy.clear_rules()
            proxy.add_rule({"method": "PUT", "path": "/manifests/", "status": 429, "rate_limit": put_image_rate,
                            "count": None})
        self.control("DELETE", "inject")
        self.control("POST", "inject", {"op": "GetAuthorizationToken", "service": "ecr", "status": 400,
                                        "code": "ThrottlingException", "rate_limit": token_rate, "count": None})

    def clear_logs(self):
        self.control("DELETE", "log")
        for proxy in self.proxies.values():
            proxy.clear_log()

    def aws_calls(self) -> dict:
        calls = {}
        for line in self.control("GET", "log").splitlines():
            if line.strip():
                entry = json.loads(line)
                name = "%s %s%s" % (entry.get("service"), entry.get("operation"),
                                    " (throttled)" if entry.get("injected") else "")
                calls[name] = calls.get(name, 0) + 1
        return calls

    def registry_requests(self) -> tuple:
        entries = [e for proxy in self.proxies.values() for e in proxy.log()]
        return len(entries), sum(1 for e in entries if e["status"] == 429)

    def check_published(self, assembly: dict) -> None:
        for region in REGIONS:
            registry = self.info["registries"][region]
            repository = "cdk-%s-container-assets-%s-%s" % (QUALIFIER, ACCOUNT_A, region)
            status, body = registry_get(registry, "/v2/%s/tags/list?n=100000" % repository)
            have = set(json.loads(body).get("tags") or []) if status == 200 else set()
            missing = set(assembly["tags"][region]) - have
            if missing:
                raise SystemExit("load: %d tags missing in %s, e.g. %s" % (len(missing), region, sorted(missing)[0]))
            bucket = "cdk-%s-assets-%s-%s" % (QUALIFIER, ACCOUNT_A, region)
            found = {}
            for page in self.s3[region].get_paginator("list_objects_v2").paginate(Bucket=bucket):
                found.update({o["Key"]: o["Size"] for o in page.get("Contents") or []})
            for key, size in assembly["objects"][region].items():
                if found.get(key) != size:
                    raise SystemExit("load: s3://%s/%s missing or of the wrong size" % (bucket, key))


def registry_get(registry: dict, path: str):
    context = ssl.create_default_context(cafile=registry["ca_cert"])
    token = base64.b64encode(("%s:%s" % (registry["admin_user"], registry["admin_password"])).encode()).decode()
    request = urllib.request.Request(registry["url"] + path, headers={"Authorization": "Basic " + token})
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- running a tool -----------------------------------------------------------------------

def run_sampled(argv, env, cwd=None) -> dict:
    """Runs argv, sampling its threads and descriptors every 10 ms; wall, peak RSS, maxima."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks = {"threads": 0, "fds": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                with open("/proc/%d/status" % proc.pid) as status:
                    for line in status:
                        if line.startswith("Threads:"):
                            peaks["threads"] = max(peaks["threads"], int(line.split()[1]))
                peaks["fds"] = max(peaks["fds"], len(os.listdir("/proc/%d/fd" % proc.pid)))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                pass
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out_chunks, err_chunks = [], []
    readers = [threading.Thread(target=lambda s=s, c=c: c.append(s.read()), daemon=True)
               for s, c in ((proc.stdout, out_chunks), (proc.stderr, err_chunks))]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    done.set()
    for reader in readers:
        reader.join()
    sampler.join()
    return {"code": proc.returncode, "wall": wall, "rss_kib": usage.ru_maxrss, "threads": peaks["threads"],
            "fds": peaks["fds"], "stdout": b"".join(out_chunks).decode(errors="replace"),
            "stderr": b"".join(err_chunks).decode(errors="replace")}


def assetctl_run(assetctl, assembly, env) -> dict:
    result = run_sampled([assetctl, "publish", "--json", "--path", assembly["path"]], env)
    summaries = [json.loads(line) for line in result["stdout"].splitlines() if '"event":"summary"' in line]
    if result["code"] != 0:
        errors = sorted({a.get("error", "")[:300] for a in (summaries[0]["assets"] if summaries else [])
                         if a["state"] == "failed"})
        raise SystemExit("load: assetctl failed (%d): %d distinct errors:\n  %s\n%s" % (
            result["code"], len(errors), "\n  ".join(errors[:8]), result["stderr"][-2000:]))
    summary = summaries[0]
    states = [a["state"] for a in summary["assets"]]
    result["published"] = states.count("published")
    return result


def cdk_assets_run(assembly, env) -> dict:
    total = {"code": 0, "wall": 0.0, "rss_kib": 0, "threads": 0, "fds": 0}
    for manifest in assembly["manifests"]:
        result = run_sampled(["node", str(CDK_ASSETS), "publish", "--path", manifest], env)
        if result["code"] != 0:
            raise SystemExit("load: cdk-assets failed (%d):\n%s" % (result["code"], result["stderr"][-3000:]))
        total["wall"] += result["wall"]
        for name in ("rss_kib", "threads", "fds"):
            total[name] = max(total[name], result[name])
    return total


def loadavg():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


# --- main ---------------------------------------------------------------------------------

def pairs(text):
    return [tuple(int(n) for n in item.split(":")) for item in text.split(",") if item]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assetctl", default=str(ROOT / "build" / "dev" / "apps" / "assetctl" / "assetctl"))
    parser.add_argument("--scales", default="100:40,250:100,500:200", help="IMAGES:FILES,... for assetctl alone")
    parser.add_argument("--sample", default="30:20", help="IMAGES:FILES that both tools publish")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool of the sample")
    parser.add_argument("--no-cdk-assets", action="store_true")
    parser.add_argument("--put-image-rate", type=float, default=10)
    parser.add_argument("--token-rate", type=float, default=20)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="assetctl-load-"))
    stack = Stack(str(work / "stack"), {"repository_uri_host": "registry"}, regions=list(REGIONS),
                  proxied_regions=list(REGIONS))
    results = {"machine": {"cores": os.cpu_count(), "load_before": loadavg()}, "scales": [], "sample": {}}
    try:
        info = stack.start()
        view = StackView(info)
        view.set_rate_limits(args.put_image_rate, args.token_rate)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DOCKER_", "CDK_"))}
        env = dict(base_env, **client_env(info), XDG_CACHE_HOME=str(work / "cache"), NO_COLOR="1",
                   CDK_DOCKER="/nonexistent/docker", TMPDIR=str(work))
        env["AWS_CA_BUNDLE"] = info["registry"]["ca_cert"]
        for images, files in pairs(args.scales):
            assembly = write_assembly(work / ("scale-%d-%d" % (images, files)), images, files, "scale-%d" % images)
            view.clear_logs()
            log("assetctl: %d images, %d files" % (images, files))
            run = assetctl_run(args.assetctl, assembly, env)
            view.check_published(assembly)
            calls = view.aws_calls()
            requests, throttled = view.registry_requests()
            assets = images + files
            results["scales"].append({
                "images": images, "files": files, "wall": round(run["wall"], 2), "rss_mib": round(run["rss_kib"] / 1024, 1),
                "threads": run["threads"], "fds": run["fds"], "aws_calls": sum(calls.values()),
                "aws_calls_per_asset": round(sum(calls.values()) / assets, 3), "calls": calls,
                "registry_requests_per_image": round(requests / images, 2), "registry_429": throttled,
                "published": run["published"]})
            log(json.dumps(results["scales"][-1]))
        if not args.no_cdk_assets and CDK_ASSETS.exists():
            results["sample"] = side_by_side(args, work, view, env, info)
        elif not args.no_cdk_assets:
            log("no %s: run bench/run.sh once (npm ci in bench/) for the cdk-assets comparison" % CDK_ASSETS)
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)
    results["machine"]["load_after"] = loadavg()
    print(json.dumps(results, indent=1))
    return 0


def side_by_side(args, work, view, env, info):
    images, files = pairs(args.sample)[0]
    walls = {"cdk-assets": [], "assetctl": []}
    with dockerd_support.Dockerd(state_dir=str(work / "dockerd")):
        docker_config = work / "docker-config"
        docker_config.mkdir(mode=0o700)
        tool_env = dict(env, **client_env(info, json.loads((work / "dockerd" / dockerd_support.STATE_FILE).read_text()),
                                          str(docker_config)))
        tool_env.pop("CDK_DOCKER", None)
        for run in range(args.runs):
            order = ("cdk-assets", "assetctl") if run % 2 == 0 else ("assetctl", "cdk-assets")
            for tool in order:
                assembly = write_assembly(work / ("sample-%s-%d" % (tool, run)), images, files,
                                          "sample-%s-%d" % (tool, run))
                log("%s: %d images, %d files (run %d)" % (tool, images, files, run + 1))
                result = cdk_assets_run(assembly, tool_env) if tool == "cdk-assets" else assetctl_run(
                    args.assetctl, assembly, tool_env)
                view.check_published(assembly)
                walls[tool].append(result["wall"])
    medians = {tool: statistics.median(values) for tool, values in walls.items()}
    return {"images": images, "files": files, "runs": args.runs, "walls": walls,
            "median_cdk_assets": round(medians["cdk-assets"], 2), "median_assetctl": round(medians["assetctl"], 2),
            "ratio": round(medians["assetctl"] / medians["cdk-assets"], 3)}


if __name__ == "__main__":
    sys.exit(main())
