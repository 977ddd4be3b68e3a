#!/usr/bin/env python3
"""Checks that every module under lib/ includes only its own headers and those of the modules it
declares (transitively) in CMake.

Linking catches a module that *calls* into one it does not list, but not one that only uses a
header (an inline function, a constant, a type): every module's include path is lib/. This
check closes that gap. It reads `add_assetctl_module(<name> ... DEPENDS ... PRIVATE_DEPENDS
...)` from each lib/*/CMakeLists.txt and then every `#include "<module>/..."` in lib/<name>/.
Module <name> may include <name> itself, any module in its DEPENDS or PRIVATE_DEPENDS, and
whatever those export through their own DEPENDS (CMake's PUBLIC link, so transitive).

Usage: check-module-deps.py [--root REPO] [--self-test]
  --self-test  first checks the checker on a temporary tree (a clean one must pass, one with a
               violation must fail), then checks REPO.
Exit status: 0 clean, 1 violations (each printed as file:line: ...), 2 usage or parse error.
"""

import argparse
import pathlib
import re
import sys
import tempfile

MODULE_PREFIX = "assetctl_"
KEYWORDS = ("SOURCES", "DEPENDS", "PRIVATE_DEPENDS")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/[^"]+"')
SOURCE_SUFFIXES = {".hpp", ".cpp", ".h", ".cc", ".ipp"}


class ParseError(Exception):
    pass


class Module:
    def __init__(self, name, public, private, cmake_file):
        self.name = name
        self.public = public  # module names in DEPENDS
        self.private = private  # module names in PRIVATE_DEPENDS
        self.cmake_file = cmake_file


def strip_comments(text):
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def module_calls(text, cmake_file):
    """The argument lists of every add_assetctl_module(...) call in `text`."""
    text = strip_comments(text)
    for match in re.finditer(r"\badd_assetctl_module\s*\(", text):
        end = text.find(")", match.end())
        if end < 0:
            raise ParseError(f"{cmake_file}: unterminated add_assetctl_module(")
        yield text[match.end():end].split()


def parse_module(arguments, cmake_file):
    if not arguments:
        raise ParseError(f"{cmake_file}: add_assetctl_module() without a name")
    name, lists, current = arguments[0], {k: [] for k in KEYWORDS}, None
    for word in arguments[1:]:
        if word in KEYWORDS:
            current = word
        elif current is None:
            raise ParseError(f"{cmake_file}: '{word}' before SOURCES/DEPENDS")
        else:
            lists[current].append(word)

    def modules(words):
        return [w[len(MODULE_PREFIX):] for w in words if w.startswith(MODULE_PREFIX)]

    return Module(name, modules(lists["DEPENDS"]), modules(lists["PRIVATE_DEPENDS"]), cmake_file)


def read_modules(lib):
    modules = {}
    for cmake_file in sorted(lib.glob("*/CMakeLists.txt")):
        for arguments in module_calls(cmake_file.read_text(encoding="utf-8"), cmake_file):
            module = parse_module(arguments, cmake_file)
            if module.name in modules:
                raise ParseError(f"{cmake_file}: module '{module.name}' declared twice")
            modules[module.name] = module
    return modules


def allowed_modules(name, modules):
    """`name`, its direct dependencies, and everything their DEPENDS export, transitively."""
    module = modules[name]
    allowed = {name}
    pending = list(module.public) + list(module.private)
    while pending:
        dependency = pending.pop()
        if dependency in allowed:
            continue
        allowed.add(dependency)
        if dependency in modules:
            pending.extend(modules[dependency].public)
    return allowed


def violations(root):
    """(file, line, message) for every include that crosses the declared direction."""
    lib = root / "lib"
    modules = read_modules(lib)
    known = {path.name for path in lib.iterdir() if path.is_dir()} | set(modules)
    found = []
    for name in sorted(modules):
        allowed = allowed_modules(name, modules)
        for source in sorted((lib / name).rglob("*")):
            if source.suffix not in SOURCE_SUFFIXES or not source.is_file():
                continue
            lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
            for number, line in enumerate(lines, start=1):
                match = INCLUDE.match(line)
                if not match or match.group(1) not in known or match.group(1) in allowed:
                    continue
                declared = " ".join(sorted(allowed - {name})) or "nothing"
                found.append((source.relative_to(root), number,
                              f"module '{name}' includes \"{line.split(chr(34))[1]}\" but "
                              f"'{match.group(1)}' is not among its dependencies ({declared})"))
    return found


def check(root, out):
    try:
        found = violations(root)
    except (ParseError, OSError) as error:
        print(f"check-module-deps: {error}", file=out)
        return 2
    for path, line, message in found:
        print(f"{path}:{line}: {message}", file=out)
    if found:
        print(f"check-module-deps: {len(found)} include(s) against the module direction "
              "(fix the include or declare the dependency in CMake)", file=out)
        return 1
    return 0


def write_tree(root, files):
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def self_test():
    """Runs the checker on small trees; returns a list of what went wrong."""
    base = {
        "lib/base/CMakeLists.txt": "add_assetctl_module(base SOURCES b.cpp DEPENDS spdlog::spdlog)\n",
        "lib/base/b.hpp": "#pragma once\n",
        "lib/mid/CMakeLists.txt": "# mid uses base\nadd_assetctl_module(mid\n  SOURCES m.cpp\n"
                                  "  DEPENDS assetctl_base)\n",
        "lib/mid/m.hpp": '#pragma once\n#include "base/b.hpp"\n',
        "lib/top/CMakeLists.txt": "add_assetctl_module(top SOURCES t.cpp\n"
                                  "  DEPENDS assetctl_mid PRIVATE_DEPENDS spdlog::spdlog)\n",
        "lib/top/t.cpp": '#include "top/t.hpp"\n#include "mid/m.hpp"\n#include "base/b.hpp"\n'
                         '#include "local.hpp"\n#include <vector>\n',
    }
    cases = [
        ("a clean tree (transitive include, own header, non-module include)", {}, 0),
        ("a lower module including a higher one",
         {"lib/base/b.cpp": '#include "base/b.hpp"\n\n#include "top/t.hpp"\n'}, 1),
        ("a header including a module that is not declared",
         {"lib/other/CMakeLists.txt": "add_assetctl_module(other SOURCES o.cpp)\n",
          "lib/mid/m.hpp": '#pragma once\n#include "other/o.hpp"\n'}, 1),
    ]
    problems = []
    for description, extra, expected in cases:
        with tempfile.TemporaryDirectory(prefix="check-module-deps-") as folder:
            root = pathlib.Path(folder)
            write_tree(root, {**base, **extra})
            with tempfile.TemporaryFile("w+") as out:
                status = check(root, out)
                out.seek(0)
                report = out.read()
            if status != expected:
                problems.append(f"self-test: {description}: exit {status}, expected {expected}\n"
                                f"{report}")
            elif expected == 1 and not re.search(r"^lib/\w+/\w+\.\w+:\d+: ", report, re.M):
                problems.append(f"self-test: {description}: no file:line in\n{report}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parent.parent)
    parser.add_argument("--self-test", action="store_true")
    arguments = parser.parse_args()
    if arguments.self_test:
        problems = self_test()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 2
    return check(arguments.root.resolve(), sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
