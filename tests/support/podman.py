#!/usr/bin/python3
"""A private podman environment (Debian podman 4.3) for one test: nothing of the machine's own
podman configuration or storage is read or written.

Everything lives under one state directory, removed at the end:
  * CONTAINERS_CONF: containers.conf with default_ulimits (the machine's hard limits are too low
    for podman's defaults), netns = "host" (no CNI/netavark network needed for RUN steps),
    cgroupfs and file event logging (no systemd or journald here), its own tmp_dir;
  * CONTAINERS_STORAGE_CONF: storage.conf with driver "vfs" and a private graphroot/runroot
    (vfs needs no kernel overlay support and leaves no mounts behind);
  * CONTAINERS_REGISTRIES_CONF: registries.conf with no search registries (nothing is ever
    pulled from the network) and the given test registries marked insecure;
  * REGISTRY_AUTH_FILE: an empty auth.json of its own (logins never reach ~/.docker or /run).

    with podman.Podman(insecure_registries=["127.0.0.1:5000"]) as p:
        p.import_busybox()                       # local/busybox:latest from /bin/busybox, offline
        subprocess.run(["podman", "build", ...], env=p.env(), check=True)
        p.podman("save", ...), p.image_id("ref"), p.env(base=...)

podman keeps no daemon: each command is its own process, so there is nothing to stop, only
files to remove (and, defensively, any mount left under the state directory).
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dockerd as dockerd_support  # noqa: E402  (busybox_rootfs_tar, unmount_under)

PODMAN_BIN = "/usr/bin/podman"
BUSYBOX_IMAGE = dockerd_support.BUSYBOX_IMAGE   # local/busybox:latest, as dockerd.py imports it
ENV_REMOVED = ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF", "CONTAINER_HOST",
               "CONTAINER_CONNECTION", "REGISTRY_AUTH_FILE", "DOCKER_HOST", "DOCKER_CONFIG")
ULIMITS = ["nofile=20000:20000", "nproc=20000:20000"]


def _toml_string(value: str) -> str:
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def containers_conf(tmp_dir: str) -> str:
    return ("[containers]\n"
            "default_ulimits = [%s]\n"
            'netns = "host"\n'
            "\n[engine]\n"
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            "tmp_dir = %s\n") % (", ".join(_toml_string(u) for u in ULIMITS), _toml_string(tmp_dir))


def storage_conf(graphroot: str, runroot: str) -> str:
    return ('[storage]\ndriver = "vfs"\ngraphroot = %s\nrunroot = %s\n'
            % (_toml_string(graphroot), _toml_string(runroot)))


def registries_conf(insecure_registries) -> str:
    text = "unqualified-search-registries = []\nshort-name-mode = \"permissive\"\n"
    for location in insecure_registries:
        text += "\n[[registry]]\nlocation = %s\ninsecure = true\n" % _toml_string(location)
    return text


class Podman:
    """One private podman environment. Use as a context manager or start()/stop()."""

    def __init__(self, state_dir: str = None, insecure_registries=()):
        self._own_dir = state_dir is None or not os.path.exists(state_dir)
        self.state_dir = os.path.abspath(state_dir or tempfile.mkdtemp(prefix="assetctl-podman-"))
        self.insecure_registries = list(insecure_registries)
        self.started = False

    def _path(self, *names) -> str:
        return os.path.join(self.state_dir, *names)

    @property
    def graphroot(self) -> str:
        return self._path("storage")

    @property
    def runroot(self) -> str:
        return self._path("run")

    def start(self) -> "Podman":
        for name in ("storage", "run", "tmp", "home"):
            os.makedirs(self._path(name), exist_ok=True)
        self._write("containers.conf", containers_conf(self._path("tmp")))
        self._write("storage.conf", storage_conf(self.graphroot, self.runroot))
        self._write("registries.conf", registries_conf(self.insecure_registries))
        self._write("auth.json", "{}\n")            # REGISTRY_AUTH_FILE: podman refuses a missing one
        self.started = True
        self.server_version = self.podman("version", "--format", "{{.Client.Version}}").stdout.strip()
        return self

    def _write(self, name: str, text: str) -> None:
        with open(self._path(name), "w") as handle:
            handle.write(text)

    def env(self, base: dict = None) -> dict:
        """base (default os.environ) with the private configuration; a PATH with /usr/bin first
        (podman's helpers: conmon, runc), and no docker or podman connection settings."""
        env = {k: v for k, v in (os.environ if base is None else base).items() if k not in ENV_REMOVED}
        env.update({
            "CONTAINERS_CONF": self._path("containers.conf"),
            "CONTAINERS_STORAGE_CONF": self._path("storage.conf"),
            "CONTAINERS_REGISTRIES_CONF": self._path("registries.conf"),
            "REGISTRY_AUTH_FILE": self._path("auth.json"),
            "PATH": dockerd_support.client_path(env.get("PATH")),
        })
        return env

    def podman(self, *args, input=None, check: bool = True, env: dict = None, text: bool = True,
               timeout: float = 300) -> subprocess.CompletedProcess:
        """Runs /usr/bin/podman with this environment, output captured."""
        if not self.started:
            raise RuntimeError("Podman.start() first")
        result = subprocess.run([PODMAN_BIN, *args], input=input, capture_output=True, text=text,
                                env=env or self.env(), timeout=timeout)
        if check and result.returncode != 0:
            stderr = result.stderr if text else result.stderr.decode(errors="replace")
            raise subprocess.CalledProcessError(result.returncode, result.args, result.stdout, stderr)
        return result

    def image_id(self, ref: str):
        """'sha256:<hex>' (docker's form; podman prints the bare hex) or None when there is none."""
        result = self.podman("image", "inspect", "--format", "{{.Id}}", ref, check=False)
        if result.returncode != 0:
            return None
        return "sha256:" + result.stdout.strip()

    def import_busybox(self, tag: str = BUSYBOX_IMAGE) -> str:
        """`podman import` a busybox rootfs as tag (podman stores it as localhost/<tag>, which a
        Dockerfile's `FROM local/busybox:latest` finds); idempotent. Returns the image ID."""
        existing = self.image_id(tag)
        if existing:
            return existing
        self.podman("import", "--change", 'CMD ["/bin/sh"]', "-", tag,
                    input=dockerd_support.busybox_rootfs_tar(), text=False)
        return self.image_id(tag)

    def stop(self, remove_files: bool = None) -> None:
        """Unmounts whatever is left under the state dir; removes it if we created it."""
        if os.path.isdir(self.state_dir):
            dockerd_support.unmount_under(self.state_dir)
        if remove_files if remove_files is not None else self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        self.started = False

    def __enter__(self) -> "Podman":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
