#!/usr/bin/python3
"""Runs Python unittest tests under CTest with exit codes that cannot hide a skip or a failure.

unittest itself exits 0 when tests were skipped (even when a whole module skipped), so a test
that never ran would show as Passed. Here:
  0   every test ran and passed;
  1   any failure or error (also an unexpected success), or no test at all;
  77  all that ran passed but at least one test (or a whole class or module) was skipped: CTest's
      SKIP_RETURN_CODE, shown as Skipped. A failure is never 77.

As a program, for one module of a folder (tests/support's self-tests, one CTest test each):
    unittest_ctest.py --start-dir DIR MODULE [unittest arguments]
As a library (the e2e scripts, through assetctl_run.main): main() runs the __main__ module.
"""
import argparse
import sys
import unittest

SKIPPED = 77


def exit_code(result):
    """The CTest exit code of a finished unittest result."""
    if not result.wasSuccessful():
        return 1
    if result.skipped:
        return SKIPPED
    if result.testsRun == 0:
        return 1
    return 0


def report(result):
    """One closing line that says what ran, and each skip with its reason."""
    for test, reason in result.skipped:
        print("SKIPPED: %s: %s" % (test, reason), file=sys.stderr)
    print("unittest_ctest: %d run, %d failed, %d errors, %d skipped -> exit %d" % (
        result.testsRun, len(result.failures) + len(result.unexpectedSuccesses), len(result.errors),
        len(result.skipped), exit_code(result)), file=sys.stderr)


def main(module="__main__", argv=None):
    """unittest.main for `module`, ending the process with exit_code()."""
    program = unittest.main(module=module, argv=argv, exit=False)
    report(program.result)
    sys.exit(exit_code(program.result))


def run_module():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start-dir", required=True, help="folder holding the module (put first on sys.path)")
    parser.add_argument("module", help="module name, e.g. test_fault_proxy")
    args, rest = parser.parse_known_args()
    sys.path.insert(0, args.start_dir)
    main(module=args.module, argv=[sys.argv[0], *rest])


if __name__ == "__main__":
    run_module()
