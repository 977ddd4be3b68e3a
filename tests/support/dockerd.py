#!/usr/bin/python3
"""Start and stop a private, real Docker daemon (Debian `docker.io` 20.10) for integration tests.

Each daemon gets its own data-root, exec-root, pidfile, unix socket and daemon.json, and a
bridge of its own (`ac<8 hex>`, an unused private /24), so several daemons (other tests,
other engineers) can run side by side and stopping one never touches another's network.
iptables, ip6tables, ip-forward and ip-masq are off; there is no TCP listener.
Storage is overlay2; if the daemon cannot start with it we retry with vfs and say so.

As a module:
    with Dockerd() as d:
        d.import_busybox()                      # local/busybox:latest, built offline from busybox-static
        subprocess.run(["docker", "build", ...], env=d.env(), check=True)   # /usr/bin/docker 20.10
        d.docker("images")                      # the same, with check=True and captured output
        d.socket, d.docker_host, d.pid, d.bridge, d.storage_driver

    env() sets DOCKER_HOST, DOCKER_BUILDKIT=1, a private DOCKER_CONFIG and a PATH on which
    `docker` is /usr/bin/docker (the 20.10 client; /usr/local/bin/docker 28 has no buildx).
    Start a daemon from a thread that outlives it: the child gets PR_SET_PDEATHSIG, which
    the kernel fires when the *thread* that spawned it exits.

As a CLI (for C++ / shell tests):
    /usr/bin/python3 tests/support/dockerd.py up   --state-dir D [--storage-driver vfs] [--import-busybox]
        -> prints one JSON object (also saved as D/dockerd.json); the daemon keeps running
    /usr/bin/python3 tests/support/dockerd.py down --state-dir D [--keep]
        -> stops the recorded pid (after checking /proc/<pid>/cmdline), deletes the bridge,
           unmounts leftovers, removes D if `up` created it
"""

import argparse
import ctypes
import errno
import http.client
import io
import ipaddress
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import registry as registry_support  # noqa: E402  (wait_until, die_with_parent, terminate_pid, pid_alive)

DOCKERD_BIN = "/usr/sbin/dockerd"
DOCKER_CLIENT = "/usr/bin/docker"       # 20.10, matches the daemon; /usr/local/bin/docker (28) lacks buildx
BUSYBOX_BIN = "/bin/busybox"            # Debian busybox-static
IP_BIN = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "/sbin/ip"
BUSYBOX_IMAGE = "local/busybox:latest"
BUSYBOX_APPLETS = ("sh", "ls", "cat", "echo", "mkdir", "env", "true", "sleep")
# dockerd finds containerd, runc and docker-init on PATH: use Debian's, never /usr/local.
DAEMON_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
READY_DEADLINE_SECONDS = 30.0
STOP_GRACE_SECONDS = 20.0
# sun_path holds 108 bytes including the NUL. The longest socket the daemon creates under
# its exec-root is about "<run>/exec/containerd/containerd.sock.ttrpc" (+38) or libnetwork's
# "<run>/exec/libnetwork/<12 hex>.sock"; keep a generous margin.
MAX_RUN_DIR_LEN = 107 - 60
BRIDGE_RE = re.compile(r"^ac[0-9a-f]{8}$")
STATE_FILE = "dockerd.json"


class DockerdError(RuntimeError):
    pass


# Small helpers ---------------------------------------------------------------------------
def _cmdline(pid: int) -> list:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return [part.decode(errors="replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return []


def _ip(*args, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([IP_BIN] + list(args), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise DockerdError("ip %s: %s" % (" ".join(args), result.stderr.strip()))
    return result


def link_exists(name: str) -> bool:
    return bool(name) and os.path.exists("/sys/class/net/" + name)


def used_ipv4_networks() -> list:
    """Every IPv4 network on an interface or in a routing table (the default route excluded)."""
    nets = []
    for entry in json.loads(_ip("-j", "-4", "addr", "show").stdout or "[]"):
        for addr in entry.get("addr_info", []):
            iface = ipaddress.ip_interface("%s/%s" % (addr["local"], addr["prefixlen"]))
            nets.append((entry.get("ifname"), iface.network))
    for route in json.loads(_ip("-j", "-4", "route", "show", "table", "all").stdout or "[]"):
        dst = route.get("dst", "default")
        if dst in ("default", "0.0.0.0/0"):
            continue
        try:
            nets.append((route.get("dev"), ipaddress.ip_network(dst, strict=False)))
        except ValueError:
            pass
    return nets


def create_bridge(attempts: int = 40) -> tuple:
    """Create `ac<8 hex>` with the first address of a random unused 10.128-254.x.0/24; up it.

    Two creators racing for the same /24 are caught by re-reading the addresses after ours
    is set: a loser deletes its bridge and tries another subnet. Returns (name, cidr).
    """
    rng = random.SystemRandom()
    last = None
    for _ in range(attempts):
        used = used_ipv4_networks()
        net = ipaddress.ip_network("10.%d.%d.0/24" % (rng.randint(128, 254), rng.randint(0, 255)))
        if any(net.overlaps(other) for _dev, other in used):
            continue
        name = "ac" + secrets.token_hex(4)
        made = _ip("link", "add", "name", name, "type", "bridge", check=False)
        if made.returncode != 0:
            last = made.stderr.strip()
            if "exists" in last:
                continue
            raise DockerdError("ip link add %s type bridge: %s" % (name, last))
        try:
            cidr = "%s/%d" % (net.network_address + 1, net.prefixlen)
            _ip("addr", "add", cidr, "dev", name)
            _ip("link", "set", name, "up")
            if any(dev != name and net.overlaps(other) for dev, other in used_ipv4_networks()):
                last = "subnet %s taken concurrently" % net
                delete_bridge(name)
                continue
            return name, cidr
        except BaseException:
            delete_bridge(name)
            raise
    raise DockerdError("no free bridge/subnet after %d attempts (%s)" % (attempts, last))


def delete_bridge(name: str) -> bool:
    """Delete one of our bridges (`ac<8 hex>` only). True if it existed."""
    if not name or not BRIDGE_RE.match(name) or not link_exists(name):
        return False
    result = _ip("link", "delete", name, "type", "bridge", check=False)
    if result.returncode != 0 and link_exists(name):
        raise DockerdError("ip link delete %s: %s" % (name, result.stderr.strip()))
    return True


def _unescape_mount(path: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def mounts_under(*dirs) -> list:
    """Mount points (from /proc/self/mounts) at or below any of dirs, deepest first."""
    roots = [os.path.realpath(d).rstrip("/") for d in dirs if d]
    found = []
    with open("/proc/self/mounts") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) < 2:
                continue
            point = _unescape_mount(fields[1])
            if any(point == root or point.startswith(root + "/") for root in roots):
                found.append(point)
    return sorted(set(found), key=lambda p: (-p.count("/"), p))


def unmount_under(*dirs) -> list:
    """Unmount everything below dirs (nsfs netns/default, overlay merged dirs, the data-root
    bind mount), deepest first; lazily (MNT_DETACH) if a plain unmount is refused."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    done = []
    for _round in range(8):            # stacked mounts show up again after the top one goes
        points = mounts_under(*dirs)
        if not points:
            break
        for point in points:
            if libc.umount2(point.encode(), 0) != 0:
                err = ctypes.get_errno()
                if err == errno.EINVAL:        # already gone (a parent went first)
                    continue
                if libc.umount2(point.encode(), 2) != 0 and ctypes.get_errno() != errno.EINVAL:   # MNT_DETACH
                    raise DockerdError("umount %s: %s" % (point, os.strerror(ctypes.get_errno())))
            done.append(point)
    return done


def client_path(path: str = None) -> str:
    """PATH with /usr/bin before /usr/local/bin, so `docker` is the 20.10 client.

    /usr/bin is moved to just before the first /usr/local/bin entry (other tools keep their
    order); if `docker` still resolves elsewhere (an earlier dir has one), /usr/bin goes first.
    """
    parts = [p for p in (path if path is not None else os.environ.get("PATH", "")).split(":") if p]
    parts = [p for p in parts if p.rstrip("/") != "/usr/bin"]
    index = next((i for i, p in enumerate(parts) if p.rstrip("/") == "/usr/local/bin"), len(parts))
    parts.insert(index, "/usr/bin")
    result = ":".join(parts)
    if shutil.which("docker", path=result) != DOCKER_CLIENT:
        result = ":".join(["/usr/bin"] + [p for p in parts if p != "/usr/bin"])
    return result


# A tiny HTTP client over AF_UNIX (readiness and a few queries, no docker client needed) ----
class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def api_get(socket_path: str, path: str, timeout: float = 1.0) -> tuple:
    """(status, body bytes) of GET path on the daemon socket; (0, b"") if it does not answer."""
    conn = _UnixHTTPConnection(socket_path, timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return 0, b""
    finally:
        conn.close()


# The busybox base image ------------------------------------------------------------------
def busybox_rootfs_tar(busybox: str = BUSYBOX_BIN, applets=BUSYBOX_APPLETS) -> bytes:
    """A deterministic rootfs tar: bin/busybox, bin/<applet> -> busybox, empty tmp/ and etc/.

    Same input, same bytes: sorted entries, mtime 0, uid/gid 0, no user/group names.
    """
    if not os.path.exists(busybox):
        raise DockerdError("%s missing: apt-get install busybox-static" % busybox)
    with open(busybox, "rb") as handle:
        data = handle.read()
    buf = io.BytesIO()

    def info(name, kind, mode):
        item = tarfile.TarInfo(name)
        item.type, item.mode, item.mtime = kind, mode, 0
        item.uid = item.gid = 0
        item.uname = item.gname = ""
        return item

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777)):
            tar.addfile(info(name, tarfile.DIRTYPE, mode))
        entry = info("bin/busybox", tarfile.REGTYPE, 0o755)
        entry.size = len(data)
        tar.addfile(entry, io.BytesIO(data))
        for applet in sorted(applets):
            link = info("bin/" + applet, tarfile.SYMTYPE, 0o777)
            link.linkname = "busybox"
            tar.addfile(link)
    return buf.getvalue()


# The daemon ------------------------------------------------------------------------------
class Dockerd:
    """One private dockerd. Use as a context manager or start()/stop()."""

    def __init__(self, state_dir: str = None, storage_driver: str = "overlay2", detach: bool = False):
        if state_dir is None:
            self.state_dir = tempfile.mkdtemp(prefix="acd-", dir="/tmp")   # short: socket paths
            self.created_state_dir = True
        else:
            self.state_dir = os.path.abspath(state_dir)
            self.created_state_dir = not os.path.exists(self.state_dir)
        self.requested_driver = storage_driver
        self.storage_driver = None
        self.storage_driver_fallback = None
        self.detach = detach           # new session, no death signal: outlives a CLI `up`
        self.run_dir = None
        self.created_run_dir = False
        self.process = None
        self.pid = None
        self.containerd_pid = None
        self.bridge = None
        self.bridge_cidr = None
        self.server_version = None
        self.api_version = None
        self._log_offset = 0

    # Paths -------------------------------------------------------------------------------
    @property
    def data_root(self) -> str:
        return os.path.join(self.state_dir, "root")

    @property
    def exec_root(self) -> str:
        return os.path.join(self.run_dir, "exec")

    @property
    def socket(self) -> str:
        return os.path.join(self.run_dir, "docker.sock")

    @property
    def pidfile(self) -> str:
        return os.path.join(self.run_dir, "docker.pid")

    @property
    def docker_host(self) -> str:
        return "unix://" + self.socket

    @property
    def docker_config(self) -> str:
        return os.path.join(self.state_dir, "docker-config")

    @property
    def log_path(self) -> str:
        return os.path.join(self.state_dir, "dockerd.log")

    @property
    def config_file(self) -> str:
        return os.path.join(self.state_dir, "daemon.json")

    # Lifecycle ---------------------------------------------------------------------------
    def start(self) -> "Dockerd":
        for path in (DOCKERD_BIN, DOCKER_CLIENT):
            if not os.path.exists(path):
                raise DockerdError("%s missing: apt-get install docker.io" % path)
        os.makedirs(self.state_dir, exist_ok=True)
        if len(self.state_dir) <= MAX_RUN_DIR_LEN:
            self.run_dir = self.state_dir
        else:
            self.run_dir = tempfile.mkdtemp(prefix="acd-run-", dir="/tmp")
            self.created_run_dir = True
        os.makedirs(self.docker_config, exist_ok=True)
        with open(os.path.join(self.docker_config, "config.json"), "w") as handle:
            handle.write("{}\n")
        with open(self.config_file, "w") as handle:   # never read /etc/docker/daemon.json
            handle.write("{}\n")
        self.bridge, self.bridge_cidr = create_bridge()
        driver = self.requested_driver
        try:
            self._spawn_and_wait(driver)
        except DockerdError as err:
            if driver != "overlay2" or self.process is None or self.process.poll() is None:
                raise DockerdError("%s\n--- dockerd log tail ---\n%s" % (err, self.log_tail())) from None
            last_line = (self.log_tail(3).strip().splitlines() or [""])[-1]
            reason = "overlay2 failed (%s): %s" % (err, last_line)
            self._reap_failed_attempt()
            self.storage_driver_fallback = reason
            print("dockerd.py: %s; falling back to vfs" % reason, file=sys.stderr, flush=True)
            try:
                self._spawn_and_wait("vfs")
            except DockerdError as err2:
                raise DockerdError("%s\n--- dockerd log tail ---\n%s" % (err2, self.log_tail())) from None
        self._after_ready()
        self.save_state()
        return self

    def save_state(self, extra: dict = None) -> dict:
        """Write D/dockerd.json (atomically), so `down --state-dir D` can clean up any daemon,
        also one whose Python owner was killed (its death signal stops dockerd, but the bridge
        and the directories stay)."""
        info = dict(self.describe(), **(extra or {}))
        path = os.path.join(self.state_dir, STATE_FILE)
        with open(path + ".tmp", "w") as handle:
            json.dump(info, handle, indent=1)
        os.replace(path + ".tmp", path)
        return info

    def _argv(self, driver: str) -> list:
        return [DOCKERD_BIN, "--config-file=" + self.config_file, "--storage-driver=" + driver,
                "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
                "--bridge=" + self.bridge, "--data-root=" + self.data_root, "--exec-root=" + self.exec_root,
                "--pidfile=" + self.pidfile, "--host=" + self.docker_host]

    def _daemon_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["PATH"] = DAEMON_PATH
        if any(k.lower() in ("http_proxy", "https_proxy") for k in env):   # loopback registries: direct
            for key in ("NO_PROXY", "no_proxy"):
                env[key] = ",".join(filter(None, [env.get(key), "127.0.0.1", "localhost", "::1"]))
        return env

    def _spawn_and_wait(self, driver: str) -> None:
        self.storage_driver = driver
        self._log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(self._argv(driver), stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, env=self._daemon_env(), cwd=self.state_dir,
                                            start_new_session=self.detach,
                                            preexec_fn=None if self.detach else registry_support.die_with_parent)
        finally:
            log.close()
        self.pid = self.process.pid
        try:
            registry_support.wait_until(lambda: api_get(self.socket, "/_ping", 0.5) == (200, b"OK"),
                                        READY_DEADLINE_SECONDS, self.process, "dockerd on %s" % self.socket)
        except registry_support.RegistryError as err:
            raise DockerdError(str(err)) from None

    def _reap_failed_attempt(self) -> None:
        if self.process is not None and self.process.poll() is None:
            registry_support.terminate_pid(self.process.pid, self.process, STOP_GRACE_SECONDS)
        self.process = None
        self.pid = None
        unmount_under(self.run_dir, self.state_dir)
        shutil.rmtree(self.data_root, ignore_errors=True)

    def _after_ready(self) -> None:
        status, body = api_get(self.socket, "/version", 5.0)
        if status == 200:
            version = json.loads(body)
            self.server_version, self.api_version = version.get("Version"), version.get("ApiVersion")
        status, body = api_get(self.socket, "/info", 5.0)
        if status == 200:
            self.storage_driver = json.loads(body).get("Driver") or self.storage_driver
        self.containerd_pid = self._find_containerd()

    def _find_containerd(self):
        """The containerd that dockerd spawned (a child of our pid), to reap it if it lingers."""
        try:
            tasks = os.listdir("/proc/%d/task" % self.pid)
        except OSError:
            return None
        marker = self.run_dir.rstrip("/") + "/"
        for task in tasks:
            try:
                with open("/proc/%d/task/%s/children" % (self.pid, task)) as handle:
                    children = [int(c) for c in handle.read().split()]
            except OSError:
                continue
            for child in children:
                argv = _cmdline(child)
                if argv and os.path.basename(argv[0]) == "containerd" and marker in " ".join(argv):
                    return child
        return None

    def _is_ours(self, pid: int, binary: str) -> bool:
        argv = _cmdline(pid)
        marker = self.run_dir.rstrip("/") + "/"
        return bool(argv) and registry_support.pid_alive(pid) and binary in argv[0] and marker in " ".join(argv)

    def stop(self, remove_files: bool = None) -> dict:
        """Stop the daemon by the pid we started; delete its bridge; unmount and remove leftovers.

        Every step runs even if an earlier one failed; the first failure is raised at the end.
        """
        report = {"stopped": None, "containerd_stopped": None, "bridge_removed": False, "unmounted": [],
                  "removed": []}
        errors = []

        def step(func):
            try:
                func()
            except Exception as err:   # noqa: BLE001 - keep cleaning, raise afterwards
                errors.append(err)

        def stop_daemon():
            if self.process is not None:
                if self.process.poll() is None:
                    registry_support.terminate_pid(self.process.pid, self.process, STOP_GRACE_SECONDS)
                    report["stopped"] = self.process.pid
                self.process = None
            elif self.pid and self.run_dir and self._is_ours(self.pid, "dockerd"):
                registry_support.terminate_pid(self.pid, None, STOP_GRACE_SECONDS)
                report["stopped"] = self.pid
            self.pid = None

        def stop_containerd():   # normally dockerd stops it; only if it outlived a SIGKILLed dockerd
            if self.containerd_pid and self.run_dir and self._is_ours(self.containerd_pid, "containerd"):
                registry_support.terminate_pid(self.containerd_pid, None, STOP_GRACE_SECONDS)
                report["containerd_stopped"] = self.containerd_pid
            self.containerd_pid = None

        def remove_bridge():
            report["bridge_removed"] = delete_bridge(self.bridge)
            self.bridge = None

        def unmount():
            report["unmounted"] = unmount_under(*(d for d in (self.run_dir, self.state_dir) if d))

        def remove():
            if mounts_under(*(d for d in (self.run_dir, self.state_dir) if d)):
                raise DockerdError("mounts remain under %s; not removing it" % self.state_dir)
            remove_state = remove_files if remove_files is not None else self.created_state_dir
            targets = [self.run_dir] if self.created_run_dir else []
            if remove_state:
                targets.append(self.state_dir)
            elif remove_files is None:     # a dir we did not create: drop the bulky parts, keep logs
                targets += [self.data_root, self.docker_config]
                if self.run_dir:
                    targets += [self.exec_root, self.socket, self.pidfile]
            for target in targets:
                if os.path.isdir(target):
                    shutil.rmtree(target, ignore_errors=True)
                elif os.path.lexists(target):
                    os.remove(target)
                if os.path.lexists(target):
                    raise DockerdError("could not remove %s" % target)
                report["removed"].append(target)

        for func in (stop_daemon, stop_containerd, remove_bridge, unmount, remove):
            step(func)
        if errors:
            raise errors[0]
        return report

    def __enter__(self) -> "Dockerd":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # Clients -----------------------------------------------------------------------------
    def env(self, base: dict = None, docker_config: str = None) -> dict:
        """Environment for a docker client of this daemon: `base` (default os.environ) plus
        DOCKER_HOST, DOCKER_BUILDKIT=1, DOCKER_CONFIG (private unless given) and a PATH on
        which `docker` is /usr/bin/docker. DOCKER_TLS_VERIFY/CERT_PATH/CONTEXT are dropped."""
        env = dict(os.environ if base is None else base)
        for key in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT", "DOCKER_API_VERSION"):
            env.pop(key, None)
        env.update(self.client_vars(env.get("PATH"), docker_config))
        return env

    def client_vars(self, path: str = None, docker_config: str = None) -> dict:
        return {"DOCKER_HOST": self.docker_host, "DOCKER_BUILDKIT": "1",
                "DOCKER_CONFIG": docker_config or self.docker_config, "PATH": client_path(path)}

    def docker(self, *args, input=None, check: bool = True, env: dict = None, timeout: float = 120,
               text: bool = True) -> subprocess.CompletedProcess:
        """Run /usr/bin/docker against this daemon (output captured)."""
        result = subprocess.run([DOCKER_CLIENT] + list(args), input=input, capture_output=True, text=text,
                                env=env or self.env(), timeout=timeout)
        if check and result.returncode != 0:
            raise DockerdError("docker %s exited %d:\n%s%s" % (" ".join(args), result.returncode,
                                                                result.stdout, result.stderr))
        return result

    def image_id(self, ref: str):
        """The image ID (sha256:...) of ref, or None if the daemon does not have it."""
        status, body = api_get(self.socket, "/images/%s/json" % ref, 5.0)
        return json.loads(body)["Id"] if status == 200 else None

    def import_busybox(self, tag: str = BUSYBOX_IMAGE) -> str:
        """`docker import` a busybox rootfs as tag (default local/busybox:latest); idempotent:
        an existing tag is kept. Returns the image ID."""
        existing = self.image_id(tag)
        if existing:
            return existing
        out = self.docker("import", "--change", 'CMD ["/bin/sh"]', "-", tag, input=busybox_rootfs_tar(), text=False)
        image = out.stdout.decode().strip().splitlines()[-1]
        return self.image_id(tag) or image

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self._log_offset)
                return "".join(handle.read().decode(errors="replace").splitlines(True)[-lines:])
        except OSError:
            return ""

    def describe(self) -> dict:
        return {"socket": self.socket, "docker_host": self.docker_host, "pid": self.pid,
                "data_root": self.data_root, "exec_root": self.exec_root, "bridge": self.bridge,
                "bridge_cidr": self.bridge_cidr, "client": DOCKER_CLIENT, "state_dir": self.state_dir,
                "run_dir": self.run_dir, "log": self.log_path, "pidfile": self.pidfile,
                "storage_driver": self.storage_driver, "storage_driver_fallback": self.storage_driver_fallback,
                "server_version": self.server_version, "api_version": self.api_version,
                "containerd_pid": self.containerd_pid, "created_state_dir": self.created_state_dir,
                "created_run_dir": self.created_run_dir, "env": self.client_vars()}

    @classmethod
    def from_info(cls, info: dict) -> "Dockerd":
        """A handle on a daemon recorded by `up` (for `down`): stop() then works by pid."""
        daemon = cls(info["state_dir"])
        daemon.created_state_dir = info.get("created_state_dir", False)
        daemon.run_dir = info["run_dir"]
        daemon.created_run_dir = info.get("created_run_dir", False)
        daemon.pid = info.get("pid")
        daemon.containerd_pid = info.get("containerd_pid")
        daemon.bridge = info.get("bridge")
        return daemon


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a private dockerd, print JSON")
    up.add_argument("--state-dir", required=True)
    up.add_argument("--storage-driver", default="overlay2", choices=("overlay2", "vfs"))
    up.add_argument("--import-busybox", action="store_true", help="also import local/busybox:latest")
    down = sub.add_parser("down", help="stop what `up` started")
    down.add_argument("--state-dir", required=True)
    down.add_argument("--keep", action="store_true", help="keep the state dir (logs, data-root)")
    args = parser.parse_args(argv)
    state_dir = os.path.abspath(args.state_dir)

    if args.command == "up":
        daemon = Dockerd(state_dir, args.storage_driver, detach=True)
        try:
            daemon.start()
            extra = {"busybox_image_id": daemon.import_busybox()} if args.import_busybox else {}
            info = daemon.save_state(extra)
        except BaseException:
            daemon.stop()
            raise
        daemon.process = None     # let it outlive us; `down` stops it by pid
        print(json.dumps(info, indent=1), flush=True)
        return 0

    try:
        with open(os.path.join(state_dir, STATE_FILE)) as handle:
            info = json.load(handle)
    except FileNotFoundError:
        print("dockerd.py down: no %s in %s (nothing recorded to stop)" % (STATE_FILE, state_dir), file=sys.stderr)
        return 1
    report = Dockerd.from_info(info).stop(remove_files=False if args.keep else None)
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
