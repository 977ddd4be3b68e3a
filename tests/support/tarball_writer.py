"""The one deterministic tar writer of the tests, the fixtures and the bench (pure Python).

Every tar entry it writes has mtime 0, uid/gid 0 and empty owner names; modes come from the
entry's kind (file 0644, directory 0755, symlink 0777) unless an entry sets its own; entries
are written sorted by name or, with sort=False, exactly in the order given; JSON goes through
canonical_json() and gzip through deterministic_gzip() (fixed level, mtime 0). So the same
input gives the same bytes on every run and machine.

On top of that, the two image containers the tests write:
- docker_save_legacy_entries(): `docker save` before docker 25 (<v1 id>/{VERSION,json,layer.tar},
  the config, manifest.json, repositories), in the order docker writes them;
- oci_layout_entries(): an OCI image layout (blobs/sha256/<hex>, index.json, oci-layout),
  written as a directory with write_directory() or as a tar with tar_bytes().

An entry's data may be a function that writes the bytes to the file it is given (TarWriter
then patches the size into the header afterwards), so a layer of a GiB never sits in memory:

    with open(path, "wb") as raw, TarWriter(raw, tarfile.USTAR_FORMAT) as tar:
        tar.add(Entry("layer.tar", write_layer_into))   # write_layer_into(out) writes the layer
"""

import gzip as gzip_module
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from typing import BinaryIO, Callable, Dict, Iterable, List, Optional, Sequence, Union

GZIP_LEVEL = 6
EPOCH = "1970-01-01T00:00:00Z"         # the "created" time of every image config written here
FILE, DIR, SYMLINK = "file", "dir", "symlink"
DEFAULT_MODES = {FILE: 0o644, DIR: 0o755, SYMLINK: 0o777}
TAR_TYPES = {FILE: tarfile.REGTYPE, DIR: tarfile.DIRTYPE, SYMLINK: tarfile.SYMTYPE}
BLOCK = tarfile.BLOCKSIZE

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYOUT_FILE = b'{"imageLayoutVersion":"1.0.0"}'
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
REF_NAME = "org.opencontainers.image.ref.name"

# Writes an entry's bytes into the (non-seekable, append-only) file it is given.
Producer = Callable[[BinaryIO], None]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hex_of(digest: str) -> str:
    return digest.split(":", 1)[1]


def canonical_json(value) -> bytes:
    """Sorted keys, no spaces: one byte string per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def deterministic_gzip(data: bytes) -> bytes:
    return gzip_module.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


# ----------------------------------------------------------------------------------------
# Entries and the writer
# ----------------------------------------------------------------------------------------

@dataclass
class Entry:
    """One tar entry: a file (data: bytes, or a Producer), a directory, or a symlink (target)."""
    name: str
    data: Union[bytes, Producer] = b""
    kind: str = FILE
    target: str = ""
    mode: Optional[int] = None      # None: DEFAULT_MODES[kind]


def tarinfo(name: str, kind: str = FILE, size: int = 0, mode: Optional[int] = None,
            target: str = "") -> tarfile.TarInfo:
    """A header with nothing in it that depends on who, where or when."""
    info = tarfile.TarInfo(name)
    info.type = TAR_TYPES[kind]
    info.size = size if kind == FILE else 0
    info.mode = DEFAULT_MODES[kind] if mode is None else mode
    info.linkname = target
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


class _Counting:
    """Append-only view of a file that counts what goes through it."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.length = 0

    def write(self, data) -> int:
        self.out.write(data)
        self.length += len(data)
        return len(data)

    def tell(self) -> int:
        return self.length


class TarWriter:
    """A deterministic tar on `fileobj` (PAX format unless told; USTAR refuses long names).

    Names are written exactly as given (no stripping of '/' or '..'), which the hostile
    fixtures rely on. A Producer entry needs a seekable fileobj."""

    def __init__(self, fileobj: BinaryIO, format: int = tarfile.PAX_FORMAT):
        self.fileobj = fileobj
        self.format = format
        self.tar = tarfile.open(fileobj=fileobj, mode="w", format=format)

    def add(self, entry: Entry) -> None:
        if entry.kind == FILE and callable(entry.data):
            self._add_produced(entry)
            return
        data = entry.data if entry.kind == FILE else b""
        info = tarinfo(entry.name, entry.kind, len(data), entry.mode, entry.target)
        self.tar.addfile(info, io.BytesIO(data) if entry.kind == FILE else None)

    def add_all(self, entries: Iterable[Entry], sort: bool = True) -> None:
        for entry in (sorted(entries, key=lambda e: e.name) if sort else entries):
            self.add(entry)

    def _add_produced(self, entry: Entry) -> None:
        """Header with size 0, the producer's bytes, then the header again with their size."""
        header_at = self.fileobj.tell()
        info = tarinfo(entry.name, FILE, 0, entry.mode)
        header = info.tobuf(self.format)
        self.fileobj.write(header)
        counting = _Counting(self.fileobj)
        entry.data(counting)
        end = self.fileobj.tell()
        info.size = counting.length
        if len(info.tobuf(self.format)) != len(header):
            raise ValueError("tar entry %s: its size needs a longer header" % entry.name)
        self.fileobj.seek(header_at)
        self.fileobj.write(info.tobuf(self.format))
        self.fileobj.seek(end)
        if counting.length % BLOCK:
            self.fileobj.write(b"\0" * (BLOCK - counting.length % BLOCK))
        self.tar.offset = self.fileobj.tell()      # keep tarfile's idea of the position in step
        self.tar.members.append(info)

    def close(self) -> None:
        self.tar.close()

    def __enter__(self) -> "TarWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def tar_bytes(entries: Sequence[Entry], sort: bool = True, format: int = tarfile.PAX_FORMAT) -> bytes:
    """The tar of the entries as bytes: sorted by name unless sort=False."""
    buf = io.BytesIO()
    with TarWriter(buf, format) as tar:
        tar.add_all(entries, sort)
    return buf.getvalue()


def ustar_bytes(entries: Sequence[Entry]) -> bytes:
    """USTAR, in the order given: the committed fixtures' tarballs (tests/fixtures/*/make-tarball.py)."""
    return tar_bytes(entries, sort=False, format=tarfile.USTAR_FORMAT)


def with_parent_dirs(entries: List[Entry]) -> List[Entry]:
    """Adds a directory entry for every parent folder not listed (as docker save and tar -c
    write them), after the given entries."""
    names = {e.name for e in entries}
    dirs = set()
    for entry in entries:
        parts = entry.name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return entries + [Entry(d, kind=DIR) for d in sorted(dirs) if d and d not in names and d not in ("..", "")]


def write_file(path: str, data: bytes, gzip: bool = False) -> None:
    """Writes data (gzip-compressed with gzip=True) to path through a temporary file, so a
    reader never sees half of it; creates the parent folders."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as handle:
        handle.write(deterministic_gzip(data) if gzip else data)
    os.replace(tmp, path)


def write_directory(directory: str, entries: Sequence[Entry]) -> None:
    """The entries as files and folders below directory (files and folders only)."""
    for entry in entries:
        target = os.path.join(directory, entry.name)
        if entry.kind == DIR:
            os.makedirs(target, exist_ok=True)
        elif entry.kind == FILE:
            write_file(target, entry.data)
        else:
            raise ValueError("write_directory: %s is a %s" % (entry.name, entry.kind))


# ----------------------------------------------------------------------------------------
# docker save (legacy) and OCI layouts
# ----------------------------------------------------------------------------------------

@dataclass
class LegacyLayer:
    """One layer of a legacy `docker save`: its v1 id, the <v1 id>/json document and the
    uncompressed layer tar (bytes, or a Producer that writes it)."""
    v1_id: str
    v1_json: bytes
    tar: Union[bytes, Producer]


def legacy_layer_entries(layer: LegacyLayer) -> List[Entry]:
    """<v1 id>/, <v1 id>/VERSION, <v1 id>/json and <v1 id>/layer.tar, in docker's order."""
    return [Entry(layer.v1_id, kind=DIR), Entry(layer.v1_id + "/VERSION", b"1.0"),
            Entry(layer.v1_id + "/json", layer.v1_json), Entry(layer.v1_id + "/layer.tar", layer.tar)]


def legacy_top_entries(configs: Dict[str, bytes], manifest: bytes, repositories: Optional[bytes] = None) -> List[Entry]:
    """What follows the layers: each config (file name -> bytes), manifest.json and (if
    given) repositories."""
    entries = [Entry(name, data) for name, data in configs.items()] + [Entry("manifest.json", manifest)]
    return entries + ([Entry("repositories", repositories)] if repositories is not None else [])


def docker_save_legacy_entries(layers: Sequence[LegacyLayer], configs: Dict[str, bytes], manifest: bytes,
                               repositories: Optional[bytes] = None) -> List[Entry]:
    """A legacy `docker save` in docker's order: the layers' entries, then the top-level files.
    The JSON documents are the caller's: their serialisation is part of each fixture's bytes.
    (A writer that learns the config only after streaming the layers calls the two halves.)"""
    entries = [entry for layer in layers for entry in legacy_layer_entries(layer)]
    return entries + legacy_top_entries(configs, manifest, repositories)


def blob_entry(data: bytes) -> Entry:
    """blobs/sha256/<hex> of data, as in an OCI layout."""
    return Entry("blobs/sha256/" + hashlib.sha256(data).hexdigest(), data)


def oci_index(descriptors: Sequence[dict]) -> bytes:
    return canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(descriptors)})


def oci_layout_entries(blobs: Iterable[bytes], descriptors: Sequence[dict]) -> List[Entry]:
    """An OCI image layout: one blob per distinct data, index.json over the descriptors, and
    oci-layout; with the blobs/ and blobs/sha256/ folders."""
    entries = {entry.name: entry for entry in map(blob_entry, blobs)}
    entries["index.json"] = Entry("index.json", oci_index(descriptors))
    entries["oci-layout"] = Entry("oci-layout", OCI_LAYOUT_FILE)
    return with_parent_dirs(list(entries.values()))
