#!/usr/bin/python3
"""A stand-in container engine for tests/e2e/test_build_argv_reference.py (CDK_DOCKER=<this>): it
records each call and answers like docker, without running any real engine or building anything.

Each call appends one JSON line to $ARGV_ENGINE_LOG (one write on an O_APPEND descriptor, so
concurrent calls never interleave): {"argv": [...] (without the engine's own path), "cwd",
"env": {"BUILDX_NO_DEFAULT_ATTESTATIONS": value or null, "DOCKER_CONFIG": true/false (set or
not)}, "pid"}.

The tags it knows are files in $ARGV_ENGINE_STATE (a folder, one empty file per tag, created
with O_CREAT, so parallel calls need no lock). The answers:
  --version                     `Docker version $ARGV_ENGINE_VERSION, build 297e128`
                                (default 20.10.24+dfsg1: docker before 23, so no buildx query)
  version --format ...          the version alone (assetctl's daemon probe)
  buildx version                exit 1 (no buildx plugin); with ARGV_ENGINE_BUILDX=1 a buildx
                                version line and exit 0 (docker 23+ then builds with buildx)
  build ... --tag T ... .       exit 0; T is known from now on
  inspect [--format F] T        T unknown: exit 1, `Error: No such image: T` on stderr;
  image inspect T               known: exit 0 and a docker-like JSON answer (or the id for
                                --format {{.Id}})
  tag S T                       S known: exit 0 and T is known; else exit 1 (No such image)
  login ... --password-stdin    reads stdin, exit 0
  push T, images ...            exit 0
  anything else                 exit 1 with `unknown command` on stderr (and recorded)
Leading global options (`--config DIR`, `--context X`, `-H X`, `--log-level X`, `-D`) are kept
in the recorded argv and skipped when deciding the answer.
"""
import hashlib
import json
import os
import sys

from recording_engine import append_json_line  # beside this file

VERSION = os.environ.get("ARGV_ENGINE_VERSION", "20.10.24+dfsg1")
BUILDX = os.environ.get("ARGV_ENGINE_BUILDX") == "1"
GLOBAL_WITH_VALUE = {"--config", "--context", "-c", "-H", "--host", "--log-level", "-l"}
GLOBAL_FLAGS = {"-D", "--debug", "--tls", "--tlsverify"}
SELECTED_ENV = ("BUILDX_NO_DEFAULT_ATTESTATIONS",)


def record(argv):
    entry = {"argv": argv, "cwd": os.getcwd(),
             "env": {name: os.environ.get(name) for name in SELECTED_ENV},
             "pid": os.getpid()}
    entry["env"]["DOCKER_CONFIG"] = "DOCKER_CONFIG" in os.environ
    append_json_line(os.environ["ARGV_ENGINE_LOG"], entry)


def command_words(argv):
    """argv without the leading global options."""
    index = 0
    while index < len(argv):
        word = argv[index]
        if word in GLOBAL_WITH_VALUE:
            index += 2
        elif word in GLOBAL_FLAGS or any(word.startswith(flag + "=") for flag in GLOBAL_WITH_VALUE):
            index += 1
        else:
            break
    return argv[index:]


def tag_file(tag):
    # a tag may hold '/' and ':': the file is named by its hash
    return os.path.join(os.environ["ARGV_ENGINE_STATE"], hashlib.sha256(tag.encode()).hexdigest())


def known(tag):
    return os.path.exists(tag_file(tag))


def remember(tag):
    os.close(os.open(tag_file(tag), os.O_WRONLY | os.O_CREAT, 0o600))


def image_id(tag):
    return "sha256:" + hashlib.sha256(("image of " + tag).encode()).hexdigest()


def no_such_image(tag):
    sys.stderr.write("Error: No such image: %s\n" % tag)
    return 1


def option_value(words, name):
    for index, word in enumerate(words):
        if word == name and index + 1 < len(words):
            return words[index + 1]
        if word.startswith(name + "="):
            return word[len(name) + 1:]
    return None


def inspect(words):
    """`inspect [--format F] [--type image] T` (words after `inspect`)."""
    fmt = option_value(words, "--format") or option_value(words, "-f")
    names, index = [], 0
    while index < len(words):
        if words[index] in ("--format", "-f", "--type"):
            index += 2
            continue
        if not words[index].startswith("-"):
            names.append(words[index])
        index += 1
    if not names:
        sys.stderr.write("inspect: no image named\n")
        return 1
    for name in names:
        if not known(name):
            return no_such_image(name)
    if fmt is not None:
        sys.stdout.write("".join(image_id(name) + "\n" for name in names))
        return 0
    layer = "sha256:" + hashlib.sha256(b"layer").hexdigest()
    sys.stdout.write(json.dumps([{"Id": image_id(name), "RepoTags": [name], "Os": "linux",
                                  "Architecture": "amd64", "RootFS": {"Type": "layers", "Layers": [layer]}}
                                 for name in names], indent=4) + "\n")
    return 0


# The commands answered (the first words after the global options); any other call is answered
# with exit 1, and the test fails on it (a tool asked something the stand-in cannot answer).
KNOWN_COMMANDS = (["--version"], ["-v"], ["version"], ["buildx", "version"], ["build"], ["inspect"],
                  ["image", "inspect"], ["tag"], ["login"], ["push"], ["images"])


def is_known(argv):
    words = command_words(argv)
    return any(words[:len(known_command)] == known_command for known_command in KNOWN_COMMANDS)


def answer(words):
    if words[:1] in (["--version"], ["-v"]):
        sys.stdout.write("Docker version %s, build 297e128\n" % VERSION)
        return 0
    if words[:1] == ["version"]:
        sys.stdout.write(VERSION + "\n")
        return 0
    if words[:2] == ["buildx", "version"]:
        if BUILDX:
            sys.stdout.write("github.com/docker/buildx v0.19.3 48d6a39\n")
            return 0
        sys.stderr.write("docker: 'buildx' is not a docker command.\n")
        return 1
    if words[:1] == ["build"]:
        tag = option_value(words, "--tag") or option_value(words, "-t")
        if tag:
            remember(tag)
        return 0
    if words[:1] == ["inspect"]:
        return inspect(words[1:])
    if words[:2] == ["image", "inspect"]:
        return inspect(words[2:])
    if words[:1] == ["tag"] and len(words) == 3:
        if not known(words[1]):
            return no_such_image(words[1])
        remember(words[2])
        return 0
    if words[:1] == ["login"]:
        if "--password-stdin" in words:
            sys.stdin.read()
        sys.stdout.write("Login Succeeded\n")
        return 0
    if words[:1] == ["push"] and len(words) == 2:
        return 0 if known(words[1]) else no_such_image(words[1])
    if words[:1] == ["images"]:
        return 0
    sys.stderr.write("argv_recording_engine: unknown command %s\n" % json.dumps(words))
    return 1


def main():
    argv = sys.argv[1:]
    record(argv)
    return answer(command_words(argv))


if __name__ == "__main__":
    sys.exit(main())
