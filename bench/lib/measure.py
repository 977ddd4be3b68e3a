#!/usr/bin/python3
"""The timing loop of bench/run.sh: cdk-assets vs assetctl, side by side, in one run.

run.sh runs this under `tests/support/stack.py exec`, which brings up the stack and the private
dockerd and gives it the environment both tools get (AWS keys, region, endpoint overrides,
DOCKER_HOST, PATH with /usr/bin first, a private DOCKER_CONFIG). Scenarios, each with --runs repetitions per tool,
the two tools alternating (cdk-assets first in odd repetitions, assetctl first in even ones):

  cold      the CDK app's assembly; before every run the registry storage is wiped, every
            local image except local/busybox:latest is removed, the BuildKit cache is pruned
            and DOCKER_CONFIG is emptied
  noop      the same assembly with everything already in the registry
  noop50    the gen_many.py assembly (one manifest, 50 images), everything in the registry
  files     the gen_files.py assembly (one manifest, 20 file assets: 12 templates, 8 zipped
            Lambda-like folders of 5-50 MiB); before every run the bucket is emptied (objects
            and unfinished multipart uploads) and the assembly's .cache (both tools' zips) removed
  files-noop  the same assembly with every object in the bucket and the zips cached

cdk-assets 4.7.3 reads one asset manifest per call (`--path` is a file, or a directory holding
`assets.json`), so its "run" is one `node cdk-assets.js publish --path M <image ids>` per
manifest, one after the other, as a pipeline script would do it. The image ids are passed as
selectors because each manifest also holds the stack template as a file asset (S3), which the
image scenarios leave out; assetctl gets the same ids as selectors in its one call (the files
scenarios: every file asset id). node runs the bundled
bin/cdk-assets.js directly: `npx cdk-assets` would add npx's own start-up to every call.

Every run's AWS calls are counted from the endpoint's request log (cleared before the run), and
after every run the registry is checked for every expected tag (the bucket for every expected
object, with botocore's S3 client: list-objects-v2, sizes > 22 bytes).
"""

import argparse
import collections
import datetime
import json
import os
import platform
import resource
import shlex
import shutil
import ssl
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

TOOLS = ("cdk-assets", "assetctl")
BUSYBOX = "local/busybox:latest"


class BenchError(RuntimeError):
    pass


def log(message: str) -> None:
    print("bench: " + message, file=sys.stderr, flush=True)


# The assemblies ---------------------------------------------------------------------------
def asset_manifests(root: str) -> list:
    """Every asset manifest file of a cloud assembly, nested assemblies (Stages) included."""
    with open(os.path.join(root, "manifest.json")) as handle:
        manifest = json.load(handle)
    found = []
    for artifact in manifest.get("artifacts", {}).values():
        props = artifact.get("properties", {})
        if artifact.get("type") == "cdk:asset-manifest":
            found.append(os.path.join(root, props["file"]))
        elif artifact.get("type") == "cdk:cloud-assembly":
            found.extend(asset_manifests(os.path.join(root, props["directoryName"])))
    return found


class Assembly:
    def __init__(self, root: str):
        self.root = root
        self.manifests = []     # (path, [image ids])
        self.destinations = set()   # (repository, tag)
        for path in asset_manifests(root):
            with open(path) as handle:
                images = json.load(handle).get("dockerImages", {})
            if images:
                self.manifests.append((path, sorted(images)))
            for image in images.values():
                for dest in image["destinations"].values():
                    self.destinations.add((dest["repositoryName"], dest["imageTag"]))
        self.images = sum(len(ids) for _, ids in self.manifests)


class FileAssembly:
    """The file assets of an assembly (gen_files.py's): per manifest its file ids, the
    expected objects, and the zip cache both tools keep next to the manifest (.cache/)."""

    def __init__(self, root: str):
        self.root = root
        self.manifests = []     # (path, [file asset ids])
        self.objects = set()    # (region, bucket, key)
        self.source_bytes = 0
        for path in asset_manifests(root):
            with open(path) as handle:
                files = json.load(handle).get("files", {})
            if files:
                self.manifests.append((path, sorted(files)))
            for asset in files.values():
                self.source_bytes += tree_size(os.path.join(os.path.dirname(path), asset["source"]["path"]))
                for dest in asset["destinations"].values():
                    self.objects.add((dest.get("region") or "us-east-1", dest["bucketName"], dest["objectKey"]))
        self.images = sum(len(ids) for _, ids in self.manifests)   # "assets", for the report's titles
        self.caches = sorted({os.path.join(os.path.dirname(path), ".cache") for path, _ in self.manifests})


def tree_size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(folder, name)) for folder, _, names in os.walk(path) for name in names)


class Buckets:
    """The stack's S3, read and emptied with botocore (an independent client), as account A."""

    def __init__(self, info: dict):
        import botocore.config
        import botocore.session
        key = info["keys"][0]
        self.session = botocore.session.get_session()
        self.clients = {}
        self.options = {"endpoint_url": info["endpoint_url"], "aws_access_key_id": key["access_key_id"],
                        "aws_secret_access_key": key["secret_access_key"],
                        "config": botocore.config.Config(s3={"addressing_style": "path"})}

    def client(self, region: str):
        if region not in self.clients:
            self.clients[region] = self.session.create_client("s3", region_name=region, **self.options)
        return self.clients[region]

    def sizes(self, region: str, bucket: str) -> dict:
        found, token = {}, None
        while True:
            page = self.client(region).list_objects_v2(Bucket=bucket, **({"ContinuationToken": token} if token else {}))
            found.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
            token = page.get("NextContinuationToken")
            if not token:
                return found

    def empty(self, region: str, bucket: str) -> None:
        s3 = self.client(region)
        for key in self.sizes(region, bucket):
            s3.delete_object(Bucket=bucket, Key=key)
        for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])


# The stack --------------------------------------------------------------------------------
class Stack:
    def __init__(self, stack_json: str, dockerd_json: str):
        with open(stack_json) as handle:
            self.info = json.load(handle)
        with open(dockerd_json) as handle:
            self.dockerd = json.load(handle)
        reg = self.info["registry"]
        self.registry_url = reg["url"]
        self.storage = reg["storage"]
        self.ssl = ssl.create_default_context(cafile=reg["ca_cert"])
        import base64
        self.registry_auth = "Basic " + base64.b64encode(
            ("%s:%s" % (reg["admin_user"], reg["admin_password"])).encode()).decode()
        self.endpoint = self.info["endpoint_url"]
        self.buckets = Buckets(self.info) if "s3" in self.info else None

    def _endpoint(self, method: str, path: str) -> bytes:
        req = urllib.request.Request(self.endpoint + path, method=method)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read()

    def clear_log(self) -> None:
        self._endpoint("DELETE", "/__control/log")

    def read_log(self) -> list:
        text = self._endpoint("GET", "/__control/log").decode()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def registry_has(self, repository: str, tag: str) -> bool:
        req = urllib.request.Request("%s/v2/%s/manifests/%s" % (self.registry_url, repository, tag), method="HEAD")
        req.add_header("Authorization", self.registry_auth)
        req.add_header("Accept", "application/vnd.docker.distribution.manifest.v2+json, "
                                 "application/vnd.oci.image.manifest.v1+json")
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ssl) as resp:
                return resp.status == 200
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return False
            raise

    def wipe_registry(self) -> None:
        # No blob-descriptor cache is configured (tests/support/registry.py), so the registry
        # reads the filesystem on every request: removing its storage empties it for real.
        shutil.rmtree(os.path.join(self.storage, "docker"), ignore_errors=True)


def docker(*args, env: dict, check: bool = True) -> str:
    proc = subprocess.run(["docker", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and proc.returncode != 0:
        raise BenchError("docker %s failed: %s" % (" ".join(args), proc.stderr.strip()))
    return proc.stdout


def wipe_local(env: dict) -> None:
    refs = [r for r in docker("images", "--format", "{{.Repository}}:{{.Tag}}", env=env).split()
            if r != BUSYBOX and "<none>" not in r]
    if refs:
        docker("image", "rm", "-f", *refs, env=env)
    dangling = docker("images", "-q", "--filter", "dangling=true", env=env).split()
    if dangling:
        docker("image", "rm", "-f", *sorted(set(dangling)), env=env, check=False)
    docker("builder", "prune", "-af", env=env)
    left = [r for r in docker("images", "--format", "{{.Repository}}:{{.Tag}}", env=env).split() if r != BUSYBOX]
    if left:
        raise BenchError("local images left after the wipe: %s" % left)


def reset_docker_config(env: dict) -> None:
    path = env["DOCKER_CONFIG"]
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)


# Running the tools ------------------------------------------------------------------------
class Runner:
    def __init__(self, args, stack: Stack, env: dict):
        self.args, self.stack, self.env = args, stack, env
        self.log_dir = os.path.join(args.state, "logs")
        os.makedirs(self.log_dir, exist_ok=True)

    def commands(self, tool: str, assembly) -> list:
        if tool == "assetctl":  # the same selection: every id of the scenario's kind, in one call
            ids = sorted({asset for _, manifest_ids in assembly.manifests for asset in manifest_ids})
            return [[self.args.assetctl, "publish", "--path", assembly.root, *shlex.split(self.args.assetctl_args),
                     *ids]]
        return [["node", self.args.cdk_assets, "publish", "--path", path, *ids] for path, ids in assembly.manifests]

    def run(self, tool: str, assembly: Assembly, label: str) -> tuple:
        """-> (wall seconds, CPU seconds, endpoint log entries). Raises when a command fails.

        CPU seconds = user + system time of the tool and every child it waited for (node, the
        docker CLI, assetctl's subprocesses), from getrusage(RUSAGE_CHILDREN); dockerd, the
        registry and the endpoint are not included. It moves much less than wall time when
        other work shares the two cores."""
        self.stack.clear_log()
        log_path = os.path.join(self.log_dir, "%s-%s.log" % (label, tool))
        with open(log_path, "w") as out:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            for cmd in self.commands(tool, assembly):
                rc = subprocess.run(cmd, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=out).returncode
                if rc != 0:
                    out.flush()
                    with open(log_path, errors="replace") as handle:
                        lines = handle.readlines()
                    # The error lines (wherever they are) and the tail.
                    errors = [l for l in lines[:-25] if any(w in l.lower() for w in ("error", "fail", "denied"))]
                    raise BenchError("%s exited %d in %s (log: %s):\n%s%s" % (
                        tool, rc, label, log_path, "".join(errors[-40:]) + "...\n" if errors else "",
                        "".join(lines[-25:])))
            seconds = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
        entries = self.stack.read_log()
        with open(os.path.join(self.log_dir, "%s-%s.requests.jsonl" % (label, tool)), "w") as handle:
            handle.writelines(json.dumps(entry, sort_keys=True) + "\n" for entry in entries)
        return seconds, cpu, entries

    def check_published(self, assembly, label: str) -> None:
        if isinstance(assembly, FileAssembly):
            return self.check_objects(assembly, label)
        missing = [d for d in sorted(assembly.destinations) if not self.stack.registry_has(*d)]
        if missing:
            raise BenchError("%s: %d of %d images are missing from the registry, e.g. %s:%s"
                             % (label, len(missing), len(assembly.destinations), *missing[0]))

    def check_objects(self, assembly: FileAssembly, label: str) -> None:
        if self.stack.buckets is None:
            raise BenchError("the local stack has no S3 (tests/support/s3_service.py)")
        listed = {}
        for region, bucket in sorted({(r, b) for r, b, _ in assembly.objects}):
            listed.update({(bucket, key): size for key, size in self.stack.buckets.sizes(region, bucket).items()})
        missing = sorted((b, k) for _, b, k in assembly.objects if listed.get((b, k), 0) <= 22)
        if missing:
            raise BenchError("%s: %d of %d objects are missing from S3, e.g. s3://%s/%s"
                             % (label, len(missing), len(assembly.objects), *missing[0]))

    def reset_cold(self, assembly) -> None:
        if isinstance(assembly, FileAssembly):
            return self.reset_files(assembly)
        self.stack.wipe_registry()
        wipe_local(self.env)
        reset_docker_config(self.env)
        present = [d for d in sorted(assembly.destinations) if self.stack.registry_has(*d)]
        if present:
            raise BenchError("registry wipe left %d images" % len(present))


    def reset_files(self, assembly: FileAssembly) -> None:
        if self.stack.buckets is None:
            raise BenchError("the local stack has no S3 (tests/support/s3_service.py)")
        for region, bucket in sorted({(r, b) for r, b, _ in assembly.objects}):
            self.stack.buckets.empty(region, bucket)
            if self.stack.buckets.sizes(region, bucket):
                raise BenchError("emptying s3://%s left objects" % bucket)
        for cache in assembly.caches:
            shutil.rmtree(cache, ignore_errors=True)


def summarize_calls(entries: list) -> dict:
    ops = collections.Counter()
    errors = collections.Counter()
    agents = collections.Counter()
    for entry in entries:
        ops[entry["operation"]] += 1
        if entry.get("status") and entry["status"] >= 300:
            errors["%s:%s" % (entry["operation"], entry.get("error_code"))] += 1
        agents[(entry.get("user_agent") or "-").split(" ")[0]] += 1
    timed = [e["server_ms"] for e in entries if "server_ms" in e]
    # Did the endpoint handle two of these requests at the same time? (log times are in ms)
    overlapped = False
    if timed and len(timed) == len(entries):
        spans = sorted((datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp(),
                        e["server_ms"] / 1000.0) for e in entries)
        end = None
        for start, length in spans:
            if end is not None and start < end - 0.001:
                overlapped = True
            end = max(end or 0.0, start + length)
    return {"overlapped": overlapped, "total": len(entries), "ops": dict(ops), "errors": dict(errors), "agents": dict(agents),
            "server_ms": round(sum(timed), 1) if timed and len(timed) == len(entries) else None}


def scenario(runner: Runner, name: str, assembly, runs: int, cold: bool) -> dict:
    times = {tool: [] for tool in TOOLS}
    cpu = {tool: [] for tool in TOOLS}
    calls = {tool: [] for tool in TOOLS}
    for rep in range(runs):
        order = TOOLS if rep % 2 == 0 else tuple(reversed(TOOLS))
        for tool in order:
            if cold:
                runner.reset_cold(assembly)
            label = "%s-%d" % (name, rep + 1)
            seconds, cpu_seconds, entries = runner.run(tool, assembly, label)
            runner.check_published(assembly, label + "-" + tool)
            times[tool].append(seconds)
            cpu[tool].append(cpu_seconds)
            calls[tool].append(summarize_calls(entries))
            log("%-7s run %d/%d  %-10s %6.3f s (CPU %6.3f s)  %3d AWS calls, load %.1f"
                % (name, rep + 1, runs, tool, seconds, cpu_seconds, len(entries), os.getloadavg()[0]))
    return {"name": name, "times": times, "cpu": cpu, "calls": calls}


# Reporting --------------------------------------------------------------------------------
SCENARIOS = {
    "cold": ("cold publish, {images} images / {manifests} manifests", 0.5),
    "noop": ("no-op publish, {images} images / {manifests} manifests", None),
    "noop50": ("no-op publish, {images} images / {manifests} manifest", 0.1),
    "files": ("cold publish, {images} file assets ({mib} MiB) / {manifests} manifest", 0.5),
    "files-noop": ("no-op publish, {images} file assets ({mib} MiB) / {manifests} manifest", 0.1),
}


def fmt_calls(summary: dict) -> str:
    parts = []
    for op, count in sorted(summary["ops"].items(), key=lambda kv: (-kv[1], kv[0])):
        failed = sum(n for key, n in summary["errors"].items() if key.startswith(op + ":"))
        parts.append("%s %d%s" % (op, count, " (%d failed)" % failed if failed else ""))
    return ", ".join(parts) or "none"


def report(results: list, assemblies: dict, meta: dict) -> str:
    lines = []
    header = "| scenario | cdk-assets median (min-max) | assetctl median (min-max) | ratio | target | met? |"
    lines += [header, "|---|---|---|---|---|---|"]
    for res in results:
        title, target = SCENARIOS[res["name"]]
        asm = assemblies[res["name"]]
        title = title.format(images=asm.images, manifests=len(asm.manifests),
                             mib=round(getattr(asm, "source_bytes", 0) / (1 << 20)))
        cells = []
        medians = {}
        for tool in TOOLS:
            t = res["times"][tool]
            medians[tool] = statistics.median(t)
            cells.append("%.3f s (%.3f-%.3f)" % (medians[tool], min(t), max(t)))
        ratio = medians["assetctl"] / medians["cdk-assets"]
        res["median"], res["ratio"], res["target"] = medians, ratio, target
        met = "-" if target is None else ("yes" if ratio <= target else "NO")
        lines.append("| %s | %s | %s | %.3fx | %s | %s |" % (
            title, cells[0], cells[1], ratio, "-" if target is None else "<= %.1fx" % target, met))
    lines += ["", "CPU time (user + system of the tool and the processes it ran, e.g. node, docker CLI; not",
              "dockerd, the registry or the endpoint), median (min-max):", "",
              "| scenario | cdk-assets | assetctl | ratio |", "|---|---|---|---|"]
    for res in results:
        cells, medians = [], {}
        for tool in TOOLS:
            c = res["cpu"][tool]
            medians[tool] = statistics.median(c)
            cells.append("%.3f s (%.3f-%.3f)" % (medians[tool], min(c), max(c)))
        res["cpu_median"] = medians
        lines.append("| %s | %s | %s | %.3fx |" % (res["name"], cells[0], cells[1],
                                                  medians["assetctl"] / max(medians["cdk-assets"], 1e-9)))
    lines += ["", "AWS API calls per run (endpoint request log, by operation; endpoint time = the median over",
              "the runs of the summed time the endpoint spent handling them, which overlaps when a tool",
              "sends requests in parallel; wall - endpoint = the median of run time minus that, i.e. the",
              "time the tool itself and docker took; shown only when the endpoint never handled two of the",
              "run's requests at once):", "",
              "| scenario | tool | calls | endpoint time | wall - endpoint | by operation |",
              "|---|---|---|---|---|---|"]
    for res in results:
        for tool in TOOLS:
            summaries = res["calls"][tool]
            totals = sorted({s["total"] for s in summaries})
            first = summaries[0]
            total = str(totals[0]) if len(totals) == 1 else "%d-%d" % (totals[0], totals[-1])
            server = [s["server_ms"] for s in summaries if s["server_ms"] is not None]
            server_text = "%.2f s" % (statistics.median(server) / 1000.0) if server else "n/a"
            if len(server) == len(summaries) and not any(s.get("overlapped") for s in summaries):
                res.setdefault("tool_side", {})[tool] = statistics.median(
                    [w - s["server_ms"] / 1000.0 for w, s in zip(res["times"][tool], summaries)])
                net = "%.3f s" % res["tool_side"][tool]
            else:
                net = "n/a (parallel)" if server else "n/a"
            lines.append("| %s | %s | %s | %s | %s | %s |" % (res["name"], tool, total, server_text, net,
                                                            fmt_calls(first)))
    tool_side = [res for res in results if len(res.get("tool_side", {})) == 2]
    if tool_side:
        lines += ["", "Ratio of wall - endpoint (assetctl/cdk-assets): " + ", ".join(
            "%s %.3fx" % (res["name"], res["tool_side"]["assetctl"] / res["tool_side"]["cdk-assets"])
            for res in tool_side)]
    lines += ["", "Clients seen at the endpoint (user agent): " + "; ".join(
        "%s: %s" % (tool, ", ".join(sorted({a for res in results for s in res["calls"][tool] for a in s["agents"]})))
        for tool in TOOLS)]
    lines += ["Process start-up (`--version`, median): cdk-assets %.3f s (one per manifest), assetctl %.3f s"
              % (meta["startup"]["cdk-assets"], meta["startup"]["assetctl"])]
    lines += ["", "%s; runs per tool and scenario: %d; endpoint: %s;%s %s" % (
        meta["date"], meta["runs"], meta["endpoint"],
        " assetctl publish %s;" % meta["assetctl_args"] if meta.get("assetctl_args") else "", meta["machine"])]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", required=True, help="run.sh's state dir (stack/, dockerd/)")
    parser.add_argument("--assetctl", required=True)
    parser.add_argument("--cdk-assets", required=True, help="cdk-assets' bin/cdk-assets.js")
    parser.add_argument("--app", required=True, help="the CDK app's cloud assembly")
    parser.add_argument("--many", required=True, help="gen_many.py's cloud assembly")
    parser.add_argument("--files", help="gen_files.py's cloud assembly (the files scenarios)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--assetctl-args", default="", help="extra options for assetctl publish (one string)")
    parser.add_argument("--endpoint", default="fast", help="recorded in the results")
    parser.add_argument("--results", help="write the results as JSON here")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only these scenarios")
    args = parser.parse_args(argv)

    env = dict(os.environ)       # run.sh runs this under tests/support/stack.py exec: the client environment
    if shutil.which("docker", path=env.get("PATH")) != "/usr/bin/docker":
        raise SystemExit("measure.py: docker on PATH is %s" % shutil.which("docker", path=env.get("PATH")))
    stack = Stack(os.path.join(args.state, "stack", "stack.json"), os.path.join(args.state, "dockerd", "dockerd.json"))
    runner = Runner(args, stack, env)
    app, many = Assembly(args.app), Assembly(args.many)
    assemblies = {"cold": app, "noop": app, "noop50": many}
    wanted = args.only or ["cold", "noop", "noop50"] + (["files", "files-noop"] if args.files else [])
    if args.files:
        files = FileAssembly(args.files)
        assemblies.update({"files": files, "files-noop": files})
    elif set(wanted) & {"files", "files-noop"}:
        parser.error("the files scenarios need --files")

    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    results = []
    try:
        if "cold" in wanted:
            log("cold: %d images in %d manifests; registry, local images and build cache wiped before every run"
                % (app.images, len(app.manifests)))
            results.append(scenario(runner, "cold", app, args.runs, cold=True))
        if "noop" in wanted:
            log("noop: warming up (one untimed publish per tool)")
            for tool in TOOLS:
                runner.run(tool, app, "noop-warmup")
            runner.check_published(app, "noop-warmup")
            results.append(scenario(runner, "noop", app, args.runs, cold=False))
        if "noop50" in wanted:
            log("noop50: publishing the %d generated images once (assetctl, untimed)" % many.images)
            runner.run("assetctl", many, "noop50-seed")
            runner.check_published(many, "noop50-seed")
            runner.run("cdk-assets", many, "noop50-warmup")
            results.append(scenario(runner, "noop50", many, args.runs, cold=False))
        if "files" in wanted:
            log("files: %d file assets (%.0f MiB of sources); bucket emptied and .cache removed before every run"
                % (files.images, files.source_bytes / (1 << 20)))
            results.append(scenario(runner, "files", files, args.runs, cold=True))
        if "files-noop" in wanted:
            log("files-noop: warming up (one untimed publish per tool)")
            for tool in TOOLS:
                runner.run(tool, files, "files-noop-warmup")
            runner.check_published(files, "files-noop-warmup")
            results.append(scenario(runner, "files-noop", files, args.runs, cold=False))
    except BenchError as err:
        log("FAILED: %s" % err)
        return 1

    # The floor under every cdk-assets run: starting node and loading the bundled cdk-assets.
    startup = {}
    for tool, cmd in (("cdk-assets", ["node", args.cdk_assets, "--version"]), ("assetctl", [args.assetctl, "--version"])):
        samples = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            samples.append(time.perf_counter() - start)
        startup[tool] = statistics.median(samples)

    load_after = os.getloadavg()
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "runs": args.runs,
        "endpoint": args.endpoint,
        "assetctl_args": args.assetctl_args,
        "machine": "%d cores, %s, load average %.2f before / %.2f after, docker %s (%s), node %s" % (
            os.cpu_count(), platform.machine(), load_before[0], load_after[0],
            stack.dockerd.get("server_version"), stack.dockerd.get("storage_driver"),
            subprocess.run(["node", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()),
    }
    meta["startup"] = startup
    table = report(results, assemblies, meta)
    print(table)
    if args.results:
        with open(args.results, "w") as handle:
            json.dump({"meta": meta, "table": table, "results": results}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
