#!/usr/bin/python3
"""A container engine for tests/e2e/test_publish_native.py (`assetctl publish --docker <this>` or
CDK_DOCKER=<this>): it records each call and then execs the real engine with the same argv.

Each call appends one JSON line to $RECORDING_ENGINE_LOG (one write on an O_APPEND descriptor,
so concurrent calls never interleave): {"argv": [...], "docker_config": $DOCKER_CONFIG or null,
"pid": N}, and with $RECORDING_ENGINE_ENVIRONMENT set "environment": the whole environment
(test_secrets.py looks for secrets in it). On `save` / `image save` it first reads every regular file under the directories
listed in $RECORDING_ENGINE_WATCH (":"-separated: assetctl's TMPDIR, ...) looking for each of
the strings in the JSON list in $RECORDING_ENGINE_SECRETS_FILE (the registry passwords and their
base64 `AWS:<password>` forms, as a docker config.json would hold them), and adds
"scanned_files": N and "secret_hits": [{"path", "secret"}] (the secret's index) to its line.
The real engine is $RECORDING_ENGINE_REAL (/usr/bin/docker or /usr/bin/podman).
"""
import json
import os
import sys

CHUNK = 1 << 20


def is_save(argv):
    return argv[:1] == ["save"] or argv[:2] == ["image", "save"]


def load_secrets():
    path = os.environ.get("RECORDING_ENGINE_SECRETS_FILE")
    if not path:
        return []
    with open(path) as handle:
        return [s.encode() for s in json.load(handle) if s]


def file_contains(path, needles):
    """Indexes of the needles found in the file, read in pieces that overlap by the longest."""
    overlap = max(len(n) for n in needles)
    found, tail = set(), b""
    with open(path, "rb") as handle:
        while True:
            piece = handle.read(CHUNK)
            if not piece:
                return found
            window = tail + piece
            found.update(i for i, needle in enumerate(needles) if needle in window)
            tail = window[-overlap:]


def scan(directories, needles):
    hits, scanned = [], 0
    for directory in directories:
        for root, _dirs, files in os.walk(directory):
            for name in files:
                path = os.path.join(root, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                try:
                    found = file_contains(path, needles)
                except OSError:
                    continue  # removed meanwhile, or unreadable: a socket or fifo
                scanned += 1
                hits.extend({"path": path, "secret": index} for index in sorted(found))
    return scanned, hits


def append_json_line(path, entry):
    """Appends entry as one JSON line in one write on an O_APPEND descriptor (concurrent callers
    never interleave). argv_recording_engine.py shares it."""
    line = (json.dumps(entry) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def record(entry):
    append_json_line(os.environ["RECORDING_ENGINE_LOG"], entry)


def main():
    argv = sys.argv[1:]
    entry = {"argv": argv, "docker_config": os.environ.get("DOCKER_CONFIG"), "pid": os.getpid()}
    if os.environ.get("RECORDING_ENGINE_ENVIRONMENT"):
        entry["environment"] = dict(os.environ)
    if is_save(argv):
        needles = load_secrets()
        watched = [d for d in os.environ.get("RECORDING_ENGINE_WATCH", "").split(":") if d]
        entry["scanned_files"], entry["secret_hits"] = scan(watched, needles) if needles else (0, [])
    record(entry)
    real = os.environ["RECORDING_ENGINE_REAL"]
    os.execv(real, [real, *argv])


if __name__ == "__main__":
    main()
