#!/usr/bin/python3
"""Start and stop a private, real OCI registry (Debian `docker-registry`, distribution 2.8).

The registry listens on 127.0.0.1 with TLS (a fresh self-signed certificate for IP:127.0.0.1
and DNS:localhost) and htpasswd (bcrypt) authentication, stores blobs in a temp directory
and has deletes enabled. Used by stack.py and the ECR endpoint (which adds user `AWS` with
the password it mints in GetAuthorizationToken; the registry re-reads the htpasswd file when
its mtime changes, so new users work without a restart).

As a module:
    with Registry() as reg:
        reg.url, reg.host, reg.ca_cert, reg.cert_dir, reg.htpasswd
        reg.add_user("alice", "pw")

As a CLI (for debugging; stack.py is the usual way to run it for other tests):
    /usr/bin/python3 tests/support/registry.py --state-dir D   # prints JSON, runs until Ctrl-C
"""

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REGISTRY_BIN = "/usr/bin/docker-registry"
HTPASSWD_BIN = "/usr/bin/htpasswd"
OPENSSL_BIN = "/usr/bin/openssl"
READY_DEADLINE_SECONDS = 30.0


class RegistryError(RuntimeError):
    pass


def free_port() -> int:
    """A port that was free a moment ago (the caller retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_self_signed_cert(directory: str) -> tuple:
    """Write server.key/server.crt (SAN IP:127.0.0.1, DNS:localhost) and a CA copy ca.crt.

    The cert is its own CA. cert_dir/ca.crt is laid out the way skopeo/containers expect for
    --cert-dir (only *.crt there: a *.cert/*.key pair would be taken as a client cert).
    """
    key = os.path.join(directory, "server.key")
    crt = os.path.join(directory, "server.crt")
    subprocess.run([OPENSSL_BIN, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "30", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cert_dir = os.path.join(directory, "certs.d")
    os.makedirs(cert_dir, exist_ok=True)
    ca = os.path.join(cert_dir, "ca.crt")
    shutil.copyfile(crt, ca)
    return key, crt, ca, cert_dir


def htpasswd_line(user: str, password: str) -> str:
    """'user:$2y$...' from `htpasswd -nbB` (bcrypt is the only scheme distribution accepts)."""
    out = subprocess.run([HTPASSWD_BIN, "-nbB", user, password], check=True, capture_output=True, text=True)
    line = out.stdout.strip().splitlines()[0]
    if not line.startswith(user + ":$2"):
        raise RegistryError("unexpected htpasswd output: %r" % out.stdout)
    return line


def set_htpasswd_user(path: str, user: str, password: str) -> None:
    """Add or replace one user, atomically (write a temp file, then rename over the old one).

    The registry re-reads the file on an mtime change; the rename guarantees it never sees a
    half-written file. Concurrent callers in one process must serialise (the ECR endpoint
    holds its lock around this call).
    """
    line = htpasswd_line(user, password)
    kept = []
    if os.path.exists(path):
        with open(path) as handle:
            kept = [l.rstrip("\n") for l in handle if l.strip() and not l.startswith(user + ":")]
    tmp = "%s.tmp.%d.%s" % (path, os.getpid(), secrets.token_hex(4))
    with open(tmp, "w") as handle:
        handle.write("\n".join(kept + [line]) + "\n")
    os.replace(tmp, path)


def write_config(path: str, port: int, storage: str, crt: str, key: str, htpasswd: str) -> None:
    # JSON is valid YAML, so no YAML library is needed.
    config = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {"filesystem": {"rootdirectory": storage}, "delete": {"enabled": True},
                    "maintenance": {"uploadpurging": {"enabled": False}}},
        "http": {"addr": "127.0.0.1:%d" % port, "secret": secrets.token_hex(16),
                 "tls": {"certificate": crt, "key": key}},
        "auth": {"htpasswd": {"realm": "assetctl-test-registry", "path": htpasswd}},
    }
    with open(path, "w") as handle:
        json.dump(config, handle, indent=1)


def ping_status(url: str, ca_cert: str, timeout: float = 0.5, auth: tuple = None) -> int:
    """HTTP status of GET <url>/v2/ (0 if the connection failed)."""
    context = ssl.create_default_context(cafile=ca_cert)
    request = urllib.request.Request(url + "/v2/")
    if auth:
        token = base64.b64encode(("%s:%s" % auth).encode()).decode()
        request.add_header("Authorization", "Basic " + token)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, OSError):
        return 0


def wait_until(predicate, deadline_seconds: float, process: subprocess.Popen = None, what: str = "condition"):
    """Poll `predicate` until true, failing early if `process` exits and at the deadline.

    Between polls we block in process.wait(timeout) (or a short socket-free pause when there
    is no process): that waits on the process, it is not a sleep used as synchronisation.
    """
    deadline = time.monotonic() + deadline_seconds
    while True:
        if predicate():
            return
        if process is not None and process.poll() is not None:
            raise RegistryError("%s: process %d exited with %s" % (what, process.pid, process.returncode))
        if time.monotonic() >= deadline:
            raise RegistryError("%s: not ready after %.0f s" % (what, deadline_seconds))
        if process is not None:
            try:
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        else:
            time.sleep(0.05)  # poll interval only; the deadline above bounds the loop


def die_with_parent() -> None:
    """preexec_fn: ask the kernel to SIGTERM this child when the spawning thread's process dies.

    Only for non-detached children (test runs): if the test runner is killed, the registry
    and endpoint go with it instead of lingering. Detached (`stack.py up`) children skip it.
    """
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def terminate_pid(pid: int, process: subprocess.Popen = None, grace_seconds: float = 10.0) -> None:
    """SIGTERM one pid we started, SIGKILL it after a grace period, reap it if it is our child."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    if process is not None:
        try:
            process.wait(timeout=grace_seconds)
            return
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace_seconds)
            return
    deadline = time.monotonic() + grace_seconds
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + grace_seconds
        time.sleep(0.05)  # poll interval while waiting for a non-child to exit


def pid_alive(pid: int) -> bool:
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


class Registry:
    """One private docker-registry process. Use as a context manager or start()/stop()."""

    def __init__(self, state_dir: str = None, detach: bool = False, tls_from: "Registry" = None):
        """tls_from: serve with that (started) registry's certificate instead of a new one, so one
        CA (and one cert_dir) is trusted for both: the certificate names IP:127.0.0.1, any port."""
        self.tls_from = tls_from
        self._own_dir = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="assetctl-registry-")
        self.detach = detach          # new session, so it outlives a CLI parent (stack.py up)
        self.process = None
        self.pid = None
        self.port = None
        self.admin_user = "assetctl-admin"
        self.admin_password = secrets.token_urlsafe(18)

    # Paths -------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return "127.0.0.1:%d" % self.port

    @property
    def url(self) -> str:
        return "https://" + self.host

    def _path(self, *names) -> str:
        return os.path.join(self.state_dir, *names)

    # Lifecycle ---------------------------------------------------------------------------
    def start(self) -> "Registry":
        os.makedirs(self.state_dir, exist_ok=True)
        self.storage = self._path("storage")
        os.makedirs(self.storage, exist_ok=True)
        if self.tls_from is not None:
            source = self.tls_from
            self.key, self.cert, self.ca_cert, self.cert_dir = source.key, source.cert, source.ca_cert, source.cert_dir
        else:
            self.key, self.cert, self.ca_cert, self.cert_dir = make_self_signed_cert(self.state_dir)
        self.htpasswd = self._path("htpasswd")
        set_htpasswd_user(self.htpasswd, self.admin_user, self.admin_password)
        self.config_path = self._path("registry.yml")
        self.log_path = self._path("registry.log")
        last_error = None
        for _attempt in range(5):   # the free port may be taken between probe and bind
            self.port = free_port()
            write_config(self.config_path, self.port, self.storage, self.cert, self.key, self.htpasswd)
            try:
                self._spawn_and_wait()
                return self
            except RegistryError as err:
                last_error = err
                self._kill_quietly()
        raise RegistryError("registry did not start: %s\n%s" % (last_error, self.log_tail()))

    def _spawn_and_wait(self) -> None:
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen([REGISTRY_BIN, "serve", self.config_path], stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=self.detach,
                                            preexec_fn=None if self.detach else die_with_parent)
        finally:
            log.close()
        self.pid = self.process.pid
        # Ready = the TLS listener answers the unauthenticated ping with 401.
        wait_until(lambda: ping_status(self.url, self.ca_cert) == 401, READY_DEADLINE_SECONDS,
                   self.process, "docker-registry on %s" % self.host)

    def _kill_quietly(self) -> None:
        if self.process is not None and self.process.poll() is None:
            terminate_pid(self.process.pid, self.process)
        self.process = None
        self.pid = None

    def stop(self, remove_files: bool = None) -> None:
        """Stop the process we started (by pid) and delete the state dir if we created it."""
        if self.process is not None:
            self._kill_quietly()
        elif self.pid is not None and pid_alive(self.pid):
            terminate_pid(self.pid)
        self.pid = None
        if remove_files if remove_files is not None else self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> "Registry":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # Users -------------------------------------------------------------------------------
    def add_user(self, user: str, password: str) -> None:
        """Add or replace an htpasswd user; effective on the next request, no restart."""
        set_htpasswd_user(self.htpasswd, user, password)

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return ""

    def describe(self) -> dict:
        return {"url": self.url, "host": self.host, "port": self.port, "pid": self.pid,
                "ca_cert": self.ca_cert, "cert_dir": self.cert_dir, "htpasswd": self.htpasswd,
                "admin_user": self.admin_user, "admin_password": self.admin_password,
                "storage": self.storage, "log": self.log_path, "config": self.config_path}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", help="directory for cert, htpasswd, storage (default: a temp dir)")
    parser.add_argument("--user", action="append", default=[], metavar="NAME:PASSWORD",
                        help="extra htpasswd user (repeatable)")
    args = parser.parse_args(argv)
    registry = Registry(args.state_dir)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with registry:
        for item in args.user:
            name, _, password = item.partition(":")
            registry.add_user(name, password)
        print(json.dumps(registry.describe(), indent=1), flush=True)
        try:
            while not stop and registry.process.poll() is None:
                try:
                    registry.process.wait(timeout=0.5)
                except subprocess.TimeoutExpired:
                    pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
