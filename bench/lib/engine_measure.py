#!/usr/bin/python3
"""The timing loop of bench/engine.sh: built images to 3 regions with cdk-assets 4.7.3,
assetctl `--push-mode docker` and assetctl native, side by side, in one run.

engine.sh generates the build contexts (engine_images.py) and runs this script as root. It
starts one private dockerd for the whole bench (tests/support/dockerd.py), imports and builds
the shared base image in it, synthesizes bench/app-engine (4 images x 3 regions, 3 asset
manifests) and then, for every measured run, uses a stack of 3 registries (one per region) and
the ECR/STS endpoint in benchmark mode (EngineStack below: tests/support/stack.py's Stack with
regions=REGIONS, which hands the 3 registries to the endpoint as its per-region `registries`).

Scenarios (--runs repetitions per variant each, the variants' order rotating from run to run):
  cold-cached    a fresh stack (registries empty) per run; every image already built once
                 (BuildKit cache warm); the variant's own caches cleared: DOCKER_CONFIG,
                 assetctl's XDG_CACHE_HOME, dockerd's diffID->digest metadata
  cold-uncached  the same, and every image but the base removed, `docker builder prune -af`
  changed        per variant a fresh stack, one untimed warm-up publish into it and one untimed
                 change (see Bench.changed); then per run one small file of the `web` asset's top COPY layer is rewritten (a new nonce
                 per run and variant, so every variant builds its own change), the app is
                 synthesized again (untimed), and the publish is timed: 1 image rebuilt, 1 new
                 layer to 3 registries, 3 images unchanged
Variants: cdk-assets (`node cdk-assets.js publish --path <manifest> <image ids>`, one process
per manifest, one after the other, as a pipeline runs it), docker (`assetctl publish --push-mode
docker`; without --push-mode in `assetctl publish --help` the flag is left out, docker push being
all that assetctl has), native (`--push-mode native`; "skipped: no --push-mode" without it).

Measured per run: wall time; CPU (user+sys) and peak RSS of the tool and every process it waited
for (wait4); dockerd's (and its containerd's) CPU from /proc/<pid>/stat before/after; bytes
stored by each registry (sum of file sizes under its storage root) before/after; blob uploads in
each registry's access log; the tool's own counters from assetctl's JSON summary when it has
them (compressedBytes, uploadedBytes/bytesUploaded, exported); the load average before/after.
After every run each region's registry must hold every image of that region's manifest.
"""

import argparse
import datetime
import json
import os
import platform
import re
import secrets
import shutil
import ssl
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "support"))
import dockerd as dockerd_support  # noqa: E402
import engine_images  # noqa: E402
import stack as stack_support  # noqa: E402

VARIANTS = ("cdk-assets", "docker", "native")
SCENARIOS = ("cold-cached", "cold-uncached", "changed")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")     # bench/app-engine's stacks
DOCKER = dockerd_support.DOCKER_CLIENT
KEEP_IMAGES = {engine_images.BASE_IMAGE, engine_images.ROOTFS_IMAGE, dockerd_support.BUSYBOX_IMAGE}
MANIFEST_ACCEPT = ("application/vnd.docker.distribution.manifest.v2+json, "
                   "application/vnd.oci.image.manifest.v1+json")
MIB = 1 << 20
# Targets of issue #10 (native / other, median wall time) and the native peak RSS.
TARGETS = {"cold-cached": {"cdk-assets": 0.25, "docker": 0.5}, "changed": {"cdk-assets": 0.15}}
RSS_TARGET_MIB = 128
SUMMARY_COUNTERS = ("exported", "compressedBytes", "uploadedBytes", "bytesUploaded")


class BenchError(RuntimeError):
    pass


def log(message: str) -> None:
    print("engine: " + message, file=sys.stderr, flush=True)


def run(argv, env=None, check=True, input=None) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, input=input)
    if check and result.returncode != 0:
        raise BenchError("%s exited %d:\n%s%s" % (" ".join(argv), result.returncode, result.stdout[-2000:],
                                                  result.stderr[-2000:]))
    return result


def tail(path: str, lines: int = 30) -> str:
    try:
        with open(path, errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return ""


# --- measuring processes ----------------------------------------------------------------------
def timed(argv, env, logfile) -> dict:
    """Run argv; wall time, user+sys CPU and peak RSS of it and the children it waited for."""
    with open(logfile, "ab") as out:
        out.write(("$ %s\n" % " ".join(argv)).encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024.0,
            "rc": proc.returncode}


def proc_cpu(pid) -> float:
    """utime+stime+cutime+cstime of pid in seconds; 0 for no pid or a pid that is gone."""
    if not pid:
        return 0.0
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def stored_bytes(root: str) -> int:
    """Sum of the sizes of every file under a registry's storage root (what it stores)."""
    total = 0
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


BLOB_PUT = re.compile(r'"PUT /v2/\S+/blobs/uploads/\S+ HTTP/[\d.]+" 201 ')


def blob_uploads(log_path: str, offset: int) -> int:
    """Blob uploads completed (PUT .../blobs/uploads/... 201) in a registry log since offset."""
    with open(log_path, "rb") as handle:
        handle.seek(offset)
        return len(BLOB_PUT.findall(handle.read().decode(errors="replace")))


# --- the stack: 3 registries + the endpoint -------------------------------------------------------
class EngineStack(stack_support.Stack):
    """stack.py's Stack in benchmark mode with a registry of its own for each of REGIONS
    (Stack(regions=...): the endpoint's per-region `registries`); by_region: region -> the
    registry's describe()."""

    def __init__(self, state_dir: str):
        super().__init__(state_dir, {"repository_uri_host": "registry"}, REGIONS[0], fast=True, regions=list(REGIONS))
        self.by_region = {}

    def start(self) -> dict:
        info = super().start()
        self.by_region = dict(info["registries"])
        return info


class Region:
    """One region's registry as the tools see it (the host the endpoint hands out)."""

    def __init__(self, name: str, reg: dict):
        self.name, self.reg = name, reg
        self.ssl = ssl.create_default_context(cafile=reg["ca_cert"])
        import base64
        self.auth = "Basic " + base64.b64encode(("%s:%s" % (reg["admin_user"], reg["admin_password"])).encode()).decode()

    def manifest(self, repository: str, tag: str):
        req = urllib.request.Request("%s/v2/%s/manifests/%s" % (self.reg["url"], repository, tag))
        req.add_header("Authorization", self.auth)
        req.add_header("Accept", MANIFEST_ACCEPT)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ssl) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise


def handed_out_hosts(info: dict) -> dict:
    """region -> registry host of the repositoryUri the endpoint answers DescribeRepositories with."""
    import botocore.session
    session = botocore.session.Session()
    key = info["keys"][0]
    hosts = {}
    for region in REGIONS:
        client = session.create_client("ecr", region_name=region, endpoint_url=info["endpoint_url"],
                                       aws_access_key_id=key["access_key_id"],
                                       aws_secret_access_key=key["secret_access_key"])
        name = "cdk-hnb659fds-container-assets-111111111111-%s" % region
        uri = client.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryUri"]
        hosts[region] = uri.split("/", 1)[0]
    return hosts


def bring_up_stack(state_dir: str) -> tuple:
    """-> (EngineStack, {region: Region}, per_region: bool). per_region is False when the endpoint
    hands out one registry for every region (an endpoint without `registries` support)."""
    stack = EngineStack(state_dir)
    stack.start()
    try:
        hosts = handed_out_hosts(stack.info)
        by_host = {reg["host"]: reg for reg in stack.by_region.values()}
        unknown = {r: h for r, h in hosts.items() if h not in by_host}
        if unknown:
            raise BenchError("the endpoint hands out registries the bench did not start: %s" % unknown)
        regions = {r: Region(r, by_host[h]) for r, h in hosts.items()}
    except BaseException:
        stack.stop()
        raise
    return stack, regions, len(set(hosts.values())) == len(REGIONS)


# --- the app --------------------------------------------------------------------------------------
class Assembly:
    """The synthesized cloud assembly: its 3 asset manifests and what each region must hold."""

    def __init__(self, root: str):
        self.root = root
        with open(os.path.join(root, "manifest.json")) as handle:
            artifacts = json.load(handle)["artifacts"]
        self.manifests = []          # (path, [image ids])
        self.expected = []           # (region, repository, tag)
        for artifact in artifacts.values():
            if artifact.get("type") != "cdk:asset-manifest":
                continue
            path = os.path.join(root, artifact["properties"]["file"])
            with open(path) as handle:
                images = json.load(handle).get("dockerImages", {})
            self.manifests.append((path, sorted(images)))
            for image in images.values():
                for dest in image["destinations"].values():
                    self.expected.append((dest["region"], dest["repositoryName"], dest["imageTag"]))
        self.manifests.sort()
        self.images = len({tag for _, _, tag in self.expected})


def synthesize(app_js: str, contexts: str, outdir: str) -> Assembly:
    env = dict(os.environ, ENGINE_CONTEXTS=contexts, CDK_OUTDIR=outdir)
    run(["node", app_js], env=env)
    return Assembly(outdir)


# --- the bench ------------------------------------------------------------------------------------
class Bench:
    def __init__(self, args, plan: dict):
        self.args, self.plan = args, plan
        self.state = args.state
        self.logs = os.path.join(self.state, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.daemon = None
        self.results = []
        self.per_region = None
        help_text = run([args.assetctl, "publish", "--help"], check=False)
        self.has_push_mode = "--push-mode" in help_text.stdout + help_text.stderr
        self.variants = [v for v in args.variants if v != "native" or self.has_push_mode]
        if "native" in args.variants and not self.has_push_mode:
            log("native: skipped: no --push-mode in `assetctl publish --help`")
        self.outdir = os.path.join(self.state, "cdk.out")
        self.assembly = None

    # The daemon and its images -------------------------------------------------------------
    def start_daemon(self) -> None:
        self.daemon = dockerd_support.Dockerd(os.path.join(self.state, "dockerd"))
        self.daemon.start()
        self.dockerd_info = self.daemon.save_state()
        env = self.daemon.env(self.base_env())
        log("dockerd %s (%s), pid %s" % (self.daemon.server_version, self.daemon.storage_driver, self.daemon.pid))
        self.daemon.import_busybox()
        with open(self.plan["rootfs_tar"], "rb") as handle:
            subprocess.run([DOCKER, "import", "-", engine_images.ROOTFS_IMAGE], stdin=handle, env=env, check=True,
                           stdout=subprocess.DEVNULL)
        run([DOCKER, "build", "-t", engine_images.BASE_IMAGE, self.plan["base_context"]], env=env)
        log("base image %s: %.1f MiB in 3 layers" % (engine_images.BASE_IMAGE, self.plan["base_bytes"] / MIB))

    def docker_env(self) -> dict:
        return self.daemon.env(self.base_env(), os.path.join(self.state, "bench-docker-config"))

    def build_all(self) -> None:
        """`docker build` every asset of the assembly (untimed): the BuildKit cache is warm after it."""
        env = self.docker_env()
        for path, ids in self.assembly.manifests[:1]:     # every manifest names the same 4 contexts
            with open(path) as handle:
                images = json.load(handle)["dockerImages"]
            for image_id in ids:
                context = os.path.join(os.path.dirname(path), images[image_id]["source"]["directory"])
                run([DOCKER, "build", "-t", "engine-prebuild/%s" % image_id[:12], context], env=env)

    def wipe_built_images(self) -> None:
        env = self.docker_env()
        refs = [r for r in run([DOCKER, "images", "--format", "{{.Repository}}:{{.Tag}}"], env=env).stdout.split()
                if r not in KEEP_IMAGES and "<none>" not in r]
        if refs:
            run([DOCKER, "image", "rm", "-f", *refs], env=env)
        dangling = run([DOCKER, "images", "-q", "--filter", "dangling=true"], env=env).stdout.split()
        if dangling:
            run([DOCKER, "image", "rm", "-f", *sorted(set(dangling))], env=env, check=False)
        run([DOCKER, "builder", "prune", "-af"], env=env)
        left = [r for r in run([DOCKER, "images", "--format", "{{.Repository}}:{{.Tag}}"], env=env).stdout.split()
                if r not in KEEP_IMAGES]
        if left:
            raise BenchError("images left after the wipe: %s" % left)

    def forget_distribution_metadata(self) -> None:
        """dockerd's diffID -> compressed digest records (what docker push consults)."""
        shutil.rmtree(os.path.join(self.daemon.data_root, "image", self.daemon.storage_driver, "distribution"),
                      ignore_errors=True)

    # Environments --------------------------------------------------------------------------
    def base_env(self) -> dict:
        drop = ("CDK_DOCKER", "XDG_CACHE_HOME", "REGISTRY_AUTH_FILE")
        env = {k: v for k, v in os.environ.items()
               if not (k.startswith("AWS_") or k.startswith("DOCKER_") or k in drop)}
        parts = [p for p in env.get("PATH", "/usr/bin:/bin").split(":") if p and p.rstrip("/") != "/usr/bin"]
        env["PATH"] = ":".join(["/usr/bin"] + parts)
        return env

    def variant_dir(self, variant: str, what: str) -> str:
        return os.path.join(self.state, "variants", variant, what)

    def tool_env(self, variant: str, stack: EngineStack) -> dict:
        env = self.base_env()
        env.update(stack_support.client_env(stack.info, self.dockerd_info, self.variant_dir(variant, "docker-config")))
        env["XDG_CACHE_HOME"] = self.variant_dir(variant, "cache")
        env["TMPDIR"] = self.variant_dir(variant, "tmp")
        # Native pushes go through assetctl's own HTTPS client: it trusts AWS_CA_BUNDLE, here the
        # 3 registries' self-signed certificates (dockerd trusts 127.0.0.0/8 without checking).
        bundle = os.path.join(stack.state_dir, "registries-ca.pem")
        with open(bundle, "w") as out:
            for ca_cert in sorted({reg["ca_cert"] for reg in stack.by_region.values()}):
                with open(ca_cert) as handle:
                    out.write(handle.read())
        env["AWS_CA_BUNDLE"] = bundle
        return env

    def reset_variant(self, variant: str) -> None:
        for what in ("docker-config", "cache", "tmp"):
            path = self.variant_dir(variant, what)
            shutil.rmtree(path, ignore_errors=True)
            os.makedirs(path, mode=0o700)

    def commands(self, variant: str) -> list:
        if variant == "cdk-assets":
            return [["node", self.args.cdk_assets, "publish", "--path", path, *ids]
                    for path, ids in self.assembly.manifests]
        argv = [self.args.assetctl, "publish", "--path", self.assembly.root, "--json"]
        if self.has_push_mode:
            argv += ["--push-mode", variant]
        return [argv + self.args.assetctl_args]

    # One measured publish --------------------------------------------------------------------
    def publish(self, variant: str, stack: EngineStack, regions: dict, label: str) -> dict:
        logfile = os.path.join(self.logs, "%s-%s.log" % (label, variant))
        env = self.tool_env(variant, stack)
        os.sync()        # no writeback left by the untimed steps charged to the tool
        regs = list(stack.by_region.values())
        stored_before = [stored_bytes(r["storage"]) for r in regs]
        log_offsets = [os.path.getsize(r["log"]) for r in regs]
        daemon_pids = (self.daemon.pid, self.daemon.containerd_pid)
        daemon_before = sum(proc_cpu(p) for p in daemon_pids)
        load_before = os.getloadavg()[0]
        total = {"wall": 0.0, "cpu": 0.0, "rss_mib": 0.0}
        for argv in self.commands(variant):
            m = timed(argv, env, logfile)
            if m["rc"] != 0:
                raise BenchError("%s exited %s in %s; log %s:\n%s" % (variant, m["rc"], label, logfile, tail(logfile)))
            total["wall"] += m["wall"]
            total["cpu"] += m["cpu"]
            total["rss_mib"] = max(total["rss_mib"], m["rss_mib"])
        total["daemon_cpu"] = sum(proc_cpu(p) for p in daemon_pids) - daemon_before
        total["load_before"], total["load_after"] = load_before, os.getloadavg()[0]
        total["stored_bytes"] = [stored_bytes(r["storage"]) - b for r, b in zip(regs, stored_before)]
        total["blob_uploads"] = [blob_uploads(r["log"], o) for r, o in zip(regs, log_offsets)]
        if variant != "cdk-assets":
            total["counters"] = summary_counters(logfile)
        self.verify(regions, label, variant)
        return total

    def verify(self, regions: dict, label: str, variant: str) -> None:
        for region, repository, tag in self.assembly.expected:
            manifest = regions[region].manifest(repository, tag)
            if manifest is None:
                raise BenchError("%s %s: %s:%s is not in %s's registry" % (label, variant, repository, tag, region))
            if manifest.get("mediaType") != "application/vnd.docker.distribution.manifest.v2+json":
                raise BenchError("%s %s: %s:%s in %s is a %s" % (label, variant, repository, tag, region,
                                                                manifest.get("mediaType")))

    def record(self, scenario: str, variant: str, run_index, m: dict) -> None:
        self.results.append(dict(m, scenario=scenario, variant=variant, run=run_index))
        counters = m.get("counters") or {}
        log("%-13s run %-2s %-10s %7.3f s wall, CPU %6.2f s + dockerd %6.2f s, %6.1f MiB peak RSS, "
            "stored %6.1f MiB, %2d blob uploads%s, load %.1f/%.1f" % (
                scenario, run_index, variant, m["wall"], m["cpu"], m["daemon_cpu"], m["rss_mib"],
                sum(m["stored_bytes"]) / MIB, sum(m["blob_uploads"]),
                "".join(", %s %s" % (k, v) for k, v in counters.items()), m["load_before"], m["load_after"]))

    # Scenarios ---------------------------------------------------------------------------------
    def order(self, index: int) -> list:
        k = index % len(self.variants)
        return self.variants[k:] + self.variants[:k]

    def fresh_stack(self, label: str) -> tuple:
        stack, regions, per_region = bring_up_stack(os.path.join(self.state, "stacks", label))
        if self.per_region is None:
            self.per_region = per_region
            if not per_region:
                log("CAVEAT: the endpoint hands out ONE registry for all 3 regions")
        return stack, regions

    def cold(self, scenario: str) -> None:
        for i in range(self.args.runs):
            for variant in self.order(i):
                if scenario == "cold-uncached":
                    self.wipe_built_images()
                else:
                    self.build_all()
                self.forget_distribution_metadata()
                self.reset_variant(variant)
                label = "%s-r%d" % (scenario, i + 1)
                stack, regions = self.fresh_stack("%s-%s" % (label, variant))
                try:
                    self.record(scenario, variant, i + 1, self.publish(variant, stack, regions, label))
                finally:
                    stack.stop()

    def changed(self) -> None:
        """Per variant a stack of its own, filled by that variant's untimed warm-up publish (a
        pipeline re-runs the tool that published before: its caches and its blobs)."""
        stacks = {}
        try:
            self.build_all()
            for variant in self.variants:
                stacks[variant] = self.fresh_stack("changed-" + variant)
                self.reset_variant(variant)
                m = self.publish(variant, *stacks[variant], "changed-warmup")
                log("changed       warm-up  %-10s %7.3f s (untimed for the table)" % (variant, m["wall"]))
            # One untimed change per variant too: the first change's build re-ran the changed
            # asset's lower COPY as well (docker 20.10's BuildKit; cause not found), charging an
            # extra layer to whichever variant went first.
            for variant in self.variants:
                self.change_and_publish(variant, stacks[variant], "warm-up", "changed-warmup2")
            for i in range(self.args.runs):
                for variant in self.order(i):
                    self.record("changed", variant, i + 1,
                                self.change_and_publish(variant, stacks[variant], "r%d" % (i + 1),
                                                        "changed-r%d" % (i + 1)))
        finally:
            for stack, _ in stacks.values():
                stack.stop()

    def change_and_publish(self, variant: str, stack_and_regions: tuple, what: str, label: str) -> dict:
        engine_images.change_top_layer(self.plan, "%s-%s-%s" % (variant, what, secrets.token_hex(4)))
        self.assembly = synthesize(self.args.app, self.plan["contexts"], self.outdir)
        return self.publish(variant, *stack_and_regions, label)

    def run(self) -> None:
        self.start_daemon()
        self.assembly = synthesize(self.args.app, self.plan["contexts"], self.outdir)
        log("app: %d images in %d asset manifests, %d destinations" % (
            self.assembly.images, len(self.assembly.manifests), len(self.assembly.expected)))
        for scenario in SCENARIOS:
            if scenario not in self.args.scenarios:
                continue
            log("%s: %d runs per variant (%s)" % (scenario, self.args.runs, ", ".join(self.variants)))
            if scenario == "changed":
                self.changed()
            else:
                self.cold(scenario)

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop(remove_files=False if self.args.keep else None)


def summary_counters(logfile: str) -> dict:
    """Sums of assetctl's own counters (SUMMARY_COUNTERS) anywhere in its JSON summary line."""
    summary = None
    with open(logfile, errors="replace") as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("{"):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("event") == "summary":
                    summary = record
    if summary is None:
        return {}
    sums = {}

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SUMMARY_COUNTERS and isinstance(value, (int, float)) and not isinstance(value, bool):
                    sums[key] = sums.get(key, 0) + value
                elif key in SUMMARY_COUNTERS and isinstance(value, bool):
                    sums[key] = sums.get(key, 0) + int(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(summary)
    return sums


# --- reporting ------------------------------------------------------------------------------------
def median_of(rows: list, key) -> float:
    return statistics.median(key(r) for r in rows)


def cell_range(values: list, unit: str = "s") -> str:
    return "%.3f %s (%.3f-%.3f)" % (statistics.median(values), unit, min(values), max(values))


def counter_cell(rows: list, variant: str) -> str:
    """Medians of assetctl's compressedBytes and uploaded bytes, where its summary has them."""
    if variant == "cdk-assets":
        return "-"
    parts = []
    for keys in (("compressedBytes",), ("uploadedBytes", "bytesUploaded")):
        values = [next((r.get("counters", {})[k] for k in keys if k in r.get("counters", {})), None) for r in rows]
        parts.append("%.1f MiB" % (statistics.median(values) / MIB) if None not in values else "n/a")
    return " / ".join(parts)


class Report:
    def __init__(self, bench: Bench, plan: dict):
        self.bench, self.plan = bench, plan
        self.rows = {}
        for r in bench.results:
            self.rows.setdefault((r["scenario"], r["variant"]), []).append(r)

    def medians(self, scenario: str, variant: str):
        rows = self.rows.get((scenario, variant))
        if not rows:
            return None
        return {"wall": median_of(rows, lambda r: r["wall"]),
                "cpu": median_of(rows, lambda r: r["cpu"] + r["daemon_cpu"]),
                "rss": max(r["rss_mib"] for r in rows)}

    def header(self) -> list:
        p = self.plan
        assets = ", ".join("%s %s" % (name, "+".join("%.0f" % (l["bytes"] / MIB) for l in layers))
                           for name, layers in p["assets"].items())
        return ["Built images to three regions (bench/engine.sh), scale %g%s" % (
                    p["scale"], "" if p["scale"] == 1 else " (NOT the issue's sizes)"),
                "base %s %.1f MiB in 3 layers (%s MiB); 4 assets, own layers in MiB: %s; changed: %s's top layer" % (
                    p["base_image"], p["base_bytes"] / MIB,
                    "+".join("%.0f" % (l["bytes"] / MIB) for l in p["base_layers"]), assets, p["changed_asset"]),
                "3 regions, %s; %d runs per variant and scenario, medians (min-max)" % (
                    "one registry each" if self.bench.per_region else
                    "ONE registry shared by all (the endpoint ignored its per-region registries)", self.bench.args.runs),
                ""]

    def main_table(self) -> list:
        lines = ["| scenario | variant | wall | CPU tool | CPU dockerd | CPU tool+dockerd | stored in registries "
                 "| compressed / uploaded (tool's counters) | blob uploads | peak RSS (tool) | load before/after |",
                 "|---|---|---|---|---|---|---|---|---|---|---|"]
        for scenario in SCENARIOS:
            for variant in VARIANTS:
                rows = self.rows.get((scenario, variant))
                if not rows:
                    if scenario in self.bench.args.scenarios and variant == "native" and not self.bench.has_push_mode:
                        lines.append("| %s | native | skipped: no --push-mode | | | | | | | | |" % scenario)
                    continue
                lines.append("| %s | %s | %s | %.2f s | %.2f s | %.2f s | %.1f MiB | %s | %s | %.1f MiB | %s |" % (
                    scenario, variant, cell_range([r["wall"] for r in rows]), median_of(rows, lambda r: r["cpu"]),
                    median_of(rows, lambda r: r["daemon_cpu"]), median_of(rows, lambda r: r["cpu"] + r["daemon_cpu"]),
                    median_of(rows, lambda r: sum(r["stored_bytes"])) / MIB,
                    counter_cell(rows, variant),
                    "/".join(str(n) for n in sorted({sum(r["blob_uploads"]) for r in rows})),
                    max(r["rss_mib"] for r in rows),
                    "%.1f/%.1f" % (median_of(rows, lambda r: r["load_before"]),
                                   median_of(rows, lambda r: r["load_after"]))))
        return lines

    def ratio_cell(self, scenario: str, other: str, key: str) -> str:
        mine, theirs = self.medians(scenario, "native"), self.medians(scenario, other)
        if mine is None:
            return "skipped: no --push-mode" if not self.bench.has_push_mode else "n/a"
        if theirs is None or not theirs[key]:
            return "n/a"
        return "%.3fx" % (mine[key] / theirs[key])

    def target_cell(self, scenario: str) -> str:
        parts = []
        for other, target in TARGETS.get(scenario, {}).items():
            mine, theirs = self.medians(scenario, "native"), self.medians(scenario, other)
            if mine is None or theirs is None:
                parts.append("<= %.2fx %s: not measured" % (target, other))
            else:
                ratio = mine["wall"] / theirs["wall"]
                parts.append("<= %.2fx %s: %s" % (target, other, "met" if ratio <= target else "NO"))
        return "; ".join(parts) or "-"

    def ratio_table(self) -> list:
        lines = ["", "Ratios of the medians (wall; CPU = tool + dockerd), side by side:", "",
                 "| scenario | native/cdk-assets wall | native/docker wall | native/cdk-assets CPU | native/docker CPU "
                 "| docker/cdk-assets wall | target (wall) |", "|---|---|---|---|---|---|---|"]
        for scenario in [s for s in SCENARIOS if s in self.bench.args.scenarios]:
            docker, cdk = self.medians(scenario, "docker"), self.medians(scenario, "cdk-assets")
            lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                scenario, self.ratio_cell(scenario, "cdk-assets", "wall"), self.ratio_cell(scenario, "docker", "wall"),
                self.ratio_cell(scenario, "cdk-assets", "cpu"), self.ratio_cell(scenario, "docker", "cpu"),
                "%.3fx" % (docker["wall"] / cdk["wall"]) if docker and cdk else "n/a", self.target_cell(scenario)))
        native_rss = [r["rss_mib"] for r in self.bench.results if r["variant"] == "native"]
        lines.append("")
        lines.append("Peak RSS of assetctl native < %d MiB: %s" % (
            RSS_TARGET_MIB, "%.1f MiB, %s" % (max(native_rss), "met" if max(native_rss) < RSS_TARGET_MIB else "NO")
            if native_rss else ("skipped: no --push-mode" if not self.bench.has_push_mode else "not measured")))
        return lines

    def notes(self) -> list:
        return ["", "stored = growth of the 3 registries' storage (sum of file sizes: layers, configs, manifests); "
                "docker push (cdk-assets, docker mode) gzips every layer it uploads, once per registry, so its "
                "compressed bytes are its uploads. CPU dockerd includes containerd and what they reaped. "
                "peak RSS = the largest single process the tool waited for (ru_maxrss)."]

    def text(self) -> str:
        return "\n".join(self.header() + self.main_table() + self.ratio_table() + self.notes())


def machine(bench: Bench) -> str:
    node = run(["node", "--version"], check=False).stdout.strip()
    return "%d cores, %s, docker %s (%s), node %s, cdk-assets 4.7.3" % (
        os.cpu_count(), platform.machine(), bench.daemon.server_version if bench.daemon else "?",
        bench.daemon.storage_driver if bench.daemon else "?", node)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", required=True)
    parser.add_argument("--plan", required=True, help="the JSON engine_images.py printed")
    parser.add_argument("--app", required=True, help="bench/app-engine/app.js")
    parser.add_argument("--assetctl", required=True)
    parser.add_argument("--cdk-assets", required=True, help="cdk-assets' bin/cdk-assets.js")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--assetctl-args", default="", help="extra options for both assetctl variants (one string)")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--results", required=True)
    args = parser.parse_args(argv)
    args.variants = [v for v in args.variants.split(",") if v]
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.assetctl_args = args.assetctl_args.split()
    bad = [v for v in args.variants if v not in VARIANTS] + [s for s in args.scenarios if s not in SCENARIOS]
    if bad or not args.variants or not args.scenarios or args.runs < 1:
        parser.error("bad --variants/--scenarios/--runs: %s (variants %s, scenarios %s)" % (bad, VARIANTS, SCENARIOS))
    with open(args.plan) as handle:
        plan = json.load(handle)
    bench = Bench(args, plan)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()[0]
    failed = None
    try:
        bench.run()
    except BenchError as err:
        failed = str(err)
        log("FAILED: %s" % err)
    finally:
        about = machine(bench)
        bench.stop()
        with open(args.results, "w") as handle:
            json.dump({"started": started.isoformat(), "machine": about, "plan": plan, "per_region": bench.per_region,
                       "has_push_mode": bench.has_push_mode, "failed": failed,
                       "args": {k: v for k, v in vars(args).items()}, "runs": bench.results}, handle, indent=1)
    if failed:
        return 1
    text = Report(bench, plan).text()
    text += "\n\n%s; %s; load average %.2f before / %.2f after the bench" % (
        started.strftime("%Y-%m-%d %H:%M UTC"), about, load_before, os.getloadavg()[0])
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
