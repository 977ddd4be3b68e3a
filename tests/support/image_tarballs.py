"""Deterministic image tarballs and layouts for daemonless publishing tests (pure Python).

Every byte depends only on the arguments: tar entries are sorted, mtime 0, uid/gid 0, no user
names; gzip uses a fixed level and mtime 0. Layer contents come from a seeded generator.

Good sources (checked with skopeo in test_image_tarballs.py):
- write_docker_save_legacy(): `docker save` before docker 25: manifest.json, repositories,
  <v1id>/{VERSION,json,layer.tar}, <config hex>.json; uncompressed layers; several images.
- write_docker_save_25(): `docker save` of docker 25+: the same manifest.json (pointing at
  blobs/sha256/...) AND an OCI layout (oci-layout, index.json, blobs/sha256/...) with
  uncompressed layers; legacy <v1id>/layer.tar paths are symlinks to ../blobs/sha256/<hex>.
- write_oci_layout(): an OCI image layout directory with gzip layers (OCI or Docker media types).
- write_oci_archive(): a tar of such a layout.
- any tar writer takes gzip=True: the whole tarball gzip-compressed (.tar.gz).

Hostile or corrupt ones (write_hostile(path, kind), kinds in HOSTILE_KINDS), each a docker-save
tarball whose manifest.json really uses the bad part, so a reader cannot ignore it:
  dotdot, absolute, symlink_abs, symlink_up, truncated, missing_layer, diffid_mismatch,
  diffid_count.

    image = make_image([layer({"a.txt": b"x"}), random_layer(seed=1, size=200_000)], ["app:v1"])
    written = write_docker_save_legacy("/tmp/x.tar", [image])
    written.skopeo_ref()            # "docker-archive:/tmp/x.tar"
    image.config_digest, image.diff_ids
"""

import hashlib
import io
import json
import os
import random
import sys
import tarfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tarball_writer import (  # noqa: E402  (same directory)
    DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, OCI_CONFIG, OCI_LAYER, OCI_LAYER_GZIP, OCI_MANIFEST,
    REF_NAME, Entry, LegacyLayer, blob_entry, canonical_json, deterministic_gzip, docker_save_legacy_entries as
    legacy_layout, hex_of, oci_layout_entries as layout_entries, sha256, tar_bytes, with_parent_dirs,
    write_directory, write_file)

CONTAINERD_NAME = "io.containerd.image.name"

HOSTILE_KINDS = ("dotdot", "absolute", "symlink_abs", "symlink_up", "truncated", "missing_layer",
                 "diffid_mismatch", "diffid_count")


# ----------------------------------------------------------------------------------------
# Layers and images
# ----------------------------------------------------------------------------------------

@dataclass
class Layer:
    tar: bytes                                   # the uncompressed layer
    _gz: Optional[bytes] = field(default=None, repr=False)

    @property
    def diff_id(self) -> str:
        return sha256(self.tar)

    @property
    def gz(self) -> bytes:
        if self._gz is None:
            self._gz = deterministic_gzip(self.tar)
        return self._gz

    @property
    def gz_digest(self) -> str:
        return sha256(self.gz)


def layer(files: Dict[str, bytes]) -> Layer:
    """A layer holding the given files (sorted, mtime 0)."""
    return Layer(tar_bytes(with_parent_dirs([Entry(name, data) for name, data in files.items()])))


def random_bytes(seed, size: int) -> bytes:
    return random.Random(str(seed)).randbytes(size)


def random_layer(seed, size: int, files: int = 2, compressible: bool = False) -> Layer:
    """A layer of `files` files of about size/files bytes each, seeded. Incompressible
    (random) unless compressible=True (repeated text, gzips to a small fraction)."""
    contents = {}
    per_file = max(1, size // files)
    for i in range(files):
        name = "data/%s/file-%02d.bin" % (seed, i)
        if compressible:
            line = ("layer %s file %d: the quick brown fox jumps over the lazy dog\n" % (seed, i)).encode()
            contents[name] = (line * (per_file // len(line) + 1))[:per_file]
        else:
            contents[name] = random_bytes("%s/%d" % (seed, i), per_file)
    return layer(contents)


@dataclass
class Image:
    layers: List[Layer]
    config: bytes
    repo_tags: List[str] = field(default_factory=list)

    @property
    def config_digest(self) -> str:
        return sha256(self.config)

    @property
    def image_id(self) -> str:
        return self.config_digest

    @property
    def diff_ids(self) -> List[str]:
        return [l.diff_id for l in self.layers]

    @property
    def config_diff_ids(self) -> List[str]:
        return json.loads(self.config)["rootfs"]["diff_ids"]

    def oci_manifest(self, compressed: bool = True, docker_types: bool = False) -> bytes:
        """The image's manifest with gzip layers (compressed=True) or uncompressed ones."""
        if docker_types and not compressed:
            raise ValueError("Docker v2 manifests have no uncompressed layer type here")
        layer_type = (DOCKER_LAYER_GZIP if docker_types else OCI_LAYER_GZIP) if compressed else OCI_LAYER
        return canonical_json({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST if docker_types else OCI_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG if docker_types else OCI_CONFIG,
                       "digest": self.config_digest, "size": len(self.config)},
            "layers": [{"mediaType": layer_type,
                        "digest": l.gz_digest if compressed else l.diff_id,
                        "size": len(l.gz if compressed else l.tar)} for l in self.layers],
        })


def make_image(layers: Sequence[Layer], repo_tags: Sequence[str] = (), cmd: Sequence[str] = ("/hello",),
               diff_ids: Sequence[str] = None, label: str = None) -> Image:
    """A linux/amd64 image config over the layers; diff_ids overrides rootfs.diff_ids (for
    corrupt fixtures); label makes otherwise equal images differ."""
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Cmd": list(cmd), "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Labels": {"assetctl.test": label} if label else None},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids) if diff_ids is not None else
                   [l.diff_id for l in layers]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "assetctl tests layer %d" % i}
                    for i in range(len(layers))],
    }
    return Image(list(layers), canonical_json(config), list(repo_tags))


def sample_image(seed, sizes: Sequence[int] = (64 << 10, 128 << 10), repo_tags: Sequence[str] = (),
                 compressible: bool = False) -> Image:
    """A small image with one seeded random layer per size (sizes in bytes)."""
    layers = [random_layer("%s-%d" % (seed, i), size, compressible=compressible) for i, size in enumerate(sizes)]
    return make_image(layers, repo_tags, label=str(seed))


# ----------------------------------------------------------------------------------------
# What a writer produced
# ----------------------------------------------------------------------------------------

@dataclass
class Written:
    path: str
    format: str            # docker-archive | docker-archive-oci | oci-layout | oci-archive | hostile
    images: List[Image]
    gzip: bool = False
    manifests: List[bytes] = field(default_factory=list)   # OCI manifests stored (layouts), per image
    names: List[str] = field(default_factory=list)         # ref names in index.json, per image

    @property
    def image(self) -> Image:
        """The single (or last) image: what a CDK tarball asset publishes."""
        return self.images[-1]

    def manifest_digest(self, index: int = -1) -> Optional[str]:
        return sha256(self.manifests[index]) if self.manifests else None

    def skopeo_ref(self, name: str = None) -> str:
        """The skopeo source for the file (and image name, where skopeo needs or accepts one)."""
        if self.format in ("docker-archive", "docker-archive-oci"):
            return "docker-archive:%s%s" % (self.path, ":" + name if name else "")
        transport = "oci" if self.format == "oci-layout" else "oci-archive"
        return "%s:%s:%s" % (transport, self.path, name or self.names[-1])


# ----------------------------------------------------------------------------------------
# docker save (legacy)
# ----------------------------------------------------------------------------------------

def _v1_ids(image: Image) -> List[str]:
    """Stable fake v1 layer ids (docker derives them from the chain id and parent)."""
    ids, parent = [], ""
    for i, l in enumerate(image.layers):
        parent = hashlib.sha256(("%s|%s|%s" % (parent, l.diff_id, image.config_digest if i == len(image.layers) - 1
                                               else "")).encode()).hexdigest()
        ids.append(parent)
    return ids


def _v1_json(v1_id: str, parent: str) -> bytes:
    value = {"id": v1_id, "created": "1970-01-01T00:00:00Z", "os": "linux",
             "container_config": {"Cmd": None}}
    if parent:
        value["parent"] = parent
    return canonical_json(value)


def _repositories(images: Sequence[Image]) -> bytes:
    repos: Dict[str, Dict[str, str]] = {}
    for image in images:
        top = _v1_ids(image)[-1] if image.layers else ""
        for ref in image.repo_tags:
            name, _, tag = ref.rpartition(":")
            repos.setdefault(name, {})[tag] = top
    return canonical_json(repos)


def _legacy_layers(image: Image) -> List[LegacyLayer]:
    ids = _v1_ids(image)
    return [LegacyLayer(v1_id, _v1_json(v1_id, ids[i - 1] if i else ""), l.tar)
            for i, (v1_id, l) in enumerate(zip(ids, image.layers))]


def docker_save_legacy_entries(images: Sequence[Image]) -> List[Entry]:
    layers: Dict[str, LegacyLayer] = {}       # by v1 id: images may share layers
    configs: Dict[str, bytes] = {}
    manifest = []
    for image in images:
        image_layers = _legacy_layers(image)
        layers.update((l.v1_id, l) for l in image_layers)
        config_name = hex_of(image.config_digest) + ".json"
        configs[config_name] = image.config
        manifest.append({"Config": config_name, "RepoTags": list(image.repo_tags) or None,
                         "Layers": [l.v1_id + "/layer.tar" for l in image_layers]})
    repositories = _repositories(images) if any(image.repo_tags for image in images) else None
    return legacy_layout(list(layers.values()), configs, json.dumps(manifest).encode(), repositories)


def write_docker_save_legacy(path: str, images: Sequence[Image], gzip: bool = False) -> Written:
    write_file(path, tar_bytes(docker_save_legacy_entries(images)), gzip)
    return Written(path, "docker-archive", list(images), gzip)


# ----------------------------------------------------------------------------------------
# docker save (docker 25+): manifest.json and an OCI layout in one tar
# ----------------------------------------------------------------------------------------

def _docker_25_descriptors(image: Image, oci_manifest: bytes) -> List[dict]:
    """index.json's entries for the image: one per RepoTag, named as docker 25 names them."""
    descriptor = {"mediaType": OCI_MANIFEST, "digest": sha256(oci_manifest), "size": len(oci_manifest),
                  "platform": {"architecture": "amd64", "os": "linux"}}
    if not image.repo_tags:
        return [descriptor]
    named = []
    for ref in image.repo_tags:
        name, _, tag = ref.rpartition(":")
        full = ref if "/" in name else "docker.io/library/" + ref
        named.append(dict(descriptor, annotations={CONTAINERD_NAME: full, REF_NAME: tag}))
    return named


def write_docker_save_25(path: str, images: Sequence[Image], gzip: bool = False,
                         legacy_paths_in_manifest: bool = False) -> Written:
    """As docker 25+ writes it. manifest.json points at blobs/sha256/... (as docker does),
    or with legacy_paths_in_manifest=True at the legacy symlinks (<v1id>/layer.tar,
    <hex>.json), so that a reader has to follow symlinks inside the archive."""
    legacy: Dict[str, Entry] = {}
    blobs, manifest, index, stored = [], [], [], []
    for image in images:
        layer_paths, legacy_layer_paths = [], []
        for l, legacy_layer in zip(image.layers, _legacy_layers(image)):
            v1_id = legacy_layer.v1_id
            layer_blob = blob_entry(l.tar).name
            blobs.append(l.tar)
            layer_paths.append(layer_blob)
            legacy[v1_id + "/layer.tar"] = Entry(v1_id + "/layer.tar", kind="symlink", target="../" + layer_blob)
            legacy[v1_id + "/json"] = Entry(v1_id + "/json", legacy_layer.v1_json)
            legacy[v1_id + "/VERSION"] = Entry(v1_id + "/VERSION", b"1.0")
            legacy_layer_paths.append(v1_id + "/layer.tar")
        config_blob = blob_entry(image.config).name
        legacy_config = hex_of(image.config_digest) + ".json"
        legacy[legacy_config] = Entry(legacy_config, kind="symlink", target=config_blob)
        oci_manifest = image.oci_manifest(compressed=False)
        blobs += [image.config, oci_manifest]
        stored.append(oci_manifest)
        manifest.append({"Config": legacy_config if legacy_paths_in_manifest else config_blob,
                         "RepoTags": list(image.repo_tags) or None,
                         "Layers": legacy_layer_paths if legacy_paths_in_manifest else layer_paths})
        index += _docker_25_descriptors(image, oci_manifest)
    legacy["manifest.json"] = Entry("manifest.json", json.dumps(manifest).encode())
    if any(image.repo_tags for image in images):
        legacy["repositories"] = Entry("repositories", _repositories(images))
    entries = {e.name: e for e in layout_entries(blobs, index)}
    entries.update(legacy)
    write_file(path, tar_bytes(with_parent_dirs(list(entries.values()))), gzip)
    return Written(path, "docker-archive-oci", list(images), gzip, manifests=stored)


# ----------------------------------------------------------------------------------------
# OCI layouts
# ----------------------------------------------------------------------------------------

def oci_layout_entries(images: Sequence[Image], names: Sequence[str], docker_types: bool = False,
                       compressed: bool = True) -> tuple:
    blobs, index, manifests = [], [], []
    for image, name in zip(images, names):
        manifest = image.oci_manifest(compressed=compressed, docker_types=docker_types)
        blobs += [l.gz if compressed else l.tar for l in image.layers] + [image.config, manifest]
        manifests.append(manifest)
        descriptor = {"mediaType": DOCKER_MANIFEST if docker_types else OCI_MANIFEST,
                      "digest": sha256(manifest), "size": len(manifest)}
        if name:
            descriptor["annotations"] = {REF_NAME: name}
        index.append(descriptor)
    return layout_entries(blobs, index), manifests


def _names(images: Sequence[Image], names: Optional[Sequence[str]]) -> List[str]:
    if names is not None:
        return list(names)
    return [image.repo_tags[0] if image.repo_tags else "latest" for image in images]


def write_oci_layout(directory: str, images: Sequence[Image], names: Sequence[str] = None,
                     docker_types: bool = False, compressed: bool = True) -> Written:
    """An OCI layout directory; names are the ref.name annotations (default: each image's first
    RepoTag, else "latest")."""
    names = _names(images, names)
    entries, manifests = oci_layout_entries(images, names, docker_types, compressed)
    write_directory(directory, entries)
    return Written(directory, "oci-layout", list(images), False, manifests, names)


def write_oci_archive(path: str, images: Sequence[Image], names: Sequence[str] = None, gzip: bool = False,
                      docker_types: bool = False) -> Written:
    names = _names(images, names)
    entries, manifests = oci_layout_entries(images, names, docker_types)
    write_file(path, tar_bytes(entries), gzip)
    return Written(path, "oci-archive", list(images), gzip, manifests, names)


# ----------------------------------------------------------------------------------------
# Hostile and corrupt tarballs
# ----------------------------------------------------------------------------------------

def write_hostile(path: str, kind: str, seed: str = "hostile") -> Written:
    """A docker-save tarball that must be refused; see HOSTILE_KINDS and the module doc."""
    image = sample_image(seed, sizes=(16 << 10,), repo_tags=["hostile/%s:v1" % kind])
    good = docker_save_legacy_entries([image])
    by_name = {e.name: e for e in good}
    (item,) = json.loads(by_name["manifest.json"].data)
    layer_path = item["Layers"][0]

    def set_manifest(**changes):
        by_name["manifest.json"] = Entry("manifest.json", json.dumps([dict(item, **changes)]).encode())

    if kind in ("dotdot", "absolute"):
        # The layer is stored outside the archive root, and manifest.json uses it there.
        bad = "../evil" if kind == "dotdot" else "/etc/x"
        by_name[bad] = Entry(bad, by_name.pop(layer_path).data)
        set_manifest(Layers=[bad])
    elif kind in ("symlink_abs", "symlink_up"):
        # The layer path the manifest names is a symlink leaving the archive.
        by_name[layer_path] = Entry(layer_path, kind="symlink",
                                    target="/etc/passwd" if kind == "symlink_abs" else "../../x")
    elif kind == "missing_layer":
        del by_name[layer_path]
    elif kind == "diffid_mismatch":
        # Same size, one byte changed in the last file's data: rootfs.diff_ids no longer match.
        data = bytearray(by_name[layer_path].data)
        tar = tarfile.open(fileobj=io.BytesIO(bytes(data)))
        member = [m for m in tar.getmembers() if m.isfile()][-1]
        data[member.offset_data] ^= 0xFF
        by_name[layer_path] = Entry(layer_path, bytes(data))
    elif kind == "diffid_count":
        config = json.loads(image.config)
        config["rootfs"]["diff_ids"].append(sha256(b"no such layer"))
        new_config = canonical_json(config)
        config_name = hex_of(sha256(new_config)) + ".json"
        del by_name[item["Config"]]
        by_name[config_name] = Entry(config_name, new_config)
        set_manifest(Config=config_name)
    elif kind != "truncated":
        raise ValueError("unknown hostile kind %r (one of %s)" % (kind, ", ".join(HOSTILE_KINDS)))
    data = tar_bytes(list(by_name.values()))
    if kind == "truncated":
        # Cut in the middle of the layer's bytes (the rest, manifest.json included, is lost).
        member = tarfile.open(fileobj=io.BytesIO(data)).getmember(layer_path)
        data = data[:member.offset_data + member.size // 2]
    write_file(path, data)
    return Written(path, "hostile", [image])


def main(argv=None) -> int:
    """Writes one of everything into a directory (for looking at them by hand)."""
    import argparse
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory")
    args = parser.parse_args(argv)
    out = args.directory
    one = sample_image("one", repo_tags=["app:v1"])
    two = sample_image("two", repo_tags=["app:v2"])
    results = [write_docker_save_legacy(os.path.join(out, "legacy.tar"), [one, two]),
               write_docker_save_legacy(os.path.join(out, "legacy.tar.gz"), [one], gzip=True),
               write_docker_save_25(os.path.join(out, "docker25.tar"), [one, two]),
               write_oci_layout(os.path.join(out, "layout"), [one, two]),
               write_oci_archive(os.path.join(out, "oci.tar"), [one])]
    results += [write_hostile(os.path.join(out, "hostile-%s.tar" % kind), kind) for kind in HOSTILE_KINDS]
    for written in results:
        print(written.format, written.path, [i.config_digest for i in written.images])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
