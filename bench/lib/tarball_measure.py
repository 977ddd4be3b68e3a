#!/usr/bin/python3
"""The timing loop of bench/tarball.sh: pushing one `docker save` tarball with assetctl
(daemonless), skopeo and docker, side by side, in one run.

tarball.sh generates the tarball (gen_image_tarball.py), starts the registry + ECR endpoint
(tests/support/stack.py exec --fast) and, for docker, a private dockerd, and runs this script in a private mount
namespace (`unshare -m --propagation private`), where it bind-mounts a bench-owned directory
over skopeo's blob-info cache directory (/var/lib/containers/cache when run as root: skopeo
1.9 has no option for it), so clearing that cache never touches the machine's own.

Scenarios, --runs repetitions per tool each, the tools' order rotating from run to run:
  cold    a fresh repository per run (no blob of it in the registry) and each tool's own
          cache cleared first: assetctl's $XDG_CACHE_HOME emptied, skopeo's blob-info cache
          file removed, docker: the image removed from the daemon and the daemon's
          diffID->digest metadata (<data-root>/image/<driver>/distribution) removed
  repush  per tool one untimed warm-up push (cold, as above) to a fresh repository, then every
          run pushes the same tarball under a NEW tag to that repository: every blob already
          there, every cache warm (nothing is cleared between warm-up and the measured runs)
Measured per run: wall time, CPU time (user+sys) and peak RSS of the tool process and every
process it waited for, from wait4(); for docker the sum of `docker load`, `docker tag` and
`docker push` (CLI side; what dockerd spent is reported separately from /proc/<dockerd>/stat).
After every push the tag is inspected with `skopeo inspect --raw`: the manifest's config digest
must be the tarball's image id and it must list one layer per diff_id; the registry's access
log says how many blobs were uploaded into the repository during the run.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support"))
import stack as stack_support  # noqa: E402

TOOLS = ("assetctl", "skopeo", "docker")
SCENARIOS = ("cold", "repush")
SKOPEO = "/usr/bin/skopeo"
DOCKER = "/usr/bin/docker"            # the 20.10 client, matching the private dockerd
SKOPEO_CACHE_DIR = "/var/lib/containers/cache"   # containers/image's blob-info cache dir as root
ACCOUNT = "111111111111"
REGION = "us-east-1"
QUALIFIER = "hnb659fds"
ROLE = "arn:${AWS::Partition}:iam::%s:role/cdk-%s-image-publishing-role-%s-%s" % (ACCOUNT, QUALIFIER, ACCOUNT, REGION)
TARBALL_EXECUTABLE = ["sh", "-c", "docker load -i \"$1\" | tail -n 1 | sed \"s/Loaded image[^:]*: //g\"",
                      "cdk-tarball-image-asset"]
MIB = 1 << 20
RSS_TARGET_MIB = 64
TARGET_RATIO = 0.5
SECRET = [""]          # the registry password, masked in the logs


class BenchError(RuntimeError):
    pass


def log(message: str) -> None:
    print("tarball: " + message, file=sys.stderr, flush=True)


# --- processes ------------------------------------------------------------------------------
def timed(argv, env, logfile, stdin=None) -> dict:
    """Run argv, return wall, user+sys CPU and peak RSS of it and its waited-for children."""
    with open(logfile, "ab") as out:
        out.write(("$ %s\n" % " ".join(argv)).replace(SECRET[0], "***").encode() if SECRET[0] else
                  ("$ %s\n" % " ".join(argv)).encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
        if stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "user": usage.ru_utime, "sys": usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024.0, "rc": proc.returncode}


def run(argv, env=None, check=True, input=None) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, input=input)
    if check and result.returncode != 0:
        raise BenchError("%s exited %d:\n%s%s" % (" ".join(argv), result.returncode, result.stdout, result.stderr))
    return result


def tail(path: str, lines: int = 25) -> str:
    try:
        with open(path, errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return ""


def proc_cpu(pid: int) -> float:
    """utime+stime+cutime+cstime of pid in seconds (dockerd and the docker-untar children it reaped)."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def reset_peak_rss(pid: int) -> bool:
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as handle:
            handle.write("5")          # resets VmHWM (Linux >= 4.0)
        return True
    except OSError:
        return False


def peak_rss_mib(pid: int):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


# --- the bench ------------------------------------------------------------------------------
class Bench:
    def __init__(self, args):
        self.args = args
        self.state = args.state
        with open(args.stack) as handle:
            self.stack = json.load(handle)
        self.dockerd = None
        if args.dockerd:
            with open(args.dockerd) as handle:
                self.dockerd = json.load(handle)
        reg = self.stack["registry"]
        self.host = reg["host"]
        self.cert_dir = reg["cert_dir"]
        self.user, self.password = reg["admin_user"], reg["admin_password"]
        SECRET[0] = self.password
        self.registry_log = reg["log"]
        self.endpoint = self.stack["endpoint_url"]
        self.logs = os.path.join(self.state, "logs")
        self.tmp = os.path.join(self.state, "tmp")
        self.assembly = os.path.join(self.state, "assembly")
        self.xdg_cache = os.path.join(self.state, "assetctl-xdg-cache")
        self.skopeo_cache = os.path.join(self.state, "skopeo-blob-info-cache")
        self.docker_config = os.path.join(self.state, "docker-config")
        for path in (self.logs, self.tmp, self.assembly, self.xdg_cache, self.skopeo_cache):
            os.makedirs(path, exist_ok=True)
        self.images = {}
        self.results = []
        self.base_env = self._base_env()

    # Environment ---------------------------------------------------------------------------
    def _base_env(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not (k.startswith("AWS_") or k.startswith("DOCKER_") or k in ("CDK_DOCKER", "XDG_CACHE_HOME",
                                                                                  "REGISTRY_AUTH_FILE"))}
        parts = [p for p in env.get("PATH", "/usr/bin:/bin").split(":") if p and p.rstrip("/") != "/usr/bin"]
        env["PATH"] = ":".join(["/usr/bin"] + parts)     # docker = /usr/bin/docker (20.10)
        env["TMPDIR"] = self.tmp
        return env

    def assetctl_env(self) -> dict:
        env = dict(self.base_env)
        env.update(stack_support.client_env(self.stack))
        env["XDG_CACHE_HOME"] = self.xdg_cache
        # Native pushes go through assetctl's AWS HTTPS client, which trusts AWS_CA_BUNDLE.
        env["AWS_CA_BUNDLE"] = self.stack["registry"]["ca_cert"]
        if self.args.assetctl_docker:
            env["DOCKER_HOST"] = self.dockerd["docker_host"]
        else:
            # Daemonless: no docker daemon is reachable, so a fallback to `docker load` would fail.
            env["DOCKER_HOST"] = "unix://" + os.path.join(self.state, "no-dockerd.sock")
        env["DOCKER_CONFIG"] = os.path.join(self.state, "assetctl-docker-config")
        return env

    def skopeo_env(self) -> dict:
        env = dict(self.base_env)
        env["REGISTRY_AUTH_FILE"] = os.path.join(self.state, "skopeo-auth.json")   # never read ~/.docker
        return env

    def docker_env(self) -> dict:
        env = dict(self.base_env)
        env["DOCKER_HOST"] = self.dockerd["docker_host"]
        env["DOCKER_CONFIG"] = self.docker_config
        return env

    # Setup ---------------------------------------------------------------------------------
    def mount_skopeo_cache(self) -> None:
        """Bind-mount our directory over skopeo's blob-info cache dir, in OUR mount namespace only."""
        mine = os.readlink("/proc/self/ns/mnt")
        parent = os.readlink("/proc/%d/ns/mnt" % os.getppid())
        if mine == parent:
            raise BenchError("not in a private mount namespace (run me via `unshare -m --propagation private`); "
                             "refusing to mount over %s" % SKOPEO_CACHE_DIR)
        if not os.path.isdir(SKOPEO_CACHE_DIR):
            # skopeo would create it on its first copy as root; we need a mount point.
            os.makedirs(SKOPEO_CACHE_DIR, mode=0o700)
            log("created %s (skopeo's blob-info cache dir as root) as a mount point" % SKOPEO_CACHE_DIR)
        run(["mount", "--bind", self.skopeo_cache, SKOPEO_CACHE_DIR])
        probe = os.path.join(SKOPEO_CACHE_DIR, ".bench-probe")
        open(probe, "w").close()
        ok = os.path.exists(os.path.join(self.skopeo_cache, ".bench-probe"))
        os.remove(probe)
        if not ok:
            raise BenchError("bind mount over %s did not take effect" % SKOPEO_CACHE_DIR)

    def prepare_image(self, info: dict) -> dict:
        """Link the tarball into the assembly dir as asset.<id>.tar (the manifest names it relatively)."""
        asset_id = hashlib.sha256(("%s %d" % (info["config_digest"], info["file_size"])).encode()).hexdigest()
        name = "asset.%s.tar" % asset_id
        path = os.path.join(self.assembly, name)
        if not os.path.exists(path):
            try:
                os.link(info["file"], path)
            except OSError:
                os.symlink(info["file"], path)
        image = dict(info, asset_id=asset_id, asset_file=name)
        self.images[info["file"]] = image
        return image

    def docker_login(self) -> None:
        os.makedirs(self.docker_config, mode=0o700, exist_ok=True)
        run([DOCKER, "login", "--username", self.user, "--password-stdin", self.host], env=self.docker_env(),
            input=self.password)

    # Caches ----------------------------------------------------------------------------------
    def clear_cache(self, tool: str, image: dict) -> None:
        if tool == "assetctl":
            shutil.rmtree(self.xdg_cache)
            os.makedirs(self.xdg_cache)
            if self.args.assetctl_docker:
                self.clear_cache("docker", image)
        elif tool == "skopeo":
            for name in os.listdir(self.skopeo_cache):
                os.remove(os.path.join(self.skopeo_cache, name))
        elif tool == "docker":
            env = self.docker_env()
            out = run([DOCKER, "image", "ls", "-q", "--no-trunc"], env=env).stdout.split()
            if image["config_digest"] in out:
                run([DOCKER, "image", "rm", "--force", image["config_digest"]], env=env)
            if run([DOCKER, "image", "inspect", image["config_digest"]], env=env, check=False).returncode == 0:
                raise BenchError("docker still has %s after rm" % image["config_digest"])
            driver = self.dockerd.get("storage_driver") or "overlay2"
            shutil.rmtree(os.path.join(self.dockerd["data_root"], "image", driver, "distribution"),
                          ignore_errors=True)

    # Pushes ------------------------------------------------------------------------------------
    def new_repository(self, scenario: str, tool: str, label: str) -> str:
        repo = "bench-tarball/%s-%s-%s-%s" % (scenario, tool, label, secrets.token_hex(3))
        if tool == "assetctl":      # the ECR endpoint answers only for repositories it knows
            request = urllib.request.Request(self.endpoint + "/__control/repositories", method="POST",
                                             data=json.dumps({"name": repo, "account": ACCOUNT}).encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status != 201:
                    raise BenchError("could not create repository %s at the endpoint" % repo)
        return repo

    def asset_manifest(self, image: dict, repo: str, tag: str, label: str) -> str:
        if self.args.asset_form == "executable":
            source = {"executable": TARBALL_EXECUTABLE + [image["asset_file"]]}
        else:
            source = {"directory": image["asset_file"]}
        manifest = {"version": "54.0.0", "dockerImages": {image["asset_id"]: {
            "displayName": "bench tarball %s" % image["repo_tag"],
            "source": source,
            "destinations": {"%s-%s-%s" % (ACCOUNT, REGION, hashlib.sha256(repo.encode()).hexdigest()[:8]): {
                "repositoryName": repo, "imageTag": tag, "region": REGION, "assumeRoleArn": ROLE}},
        }}}
        path = os.path.join(self.assembly, "%s.assets.json" % label)
        with open(path, "w") as handle:
            json.dump(manifest, handle, indent=1)
        return path

    def push(self, tool: str, image: dict, repo: str, tag: str, label: str) -> dict:
        logfile = os.path.join(self.logs, "%s-%s.log" % (label, tool))
        ref = "%s/%s:%s" % (self.host, repo, tag)
        # Every tool starts with no dirty pages to write back (untimed): the registry's storage
        # and the tarballs share the machine's disk, and writeback left by the previous push (or
        # by generating a tarball) can stall the registry's writes for seconds - once 53 s - which
        # would be charged to whichever tool happens to run next.
        os.sync()
        log_offset = os.path.getsize(self.registry_log)
        extra = {}
        uses_daemon = tool == "docker" or (tool == "assetctl" and self.args.assetctl_docker)
        if uses_daemon:     # dockerd does the work for docker: its CPU time and peak RSS, separately
            pid = self.dockerd["pid"]
            cpu_before = proc_cpu(pid)
            hwm_reset = reset_peak_rss(pid)
        if tool == "assetctl":
            manifest = self.asset_manifest(image, repo, tag, "%s-%s" % (label, tool))
            argv = [self.args.assetctl, "publish", "--path", manifest, "--json"] + self.args.assetctl_args
            m = timed(argv, self.assetctl_env(), logfile)
            if m["rc"] == 0:
                summary = self.assetctl_summary(logfile)
                if not summary.get("ok"):
                    m["rc"] = "summary not ok"
                extra["summary"] = {k: summary.get(k) for k in ("ok", "pushes", "builds")}
        elif tool == "skopeo":
            argv = [SKOPEO, "--tmpdir", self.tmp, "copy", "--dest-creds", "%s:%s" % (self.user, self.password),
                    "--dest-cert-dir", self.cert_dir, "docker-archive:" + image["file"], "docker://" + ref]
            m = timed(argv, self.skopeo_env(), logfile)
        else:
            env = self.docker_env()
            steps = []
            for argv in ([DOCKER, "load", "-i", image["file"]], [DOCKER, "tag", image["repo_tag"], ref],
                         [DOCKER, "push", ref]):
                step = timed(argv, env, logfile)
                steps.append(step)
                if step["rc"] != 0:
                    break
            m = {"wall": sum(s["wall"] for s in steps), "cpu": sum(s["cpu"] for s in steps),
                 "user": sum(s["user"] for s in steps), "sys": sum(s["sys"] for s in steps),
                 "rss_mib": max(s["rss_mib"] for s in steps), "rc": next((s["rc"] for s in steps if s["rc"]), 0)}
            extra["steps"] = {name: round(s["wall"], 3) for name, s in zip(("load", "tag", "push"), steps)}
        if uses_daemon:
            extra["dockerd_cpu"] = proc_cpu(pid) - cpu_before
            extra["dockerd_peak_rss_mib"] = peak_rss_mib(pid) if hwm_reset else None
        if m["rc"] != 0:
            raise BenchError("%s failed (%s) for %s; log %s:\n%s" % (tool, m["rc"], ref, logfile, tail(logfile)))
        m.update(extra)
        m.update(self.verify(image, repo, tag, logfile))
        m["blobs_uploaded"] = self.uploads(repo, log_offset)
        return m

    @staticmethod
    def assetctl_summary(logfile: str) -> dict:
        summary = {}
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
        return summary

    def verify(self, image: dict, repo: str, tag: str, logfile: str) -> dict:
        """The tag is there, its config is the tarball's, one layer per diff_id."""
        ref = "docker://%s/%s:%s" % (self.host, repo, tag)
        out = run([SKOPEO, "inspect", "--raw", "--creds", "%s:%s" % (self.user, self.password),
                   "--cert-dir", self.cert_dir, ref], env=self.skopeo_env(), check=False)
        if out.returncode != 0:
            raise BenchError("after the push, %s is not in the registry: %s (log %s)" % (ref, out.stderr.strip(),
                                                                                        logfile))
        manifest = json.loads(out.stdout)
        config = (manifest.get("config") or {}).get("digest")
        layers = manifest.get("layers") or []
        if config != image["config_digest"] or len(layers) != len(image["diff_ids"]):
            raise BenchError("%s: config %s with %d layers, expected %s with %d (log %s)" % (
                ref, config, len(layers), image["config_digest"], len(image["diff_ids"]), logfile))
        return {"manifest_media_type": manifest.get("mediaType"),
                "layer_media_types": sorted({l.get("mediaType") for l in layers}),
                "layer_digests": [l["digest"] for l in layers],
                "pushed_mib": sum(l.get("size", 0) for l in layers) / MIB}

    def uploads(self, repo: str, offset: int) -> int:
        """Blob uploads completed into repo since offset of the registry's access log."""
        pattern = re.compile(r'"PUT /v2/%s/blobs/uploads/\S+ HTTP/[\d.]+" 201 ' % re.escape(repo))
        with open(self.registry_log, "rb") as handle:
            handle.seek(offset)
            text = handle.read().decode(errors="replace")
        return len(pattern.findall(text))

    # Scenarios -----------------------------------------------------------------------------------
    def order(self, index: int) -> list:
        tools = list(self.args.tools)
        k = index % len(tools)
        return tools[k:] + tools[:k]

    def record(self, scenario: str, tool: str, run_index, image: dict, repo: str, tag: str, m: dict) -> None:
        entry = dict(m, scenario=scenario, tool=tool, run=run_index, image=image["file"], repository=repo, tag=tag)
        self.results.append(entry)
        more = ""
        if tool == "docker":
            more = " (load %.2f s, push %.2f s)" % (m["steps"].get("load", 0), m["steps"].get("push", 0))
        if "dockerd_cpu" in m:
            more += " (dockerd CPU %.2f s)" % m["dockerd_cpu"]
        log("%-7s run %-3s %-8s %7.3f s wall, %6.2f s CPU, %6.1f MiB peak RSS, %d blobs uploaded, "
            "%.1f MiB pushed%s" % (scenario, run_index, tool, m["wall"], m["cpu"], m["rss_mib"],
                                  m["blobs_uploaded"], m["pushed_mib"], more))

    def cold(self, image: dict) -> None:
        for i in range(self.args.runs):
            for tool in self.order(i):
                label = "cold-r%d" % (i + 1)
                self.clear_cache(tool, image)
                repo = self.new_repository("cold", tool, "r%d" % (i + 1))
                tag = "cold-%d" % (i + 1)
                self.record("cold", tool, i + 1, image, repo, tag, self.push(tool, image, repo, tag, label))

    def repush(self, image: dict) -> None:
        repos = {}
        warm = {}
        for tool in self.args.tools:
            self.clear_cache(tool, image)
            repos[tool] = self.new_repository("repush", tool, "warm")
            m = self.push(tool, image, repos[tool], "warmup", "repush-warmup")
            warm[tool] = m["layer_digests"]
            log("repush  warm-up  %-8s %7.3f s (untimed for the table)" % (tool, m["wall"]))
        for i in range(self.args.runs):
            for tool in self.order(i):
                tag = "repush-%d" % (i + 1)
                m = self.push(tool, image, repos[tool], tag, "repush-r%d" % (i + 1))
                m["same_blobs_as_warmup"] = m["layer_digests"] == warm[tool]
                self.record("repush", tool, i + 1, image, repos[tool], tag, m)

    def rss_check(self, image: dict) -> None:
        for tool in [t for t in ("assetctl", "skopeo") if t in self.args.tools]:
            self.clear_cache(tool, image)
            repo = self.new_repository("rss", tool, "r1")
            m = self.push(tool, image, repo, "rss-1", "rss")
            self.record("rss", tool, 1, image, repo, "rss-1", m)

    # Reporting -------------------------------------------------------------------------------------
    def summarize(self, info: dict, rss_info) -> str:
        lines = []
        desc = "%s: %d MiB in %d layers (%.1f MiB of layer tars), gzip -1 ratio %s" % (
            os.path.basename(info["file"]), info["size_mib"], info["layers"], info["layers_total"] / MIB,
            "%.2fx" % info["gzip1_ratio"] if info.get("gzip1_ratio") else "n/a")
        lines.append("Tarball push: " + desc)
        lines.append("%d runs per tool and scenario; tools: %s; asset form: %s; assetctl args: %s" % (
            self.args.runs, ", ".join(self.args.tools), self.args.asset_form, " ".join(self.args.assetctl_args) or "-"))
        lines.append("")
        lines.append("| scenario | tool | wall median (min-max) | CPU user+sys | peak RSS | image size in registry | blobs uploaded |")
        lines.append("|---|---|---|---|---|---|---|")
        med = {}
        for scenario in [s for s in SCENARIOS if s in self.args.scenarios]:
            for tool in self.args.tools:
                rows = [r for r in self.results if r["scenario"] == scenario and r["tool"] == tool]
                if not rows:
                    continue
                walls = [r["wall"] for r in rows]
                med[(scenario, tool)] = {"wall": statistics.median(walls),
                                         "cpu": statistics.median(r["cpu"] for r in rows),
                                         "rss": statistics.median(r["rss_mib"] for r in rows)}
                cpu_note = ""
                if all("dockerd_cpu" in r for r in rows):
                    cpu_note = " (+ dockerd %.2f s)" % statistics.median(r["dockerd_cpu"] for r in rows)
                lines.append("| %s | %s | %.3f s (%.3f-%.3f) | %.2f s%s | %.1f MiB | %.1f MiB | %s |" % (
                    scenario, tool, med[(scenario, tool)]["wall"], min(walls), max(walls),
                    med[(scenario, tool)]["cpu"], cpu_note, med[(scenario, tool)]["rss"],
                    statistics.median(r["pushed_mib"] for r in rows),
                    "/".join(str(n) for n in sorted({r["blobs_uploaded"] for r in rows}))))
        lines.append("")
        docker_rows = [r for r in self.results if r["tool"] == "docker" and r["scenario"] in SCENARIOS]
        if docker_rows:
            lines.append("docker: CPU and RSS are the docker CLI's (load + tag + push); the work happens in "
                         "dockerd: its CPU time is in parentheses, its peak RSS (median): %s" % (
                             ", ".join("%s %.0f MiB" % (s, statistics.median(
                                 r["dockerd_peak_rss_mib"] for r in docker_rows if r["scenario"] == s))
                                 for s in SCENARIOS if any(r["scenario"] == s for r in docker_rows)
                                 and all(r["dockerd_peak_rss_mib"] is not None for r in docker_rows))))
            for s in SCENARIOS:
                steps = [r["steps"] for r in docker_rows if r["scenario"] == s]
                if steps:
                    lines.append("docker %s, median per step: load %.3f s, tag %.3f s, push %.3f s" % (
                        s, *(statistics.median(x.get(k, 0) for x in steps) for k in ("load", "tag", "push"))))
        ratio_parts = []
        for scenario in [s for s in SCENARIOS if s in self.args.scenarios]:
            a = med.get((scenario, "assetctl"))
            for other in ("skopeo", "docker"):
                o = med.get((scenario, other))
                if a and o:
                    ratio_parts.append("%s assetctl/%s %.3fx (CPU %.3fx)" % (scenario, other, a["wall"] / o["wall"],
                                                                              a["cpu"] / o["cpu"] if o["cpu"] else 0))
        lines.append("Ratios (median wall time): " + ("; ".join(ratio_parts) if ratio_parts else
                                                      "n/a (needs assetctl and another tool)"))
        rss_rows = {r["tool"]: r for r in self.results if r["scenario"] == "rss"}
        if rss_rows:
            lines.append("RSS check, %s (%d MiB), one cold push each: %s" % (
                os.path.basename(rss_info["file"]), rss_info["size_mib"],
                ", ".join("%s peak RSS %.1f MiB (%.3f s wall)" % (t, r["rss_mib"], r["wall"])
                          for t, r in rss_rows.items())))
        lines.append("")

        def target(scenario):
            a, s = med.get((scenario, "assetctl")), med.get((scenario, "skopeo"))
            if not (a and s):
                return "not measured"
            ratio = a["wall"] / s["wall"]
            return "%.3fx %s" % (ratio, "met" if ratio <= TARGET_RATIO else "NO")
        rss = rss_rows.get("assetctl")
        rss_text = "not measured (--rss-check)" if rss is None else "%.1f MiB %s" % (
            rss["rss_mib"], "met" if rss["rss_mib"] < RSS_TARGET_MIB and rss_info["size_mib"] >= 1024 else
            ("NO" if rss["rss_mib"] >= RSS_TARGET_MIB else "(not a 1 GiB image)"))
        lines.append("Targets: cold <= 0.5x skopeo: %s | re-push <= 0.5x skopeo: %s | assetctl peak RSS < 64 MiB "
                     "for a 1 GiB image: %s" % (target("cold"), target("repush"), rss_text))
        return "\n".join(lines)


def machine() -> dict:
    load = os.getloadavg()
    return {"utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cores": os.cpu_count(), "arch": platform.machine(), "load_average": round(load[0], 2),
            "skopeo": run([SKOPEO, "--version"], check=False).stdout.strip(),
            "docker_client": run([DOCKER, "--version"], check=False).stdout.strip()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", required=True)
    parser.add_argument("--stack", required=True, help="stack.json of the stack (stack.py exec --fast)")
    parser.add_argument("--dockerd", help="dockerd.json of dockerd.py up (needed for docker)")
    parser.add_argument("--image", required=True, help="the info JSON of gen_image_tarball.py")
    parser.add_argument("--rss-image", help="info JSON of the 1 GiB tarball for the RSS check")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--assetctl")
    parser.add_argument("--assetctl-args", default="")
    parser.add_argument("--assetctl-docker", action="store_true",
                        help="give assetctl the private dockerd (default: none, DOCKER_HOST points nowhere)")
    parser.add_argument("--asset-form", choices=("executable", "directory"), default="executable")
    parser.add_argument("--results", required=True)
    args = parser.parse_args(argv)
    args.tools = [t for t in args.tools.split(",") if t]
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.assetctl_args = args.assetctl_args.split()
    bad = [t for t in args.tools if t not in TOOLS] + [s for s in args.scenarios if s not in SCENARIOS]
    if bad or not args.tools:
        parser.error("unknown tool/scenario %s (tools: %s; scenarios: %s)" % (bad, TOOLS, SCENARIOS))
    if ("docker" in args.tools or args.assetctl_docker) and not args.dockerd:
        parser.error("docker and --assetctl-docker need --dockerd")
    if "assetctl" in args.tools and not (args.assetctl and os.access(args.assetctl, os.X_OK)):
        parser.error("assetctl binary not executable: %s" % args.assetctl)

    with open(args.image) as handle:
        info = json.load(handle)
    rss_info = None
    if args.rss_image:
        with open(args.rss_image) as handle:
            rss_info = json.load(handle)
    bench = Bench(args)
    before = machine()
    try:
        if "skopeo" in args.tools:
            bench.mount_skopeo_cache()
        if "docker" in args.tools or args.assetctl_docker:
            bench.docker_login()
        image = bench.prepare_image(info)
        if "cold" in args.scenarios:
            bench.cold(image)
        if "repush" in args.scenarios:
            bench.repush(image)
        if rss_info:
            bench.rss_check(bench.prepare_image(rss_info))
    finally:
        with open(args.results, "w") as handle:
            json.dump({"machine_before": before, "args": {k: v for k, v in vars(args).items()},
                       "image": info, "rss_image": rss_info, "runs": bench.results}, handle, indent=1)
    text = bench.summarize(info, rss_info)
    after = os.getloadavg()[0]
    text += "\n\n%s; %d cores, %s, load average %.2f before / %.2f after; %s; %s" % (
        before["utc"], before["cores"], before["arch"], before["load_average"], after, before["skopeo"],
        before["docker_client"])
    print(text)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as err:
        log("FAILED: %s" % err)
        sys.exit(1)
