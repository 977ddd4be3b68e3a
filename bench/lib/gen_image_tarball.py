#!/usr/bin/python3
"""Write a deterministic `docker save` image tarball (legacy layout) for bench/tarball.sh.

    /usr/bin/python3 bench/lib/gen_image_tarball.py OUT.tar [--size-mib 256] [--layers 4] [--seed 1]
    /usr/bin/python3 bench/lib/gen_image_tarball.py --cached OUTDIR [--size-mib 256] ...
        -> (re)uses OUTDIR/image-<size>mib-<layers>l-s<seed>-g<GENERATOR>.tar, prints its info JSON

The archive is what docker 20.10's `docker save` writes: `<v1 id>/VERSION`, `<v1 id>/json`,
`<v1 id>/layer.tar` (uncompressed), `<config sha256>.json` (with `rootfs.diff_ids` = the sha256
of each layer.tar), `manifest.json` (`[{Config, RepoTags, Layers}]`) and `repositories`.

Contents. Every layer is a tar of files (mtime 0, uid/gid 0, sorted, USTAR), whose bytes come
from SHAKE-256 streams keyed by (seed, layer, file), so the output is the same bit for bit on
every machine with the same generator version (GENERATOR below; bump it when the output
changes). The layers hold --size-mib MiB of file content together (plus tar headers), split
40/30/22/8 %. Three kinds of file, to compress roughly like real software (the target is
2.5-3.5x with `gzip -1`; the measured ratio is printed and stored in the info JSON):
  * text   - source code / config / docs: lines built from a generated vocabulary of
             identifiers and keywords, drawn with a skewed distribution from a per-layer pool
  * binary - executables / libraries: short "instruction" snippets from a per-layer pool,
             interleaved with random immediates, symbol-table-like strings and zero padding
  * random - already-compressed data (images, archives): incompressible
The info JSON (OUT.tar.json) records the config digest, the diff_ids, layer sizes, the
gzip -1 ratio of the layers and the parameters; bench/tarball.sh checks pushes against it.
"""

import argparse
import hashlib
import json
import os
import sys
import tarfile
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support"))
from tarball_writer import DIR, Entry, LegacyLayer, TarWriter, legacy_layer_entries, legacy_top_entries  # noqa: E402

GENERATOR = 1                   # bump when the bytes written for the same parameters change
MIB = 1 << 20
LAYER_SHARES = [0.40, 0.30, 0.22, 0.08]
IMAGE_NAME = "assetctl-bench/tarball"
# Share of the content bytes per kind (before rounding to whole files).
KIND_WEIGHTS = (("text", 0.45), ("binary", 0.45), ("random", 0.10))
MIN_FILE, MAX_FILE = 2 * 1024, 3 * MIB
CREATED = "2024-01-01T00:00:00Z"


# --- deterministic randomness ---------------------------------------------------------------
def stream(*key, size: int) -> bytes:
    """`size` bytes of SHAKE-256 output for this key (defined by FIPS 202: same everywhere)."""
    return hashlib.shake_256(("assetctl-bench/%d/" % GENERATOR + "/".join(map(str, key))).encode()).digest(size)


class Draw:
    """Small integers from a SHAKE stream (for the few per-file decisions)."""

    def __init__(self, *key):
        self.buf = stream(*key, size=1 << 16)
        self.pos = 0

    def u32(self) -> int:
        if self.pos + 4 > len(self.buf):
            self.buf = hashlib.shake_256(self.buf[-32:]).digest(1 << 16)
            self.pos = 0
        value = int.from_bytes(self.buf[self.pos:self.pos + 4], "little")
        self.pos += 4
        return value

    def below(self, n: int) -> int:
        return self.u32() % n

    def unit(self) -> float:
        return self.u32() / 4294967296.0


def skew_table(pool: list, draw_key) -> list:
    """65536 entries indexing `pool` with a skewed distribution (low indices are frequent):
    entry v -> pool[(v*v*len(pool)) >> 32]. Content is built 16 bits at a time through it."""
    n = len(pool)
    return [pool[(v * v * n) >> 32] for v in range(65536)]


def compose(table: list, size: int, *key) -> bytes:
    """About `size` bytes: table entries picked by consecutive 16-bit words of a stream."""
    avg = max(1, sum(len(table[i]) for i in range(0, 65536, 257)) // len(range(0, 65536, 257)))
    out = []
    have = 0
    round_ = 0
    while have < size:
        words = memoryview(stream(*key, round_, size=2 * ((size - have) // avg + 64))).cast("H")
        chunk = b"".join(map(table.__getitem__, words))
        out.append(chunk)
        have += len(chunk)
        round_ += 1
    return b"".join(out)[:size]


# --- the content pools ------------------------------------------------------------------------
SYLLABLES = ["ar", "be", "co", "de", "en", "fi", "ge", "ha", "in", "jo", "ka", "le", "mi", "no", "or", "pa",
             "qu", "re", "si", "te", "un", "va", "we", "xi", "yo", "za", "st", "tr", "ch", "sh", "th", "lo"]
KEYWORDS = ["if", "else", "for", "while", "return", "def", "class", "import", "from", "const", "let",
            "static", "void", "int", "struct", "self", "None", "true", "false", "null", "std::string",
            "auto", "case", "break", "yield", "async", "await", "try", "except", "public", "private"]
PUNCT = ["(", ")", ", ", ": ", " = ", " == ", "->", ".", "[", "]", " {", "}", ";", " + ", " * ", "\"", "'", " # "]


def text_pool(layer: int, lines: int = 1500) -> list:
    d = Draw("text-pool", layer)
    words = []
    for _ in range(1500):
        word = "".join(SYLLABLES[d.below(len(SYLLABLES))] for _ in range(1 + d.below(4)))
        if d.below(3) == 0:
            word += "_" + "".join(SYLLABLES[d.below(len(SYLLABLES))] for _ in range(1 + d.below(3)))
        words.append(word)
    pool = []
    for _ in range(lines):
        indent = "    " * d.below(4)
        parts = []
        for _ in range(2 + d.below(9)):
            r = d.below(10)
            if r < 3:
                parts.append(KEYWORDS[d.below(len(KEYWORDS))] + " ")
            elif r < 7:
                # frequent identifiers are low indices (skewed), as in real code
                parts.append(words[(d.below(1500) * d.below(1500) * d.below(1500)) // 1500 ** 2] + " ")
            elif r < 9:
                parts.append(PUNCT[d.below(len(PUNCT))])
            else:
                parts.append(str(d.below(100)))
        pool.append((indent + "".join(parts) + "\n").encode())
    return pool


def binary_pool(layer: int, snippets: int = 3000) -> list:
    d = Draw("binary-pool", layer)
    opcodes = [stream("opcode", layer, i, size=1 + d.below(4)) for i in range(160)]
    pool = []
    for i in range(snippets):
        kind = d.below(10)
        if kind < 5:        # code: a few opcodes with small operands and some random immediates
            parts = []
            for _ in range(2 + d.below(5)):
                parts.append(opcodes[(d.below(160) * d.below(160)) // 160])
                r = d.below(4)
                if r == 0 and d.below(3) == 0:
                    parts.append(stream("imm", layer, i, len(parts), size=4))
                elif r <= 1:
                    parts.append(bytes([d.below(64), 0, 0, 0]))
            pool.append(b"".join(parts))
        elif kind < 7:      # table records: small ints, zero padding, a pointer-ish value
            rec = (d.below(4096)).to_bytes(4, "little") + b"\0" * (4 * d.below(3)) + \
                (0x400000 + 16 * d.below(1 << 16)).to_bytes(8, "little")
            pool.append(rec)
        elif kind < 8:      # symbol names
            pool.append(("_ZN%d%s%s\0" % (d.below(20), SYLLABLES[d.below(32)] * (1 + d.below(3)),
                                           SYLLABLES[d.below(32)])).encode())
        else:               # padding
            pool.append(b"\0" * (8 << d.below(4)))
    return pool


class Layer:
    def __init__(self, index: int, size: int):
        self.index = index
        self.size = size
        self._tables = {}

    def table(self, kind: str) -> list:
        if kind not in self._tables:
            pool = text_pool(self.index) if kind == "text" else binary_pool(self.index)
            self._tables[kind] = skew_table(pool, (kind, self.index))
        return self._tables[kind]

    def files(self):
        """[(path, kind, size)] summing to self.size; sizes log-uniform in [MIN_FILE, MAX_FILE]."""
        d = Draw("files", self.index)
        ext = {"text": [".py", ".h", ".txt", ".conf", ".js"], "binary": [".so", "", ".bin"],
               "random": [".png", ".gz", ".jar"]}
        out = []
        left = self.size
        n = 0
        while left > 0:
            size = int(MIN_FILE * (MAX_FILE / MIN_FILE) ** d.unit())
            size = min(size, left)
            if left - size < MIN_FILE:
                size = left
            x = d.unit()
            acc = 0.0
            kind = KIND_WEIGHTS[-1][0]
            for name, weight in KIND_WEIGHTS:
                acc += weight
                if x < acc:
                    kind = name
                    break
            directory = "usr/lib/pkg%02d/%s" % (self.index, ["bin", "lib", "share", "etc"][d.below(4)])
            ext_choice = ext[kind][d.below(len(ext[kind]))]
            out.append(("%s/f%05d%s" % (directory, n, ext_choice), kind, size))
            left -= size
            n += 1
        return sorted(out)

    def content(self, name: str, kind: str, size: int) -> bytes:
        if kind == "random":
            return stream("random", self.index, name, size=size)
        return compose(self.table(kind), size, kind, self.index, name)


# --- writing ------------------------------------------------------------------------------------
class HashingWriter:
    """File-like: forwards writes to `out`, keeps sha256 and length (and optionally deflate -1)."""

    def __init__(self, out, ratio: bool):
        self.out = out
        self.sha = hashlib.sha256()
        self.length = 0
        self.zlib = zlib.compressobj(1, zlib.DEFLATED, 31) if ratio else None
        self.compressed = 0

    def write(self, data) -> int:
        self.out.write(data)
        self.sha.update(data)
        self.length += len(data)
        if self.zlib is not None:
            self.compressed += len(self.zlib.compress(data))
        return len(data)

    def tell(self) -> int:
        return self.length

    def finish(self):
        if self.zlib is not None:
            self.compressed += len(self.zlib.flush())


def write_layer(layer: Layer, out, ratio: bool) -> HashingWriter:
    """The layer's tar into out: its folders first, then its files, each sorted."""
    writer = HashingWriter(out, ratio)
    files = layer.files()
    with TarWriter(writer, tarfile.USTAR_FORMAT) as tar:
        dirs = sorted({"/".join(p.split("/")[:i]) for p, _, _ in files for i in range(1, p.count("/") + 1)})
        for directory in dirs:
            tar.add(Entry(directory, kind=DIR))
        for path, kind, size in files:
            tar.add(Entry(path, layer.content(path, kind, size), mode=0o755 if kind == "binary" else 0o644))
    writer.finish()
    return writer


def generate(path: str, size_mib: int, layers: int, seed: int, ratio: bool = True) -> dict:
    shares = LAYER_SHARES if layers == len(LAYER_SHARES) else [1.0 / layers] * layers
    total = size_mib * MIB
    sizes = [int(total * s) // 4096 * 4096 for s in shares]
    sizes[-1] = total - sum(sizes[:-1])
    tag = "%dmib-%dl-s%d-g%d" % (size_mib, layers, seed, GENERATOR)
    tmp = path + ".tmp.%d" % os.getpid()
    diff_ids, layer_sizes, compressed, v1_ids = [], [], [], []
    started = time.monotonic()
    with open(tmp, "wb") as raw, TarWriter(raw, tarfile.USTAR_FORMAT) as outer:
        parent = ""
        for index, size in enumerate(sizes):
            layer = Layer(seed * 1000 + index, size)
            v1 = hashlib.sha256(("v1 %s %s %d" % (tag, parent, index)).encode()).hexdigest()
            v1_ids.append(v1)
            v1_json = {"id": v1, "created": CREATED, "container_config": {"Cmd": None}, "os": "linux"}
            if parent:
                v1_json["parent"] = parent
            written = []    # the layer is streamed into the archive, never held in memory
            outer.add_all(legacy_layer_entries(LegacyLayer(
                v1, json.dumps(v1_json, sort_keys=True).encode(),
                lambda out, layer=layer: written.append(write_layer(layer, out, ratio)))), sort=False)
            writer = written[0]
            diff_ids.append("sha256:" + writer.sha.hexdigest())
            layer_sizes.append(writer.length)
            compressed.append(writer.compressed)
            parent = v1
            print("gen_image_tarball: layer %d: %.1f MiB, gzip -1 %.2fx (%.0f s)" % (
                index, writer.length / MIB, writer.length / max(1, writer.compressed),
                time.monotonic() - started), file=sys.stderr, flush=True)
        config = {
            "architecture": "amd64", "os": "linux", "created": CREATED,
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                       "Cmd": ["/usr/lib/pkg00/bin/start"], "WorkingDir": "/"},
            "history": [{"created": CREATED, "created_by": "bench layer %d of %s" % (i, tag)} for i in range(layers)],
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
        config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
        config_hex = hashlib.sha256(config_bytes).hexdigest()
        repo_tag = "%s:%s" % (IMAGE_NAME, tag)
        manifest = [{"Config": config_hex + ".json", "RepoTags": [repo_tag],
                     "Layers": [v + "/layer.tar" for v in v1_ids]}]
        outer.add_all(legacy_top_entries(
            {config_hex + ".json": config_bytes}, json.dumps(manifest, separators=(",", ":")).encode(),
            json.dumps({IMAGE_NAME: {tag: v1_ids[-1]}}, separators=(",", ":")).encode()), sort=False)
    info = {
        "file": os.path.abspath(path), "generator": GENERATOR, "size_mib": size_mib, "layers": layers,
        "seed": seed, "repo_tag": repo_tag, "config_digest": "sha256:" + config_hex, "diff_ids": diff_ids,
        "layer_sizes": layer_sizes, "layers_total": sum(layer_sizes), "file_size": os.path.getsize(tmp),
        "gzip1_layer_sizes": compressed if ratio else None,
        "gzip1_ratio": round(sum(layer_sizes) / sum(compressed), 3) if ratio else None,
        "generate_seconds": round(time.monotonic() - started, 1),
    }
    os.replace(tmp, path)
    with open(path + ".json.tmp", "w") as handle:
        json.dump(info, handle, indent=1)
    os.replace(path + ".json.tmp", path + ".json")
    return info


def cached_path(outdir: str, size_mib: int, layers: int, seed: int) -> str:
    return os.path.join(outdir, "image-%dmib-%dl-s%d-g%d.tar" % (size_mib, layers, seed, GENERATOR))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", help="the tarball to write")
    parser.add_argument("--cached", metavar="OUTDIR", help="use (or write) the cached tarball in OUTDIR")
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-ratio", action="store_true", help="skip measuring the gzip -1 ratio")
    args = parser.parse_args(argv)
    if args.size_mib < 1 or args.layers < 1 or args.size_mib * MIB // args.layers < 64 * 1024:
        parser.error("--size-mib and --layers must be positive, with at least 64 KiB per layer")
    if bool(args.out) == bool(args.cached):
        parser.error("give either OUT.tar or --cached OUTDIR")
    if args.cached:
        os.makedirs(args.cached, exist_ok=True)
        path = cached_path(args.cached, args.size_mib, args.layers, args.seed)
        if os.path.exists(path) and os.path.exists(path + ".json"):
            with open(path + ".json") as handle:
                info = json.load(handle)
            if info.get("file_size") == os.path.getsize(path):
                info["cached"] = True
                print(json.dumps(info, indent=1))
                return 0
    else:
        path = args.out
    info = generate(path, args.size_mib, args.layers, args.seed, not args.no_ratio)
    info["cached"] = False
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
