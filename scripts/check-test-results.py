#!/usr/bin/python3
"""Checks one CTest run of scripts/test.sh so that a green CI means every test ran and passed.

Reads the run's JUnit file (ctest --output-junit) and the build's test list with labels
(ctest --show-only=json-v1), then:
  - fails when no test ran, or when any test failed (CTest already said which);
  - fails on every Skipped test that is not on the expected-skips list (tests/expected-skips.txt),
    and on a listed test that skipped although its condition does not hold: scripts/test.sh
    installs every prerequisite, so a skip in CI means something broke;
  - prints the closing line: passed, failed and skipped counts, and the tests of --list-label
    (e.g. the integration tests the sanitizer pass ran).

Usage: check-test-results.py --pass NAME --junit FILE --tests-json FILE --expected FILE
                             --build-dir DIR [--list-label LABEL]
Exit: 0 all good, 1 otherwise.
"""
import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET


def read_cache(build_dir):
    """{name: value} of the build's CMakeCache.txt (NAME:TYPE=VALUE lines)."""
    cache = {}
    with open(os.path.join(build_dir, "CMakeCache.txt")) as handle:
        for line in handle:
            if line[:1] not in ("#", "/", "\n") and "=" in line and ":" in line.split("=", 1)[0]:
                key, value = line.rstrip("\n").split("=", 1)
                cache[key.split(":", 1)[0]] = value
    return cache


def expand(text, cache):
    """${NAME} replaced by the CMake cache's value (the path the build's tests really use)."""
    for name, value in cache.items():
        text = text.replace("${%s}" % name, value)
    if "${" in text:
        raise SystemExit("unknown variable in %r (not in the CMake cache)" % text)
    return text


def read_expected(path, cache):
    """{test name: (condition text, holds)} from the expected-skips list. A line is
    `<test name> absent <path>`: the skip is expected only while <path> does not exist; ${NAME}
    in it is the build's CMake cache value (e.g. ${ASSETCTL_SHARED_TESTDATA},
    ${CMAKE_HOME_DIRECTORY} the repository root)."""
    expected = {}
    with open(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) != 3 or fields[1] != "absent":
                raise SystemExit("%s:%d: expected `<test> absent <path>`, got %r" % (path, number, raw.rstrip()))
            name, _, where = fields
            where = os.path.normpath(expand(where, cache))
            expected[name] = ("%s absent" % where, not os.path.exists(where))
    return expected


def read_junit(path):
    """[(name, status)] with status passed, failed or skipped, in the file's order."""
    results = []
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("skipped") is not None or case.get("status") in ("notrun", "disabled"):
            status = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None or case.get("status") == "fail":
            status = "failed"
        else:
            status = "passed"
        results.append((case.get("name"), status))
    return results


def labels_of(path):
    """{test name: [labels]} from `ctest --show-only=json-v1`."""
    with open(path) as handle:
        tests = json.load(handle)["tests"]
    labels = {}
    for test in tests:
        for prop in test.get("properties", []):
            if prop["name"] == "LABELS":
                labels[test["name"]] = prop["value"]
        labels.setdefault(test["name"], [])
    return labels


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pass", dest="pass_name", required=True, help="name of the pass, for the output")
    parser.add_argument("--junit", required=True)
    parser.add_argument("--tests-json", required=True)
    parser.add_argument("--expected", required=True, help="the expected-skips list")
    parser.add_argument("--build-dir", required=True, help="the build whose CMakeCache.txt gives the list's ${NAME}s")
    parser.add_argument("--list-label", help="also print the tests with this label that ran")
    args = parser.parse_args()

    expected = read_expected(args.expected, read_cache(args.build_dir))
    results = read_junit(args.junit)
    labels = labels_of(args.tests_json)
    by_status = {status: [name for name, s in results if s == status] for status in ("passed", "failed", "skipped")}
    problems = []
    if not results:
        problems.append("no test ran")
    problems += ["FAILED: %s" % name for name in by_status["failed"]]
    expected_skips = []
    for name in by_status["skipped"]:
        if name not in expected:
            problems.append("SKIPPED, not on %s: %s" % (args.expected, name))
        elif not expected[name][1]:
            problems.append("SKIPPED although its expected condition (%s) does not hold: %s" % (expected[name][0], name))
        else:
            expected_skips.append("%s (%s)" % (name, expected[name][0]))

    if args.list_label:
        ran = [name for name, status in results if args.list_label in labels.get(name, []) and status != "skipped"]
        print("%s: the %s tests that ran (%d): %s" % (args.pass_name, args.list_label, len(ran), ", ".join(ran) or "none"))
        if not ran:
            problems.append("no %s test ran" % args.list_label)
    for problem in problems:
        print("%s: %s" % (args.pass_name, problem))
    print("%s: %d tests: %d passed, %d failed, %d skipped (%d expected%s)%s" % (
        args.pass_name, len(results), len(by_status["passed"]), len(by_status["failed"]), len(by_status["skipped"]),
        len(expected_skips), ": " + ", ".join(expected_skips) if expected_skips else "",
        "" if not problems else " -> FAILED"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
