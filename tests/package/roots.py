#!/usr/bin/python3
"""Debian roots for the package tests: made once per suite with debootstrap, kept as tarballs.

A root is `debootstrap --variant=minbase SUITE` from the Debian mirror this machine's apt uses
(no compiler in it), with its package lists already fetched. Making one takes minutes, so the
tarball is kept in a machine cache like apt's:
    /var/cache/assetctl-tests/<suite>-<mirror key>.tar
keyed by suite, mirror host and the mirror snapshot named in /etc/apt/sources.list (the
`snapshot.debian.org/archive/debian/<timestamp>` comment), made here when absent. Every test
extracts a fresh copy (Root), so no test sees another's changes. Package downloads inside the
roots go to /var/cache/assetctl-tests/apt-archives-<key>/ (bind-mounted over the root's
/var/cache/apt/archives), so dependencies are fetched once per machine.

CLI: roots.py ensure SUITE...   makes the cached tarballs that are missing (prints their paths)
"""
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CACHE_DIR = Path(os.environ.get("ASSETCTL_TEST_CACHE", "/var/cache/assetctl-tests"))
SOURCES = [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEBOOTSTRAP = "/usr/sbin/debootstrap"


def _sources_text():
    return "\n".join(p.read_text() for p in SOURCES if p.exists())


def mirror():
    """The Debian mirror apt uses here (the URIs of the `debian` archive), else deb.debian.org."""
    for match in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s*)?)(\S+/debian)/?\s*$",
                             _sources_text(), re.MULTILINE):
        return match.group(1)
    return DEFAULT_MIRROR


def snapshot():
    """The snapshot timestamp named in apt's sources (snapshot.debian.org/archive/debian/T), or
    'live' when none is named."""
    match = re.search(r"snapshot\.debian\.org/archive/debian/(\w+)", _sources_text())
    return match.group(1) if match else "live"


def cache_key(suite):
    host = re.sub(r"[^A-Za-z0-9.]+", "_", mirror().split("://", 1)[-1]).strip("_")
    return "%s-%s-%s" % (suite, host, snapshot())


def tarball_path(suite):
    return CACHE_DIR / ("%s.tar" % cache_key(suite))


def apt_archives(suite):
    path = CACHE_DIR / ("apt-archives-%s" % cache_key(suite))
    (path / "partial").mkdir(parents=True, exist_ok=True)
    return path


def missing_tools():
    """Why roots cannot be made or entered here (not root, no debootstrap), else None."""
    if os.geteuid() != 0:
        return "the package tests need root (debootstrap, chroot, mounts)"
    if not os.path.exists(DEBOOTSTRAP):
        return "%s is not installed (scripts/install-deps.sh installs debootstrap)" % DEBOOTSTRAP
    return None


def ensure_tarball(suite):
    """The cached tarball of `suite`, made (debootstrap, apt-get update, tar) when absent."""
    target = tarball_path(suite)
    if target.exists():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # tests running at once make each root only once
        if target.exists():
            return target
        return _make_tarball(suite, target)


def _make_tarball(suite, target):
    work = Path(tempfile.mkdtemp(prefix="root-%s-" % suite, dir=CACHE_DIR))
    try:
        root = work / "root"
        subprocess.run([DEBOOTSTRAP, "--variant=minbase", suite, str(root), mirror()],
                       check=True, stdout=subprocess.DEVNULL)
        with mounted_system(root):
            chroot(root, ["apt-get", "update", "-qq"])
        partial = target.with_suffix(".tar.partial")
        subprocess.run(["tar", "-C", str(root), "-cf", str(partial), "."], check=True)
        os.replace(partial, target)  # complete or absent, never half written
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def chroot(root, argv, env=None, check=True, timeout=600):
    """Runs argv inside `root` (a clean environment: PATH, HOME, LANG, plus `env`)."""
    full_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME": "/root", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
    full_env.update(env or {})
    return subprocess.run(["chroot", str(root), *argv], env=full_env, capture_output=True,
                          text=True, check=check, timeout=timeout)


class _Mounts:
    """Mounts made inside a root, unmounted in reverse order (only those made here)."""

    def __init__(self, root):
        self.root = Path(root)
        self.made = []

    def bind(self, source, inside, read_only=False):
        target = self.root / inside.lstrip("/")
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "--bind", str(source), str(target)], check=True)
        self.made.append(target)
        if read_only:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)

    def bind_file(self, source, inside):
        target = self.root / inside.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
        subprocess.run(["mount", "--bind", "-o", "ro", str(source), str(target)], check=True)
        self.made.append(target)

    def proc(self):
        target = self.root / "proc"
        target.mkdir(exist_ok=True)
        subprocess.run(["mount", "-t", "proc", "proc", str(target)], check=True)
        self.made.append(target)

    def unmount_all(self):
        for target in reversed(self.made):
            subprocess.run(["umount", "-l", str(target)], check=False)
        self.made.clear()


class mounted_system:
    """/proc and /dev inside `root` while the block runs."""

    def __init__(self, root):
        self.mounts = _Mounts(root)

    def __enter__(self):
        self.mounts.proc()
        self.mounts.bind("/dev", "/dev")
        return self.mounts

    def __exit__(self, *exc):
        self.mounts.unmount_all()


class Root:
    """A fresh copy of the cached root of `suite` in a temporary folder, with /proc, /dev and the
    shared apt archive cache mounted; everything is unmounted and removed on exit."""

    def __init__(self, suite):
        self.suite = suite
        self.path = None
        self.mounts = None

    def __enter__(self):
        tarball = ensure_tarball(self.suite)
        self.path = Path(tempfile.mkdtemp(prefix="assetctl-%s-" % self.suite))
        subprocess.run(["tar", "-C", str(self.path), "-xf", str(tarball)], check=True)
        self.mounts = _Mounts(self.path)
        self.mounts.proc()
        self.mounts.bind("/dev", "/dev")
        self.mounts.bind(apt_archives(self.suite), "/var/cache/apt/archives")
        return self

    def __exit__(self, *exc):
        self.mounts.unmount_all()
        still_mounted = [line for line in Path("/proc/mounts").read_text().splitlines()
                         if " %s/" % self.path in line]
        if still_mounted:  # never delete through a live mount
            raise RuntimeError("mounts left under %s: %s" % (self.path, still_mounted))
        shutil.rmtree(self.path)

    def run(self, argv, env=None, check=True, timeout=600):
        return chroot(self.path, argv, env=env, check=check, timeout=timeout)

    def copy_in(self, source, inside):
        """Copies a file or folder into the root; returns its path as seen inside."""
        target = self.path / inside.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if Path(source).is_dir():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target)
        return inside


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "ensure":
        sys.exit(__doc__)
    for name in sys.argv[2:]:
        print(ensure_tarball(name))
