#!/usr/bin/python3
"""The images of bench/engine.sh: one generated base shared by 4 image assets, made offline.

    /usr/bin/python3 bench/lib/engine_images.py OUTDIR [--scale 1.0]
        -> writes OUTDIR/rootfs.tar, OUTDIR/base/ (Dockerfile + 2 COPY folders) and
           OUTDIR/contexts/<asset>/ (Dockerfile + 1-3 COPY folders each); prints a JSON plan

As a module (engine_measure.py): write_all(outdir, scale) -> plan; change_top_layer(plan, nonce).

The base (about 150 MiB at --scale 1, in 3 layers): a root file system for `docker import`
(busybox plus generated files) and two `COPY` layers on top of it, built as BASE_IMAGE. Every
asset is `FROM BASE_IMAGE` plus 1-3 `COPY` layers of its own, 20-80 MiB each (ASSETS).
--scale multiplies every size (0.1: layers 10x smaller), with at least 64 KiB per layer.

File contents come from gen_image_tarball.Layer (deterministic SHAKE-256 streams; text, binary
and incompressible files, gzip -1 ratio about 2.6), keyed by a layer index per folder, so the
same scale gives the same bytes on every machine. change_top_layer rewrites one small file of the
changed asset's top layer (CHANGED_ASSET): its `COPY` layer changes as a whole (new diff id,
same size), as a code change in a real application's top layer does.
"""

import argparse
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "support"))
import gen_image_tarball as gen  # noqa: E402
from dockerd import busybox_rootfs_tar  # noqa: E402

GENERATOR = 1                       # bump when the bytes written for the same scale change
MIB = 1 << 20
MIN_LAYER = 64 * 1024
ROOTFS_IMAGE = "local/engine-rootfs:g%d" % GENERATOR
BASE_IMAGE = "local/engine-base:g%d" % GENERATOR
BASE_LAYERS = [("rootfs", 60), ("base-copy1", 50), ("base-copy2", 40)]    # MiB at scale 1
ASSETS = {                                                                  # own layers, MiB
    "api": [40],
    "web": [60, 30],
    "worker": [80, 20, 25],
    "jobs": [45, 35],
}
CHANGED_ASSET = "web"
CHANGE_FILE = "build-id.txt"
LAYER_INDEX_BASE = 5000             # gen_image_tarball.Layer indices: 5000 + n (no overlap with tarball.sh)


def scaled(mib: float, scale: float) -> int:
    return max(MIN_LAYER, int(mib * scale * MIB) // 4096 * 4096)


def write_folder(path: str, index: int, size: int) -> int:
    """Fill path with one generated layer's files; returns the bytes written."""
    layer = gen.Layer(LAYER_INDEX_BASE + index, size)
    written = 0
    for name, kind, length in layer.files():
        target = os.path.join(path, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        data = layer.content(name, kind, length)
        with open(target, "wb") as handle:
            handle.write(data)
        os.chmod(target, 0o755 if kind == "binary" else 0o644)
        written += len(data)
    return written


def write_rootfs_tar(outdir: str, size: int) -> str:
    """busybox (from tests/support/dockerd.py) plus generated files, as a tar for `docker import`."""
    folder = os.path.join(outdir, "rootfs")
    write_folder(folder, 0, size)
    path = os.path.join(outdir, "rootfs.tar")
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as out:
        with tarfile.open(fileobj=io.BytesIO(busybox_rootfs_tar())) as busybox:
            for member in busybox.getmembers():
                out.addfile(member, busybox.extractfile(member) if member.isfile() else None)
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                full = os.path.join(dirpath, name)
                info = out.gettarinfo(full, os.path.relpath(full, folder))
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                if info.isfile():
                    with open(full, "rb") as handle:
                        out.addfile(info, handle)
                else:
                    out.addfile(info)
    shutil.rmtree(folder)
    return path


def dockerfile(base: str, folders: list, prefix: str, cmd: bool) -> str:
    lines = ["FROM %s" % base]
    lines += ["COPY %s/ %s/%s/" % (folder, prefix, folder) for folder in folders]
    if cmd:
        lines.append('CMD ["/bin/sh"]')
    return "\n".join(lines) + "\n"


def write_context(path: str, base: str, layers: list, prefix: str) -> list:
    """A build context: Dockerfile + one folder per (folder name, layer index, size)."""
    os.makedirs(path, exist_ok=True)
    for folder, index, size in layers:
        write_folder(os.path.join(path, folder), index, size)
    with open(os.path.join(path, "Dockerfile"), "w") as handle:
        handle.write(dockerfile(base, [f for f, _, _ in layers], prefix, cmd=True))
    return [{"folder": f, "bytes": s} for f, _, s in layers]


def write_all(outdir: str, scale: float) -> dict:
    """Everything the bench builds, under outdir (made fresh). Returns the plan (JSON-able)."""
    if os.path.exists(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    rootfs_size = scaled(BASE_LAYERS[0][1], scale)
    plan = {"generator": GENERATOR, "scale": scale, "rootfs_tar": write_rootfs_tar(outdir, rootfs_size),
            "rootfs_image": ROOTFS_IMAGE, "base_image": BASE_IMAGE, "changed_asset": CHANGED_ASSET}
    base_layers = [(name, i + 1, scaled(mib, scale)) for i, (name, mib) in enumerate(BASE_LAYERS[1:])]
    plan["base_context"] = os.path.join(outdir, "base")
    plan["base_layers"] = [{"folder": "rootfs", "bytes": rootfs_size}] + write_context(
        plan["base_context"], ROOTFS_IMAGE, base_layers, "/usr/share/engine-base")
    plan["contexts"] = os.path.join(outdir, "contexts")
    plan["assets"] = {}
    index = 10
    for name, sizes in ASSETS.items():
        layers = []
        for n, mib in enumerate(sizes):
            layers.append(("layer%d" % (n + 1), index, scaled(mib, scale)))
            index += 1
        plan["assets"][name] = write_context(os.path.join(plan["contexts"], name), BASE_IMAGE, layers,
                                             "/srv/" + name)
    plan["base_bytes"] = sum(layer["bytes"] for layer in plan["base_layers"])
    plan["asset_bytes"] = {name: sum(layer["bytes"] for layer in layers) for name, layers in plan["assets"].items()}
    return plan


def change_top_layer(plan: dict, nonce: str) -> str:
    """Rewrite one small file in CHANGED_ASSET's top COPY folder; returns the file changed."""
    top = plan["assets"][plan["changed_asset"]][-1]["folder"]
    path = os.path.join(plan["contexts"], plan["changed_asset"], top, CHANGE_FILE)
    with open(path, "w") as handle:
        handle.write("build %s %s\n" % (nonce, hashlib.sha256(nonce.encode()).hexdigest()))
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 10:
        parser.error("--scale wants a number in (0, 10]")
    print(json.dumps(write_all(args.outdir, args.scale), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
