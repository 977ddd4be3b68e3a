#!/usr/bin/python3
"""Checks the CI examples in docs/ci/*.md against YAML and against the built binary.

- Every fenced ```yaml block parses (PyYAML) into a mapping, as a pipeline file does.
- Every shell command in those pipelines (GitHub's `run`, GitLab's `script`, CodeBuild's
  `commands`) is valid bash (`bash -n`).
- Every `assetctl ...` and `cdk-assets ...` command line in the pages (fenced blocks and inline
  code) uses only options that the command's `--help` lists, asked of the built binary.
- Each example page has its pipelines (yaml) and the command lines they must run
  (EXAMPLE_PAGES), so the checks cannot pass on pages that lost their examples.

Environment (set by tests/docs/CMakeLists.txt): ASSETCTL_BIN, the built assetctl;
ASSETCTL_SOURCE_DIR, the repository root. No network; a failure is exit 1
(tests/unittest_ctest.py).
"""
import os
import re
import subprocess
import sys
import unittest
from dataclasses import dataclass
from pathlib import Path

import yaml

# Each example page, and the command lines its examples must have: (program, command).
EXAMPLE_PAGES = {
    "github-actions.md": [("assetctl", "publish")],
    # A plain buildspec, and CDK Pipelines' asset projects checking which cdk-assets they run.
    "codebuild.md": [("assetctl", "publish"), ("cdk-assets", "")],
    "gitlab.md": [("assetctl", "publish")],
}
ASSETCTL_COMMANDS = ("ls", "doctor", "build", "publish")
CDK_ASSETS_COMMANDS = ("ls", "publish")
# Pipeline keys whose values are shell: GitHub Actions, GitLab CI, CodeBuild.
SHELL_KEYS = ("run", "script", "before_script", "after_script", "commands")
# Where a command line ends.
SHELL_OPERATORS = ("|", "||", "&&", ";", ")", ">", ">>", "2>", "2>&1", "<")


@dataclass
class Block:
    """A fenced code block or an inline code span of a page."""

    page: str
    line: int
    language: str
    text: str


@dataclass
class Invocation:
    """One assetctl or cdk-assets command line found in a page."""

    where: str  # page:line
    program: str  # assetctl or cdk-assets
    command: str  # "" for none (assetctl --version)
    options: list  # option names as written, e.g. --path, -v

    def __str__(self):
        return "%s: %s %s" % (self.where, self.program, self.command)


def fenced_blocks(page, text):
    """The fenced code blocks of a Markdown text, and its inline code spans outside them."""
    blocks = []
    fence = None
    for number, line in enumerate(text.splitlines(), start=1):
        if fence is None:
            opening = re.match(r"^\s*```\s*([\w+-]*)\s*$", line)
            if opening:
                fence = Block(page, number + 1, opening.group(1).lower(), "")
                continue
            for span in re.findall(r"`([^`]+)`", line):
                blocks.append(Block(page, number, "inline", span))
        elif re.match(r"^\s*```\s*$", line):
            blocks.append(fence)
            fence = None
        else:
            fence.text += line + "\n"
    if fence is not None:
        raise AssertionError("%s:%d: a code block is never closed" % (page, fence.line - 1))
    return blocks


def joined_lines(text):
    """(index of its first line, text) of each line, with shell continuations (a backslash
    before the newline) joined to the line they continue."""
    joined = []
    start, parts = 0, []
    for index, line in enumerate(text.splitlines()):
        if not parts:
            start = index
        continued = line.rstrip().endswith("\\")
        parts.append(line.rstrip().removesuffix("\\").strip())
        if not continued:
            joined.append((start, " ".join(parts)))
            parts = []
    if parts:
        joined.append((start, " ".join(parts)))
    return joined


def option_names(token):
    """The option names in one command line token: --path=x -> --path, -vv -> -v -v."""
    match = re.match(r"^(--[A-Za-z0-9][\w-]*|-[A-Za-z0-9]+)", token)
    if not match:
        return []
    option = match.group(1)
    if option.startswith("--"):
        return [option]
    return ["-" + letter for letter in option[1:]]


def invocations_in(block):
    """Every assetctl / cdk-assets command line of a block (words, up to a shell operator)."""
    found = []
    for offset, line in joined_lines(block.text):
        where = "%s:%d" % (block.page, block.line + offset)
        # The program as a word of its own: not /opt/assetctl/bin, assetctl-summary.json,
        # "assetctl:" in a message or cdk-assets@4.7.3.
        for match in re.finditer(r"(?<![\w./$@=-])(assetctl|cdk-assets)(?=\s)", line):
            invocation = parse_invocation(where, match.group(1), line[match.end():].split())
            if invocation is not None:
                found.append(invocation)
    return found


def parse_invocation(where, program, words):
    """An Invocation, or None when the words after the program name are prose, not arguments."""
    commands = ASSETCTL_COMMANDS if program == "assetctl" else CDK_ASSETS_COMMANDS
    tokens = []
    for word in words:
        bare = word.strip("'\",")
        if word in SHELL_OPERATORS or word.startswith("#") or bare in SHELL_OPERATORS:
            break
        tokens.append(bare)
        if word.rstrip(",").endswith(("'", '"')) and not word.startswith(("'", '"')):
            break  # the closing quote of a string holding the command (a TypeScript array)
    if not tokens:
        return None
    if program == "assetctl" and tokens[0] == "cdk-assets":
        return None  # `assetctl cdk-assets ...`: its own words follow, found as cdk-assets
    command = next((token for token in tokens if token in commands), "")
    if not tokens[0].startswith("-") and tokens[0] not in commands:
        return None  # "assetctl uses docker ...": prose
    options = [name for token in tokens for name in option_names(token)]
    return Invocation(where, program, command, options)


def pipeline_shell(document):
    """The shell fragments of a parsed pipeline file: (key, text) for every SHELL_KEYS value."""
    fragments = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key in SHELL_KEYS and isinstance(value, str):
                fragments.append((key, value))
            elif key in SHELL_KEYS and isinstance(value, list) and all(
                    isinstance(item, str) for item in value):
                fragments.append((key, "\n".join(value)))
            else:
                fragments.extend(pipeline_shell(value))
    elif isinstance(document, list):
        for item in document:
            fragments.extend(pipeline_shell(item))
    return fragments


class Help:
    """The options each command's --help lists, asked of the built binary once each."""

    def __init__(self, binary):
        self.binary = binary
        self.cache = {}

    def options(self, *argv):
        if argv not in self.cache:
            result = subprocess.run([self.binary, *argv, "--help"], capture_output=True, text=True,
                                    timeout=30, check=False)
            if result.returncode != 0:
                raise AssertionError("%s %s --help exited %d: %s" % (
                    self.binary, " ".join(argv), result.returncode, result.stderr))
            self.cache[argv] = help_options(result.stdout)
        return self.cache[argv]

    def allowed(self, invocation):
        """Every option this invocation may use: its command's and the program's global ones."""
        program = () if invocation.program == "assetctl" else ("cdk-assets",)
        allowed = set(self.options(*program))
        if invocation.command:
            allowed |= self.options(*program, invocation.command)
        return allowed


def help_options(text):
    """The option names of a --help text: those in the first column of lines that start with -."""
    names = set()
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("-"):
            continue
        first_column = re.split(r"\s{2,}", stripped)[0]
        names.update(re.findall(r"(?<![\w-])(--?[A-Za-z0-9][\w-]*)", first_column))
    return names


def unknown_options(invocations, help_):
    """'where: program command: option' for every option no --help lists."""
    problems = []
    for invocation in invocations:
        allowed = help_.allowed(invocation)
        for option in invocation.options:
            if option not in allowed:
                problems.append("%s uses %s, which `%s%s --help` does not list" % (
                    invocation, option, invocation.program,
                    " " + invocation.command if invocation.command else ""))
    return problems


def yaml_problems(blocks):
    """'where: error' for every yaml block that does not parse into a mapping."""
    problems = []
    for block in blocks:
        if block.language not in ("yaml", "yml"):
            continue
        try:
            document = yaml.safe_load(block.text)
        except yaml.YAMLError as error:
            problems.append("%s:%d: %s" % (block.page, block.line, error))
            continue
        if not isinstance(document, dict):
            problems.append("%s:%d: a %s, not a mapping" % (block.page, block.line,
                                                            type(document).__name__))
    return problems


def bash_problems(blocks):
    """'where: bash error' for every shell fragment of the yaml blocks that bash -n refuses."""
    problems = []
    for block in blocks:
        if block.language not in ("yaml", "yml"):
            continue
        try:
            document = yaml.safe_load(block.text)
        except yaml.YAMLError:
            continue  # yaml_problems reports it
        for key, script in pipeline_shell(document):
            result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True,
                                    timeout=30, check=False)
            if result.returncode != 0:
                problems.append("%s:%d: %s: %s" % (block.page, block.line, key,
                                                   result.stderr.strip()))
    return problems


def required_environment(name):
    value = os.environ.get(name)
    if not value:
        raise AssertionError("%s is not set (tests/docs/CMakeLists.txt sets it)" % name)
    return value


class CiExamples(unittest.TestCase):
    longMessage = False  # the problem lists say it all
    @classmethod
    def setUpClass(cls):
        cls.help = Help(required_environment("ASSETCTL_BIN"))
        docs = Path(required_environment("ASSETCTL_SOURCE_DIR")) / "docs" / "ci"
        cls.pages = {path.name: path.read_text() for path in sorted(docs.glob("*.md"))}
        cls.blocks = [block for name, text in cls.pages.items()
                      for block in fenced_blocks(name, text)]
        cls.invocations = [invocation for block in cls.blocks
                           for invocation in invocations_in(block)]

    def test_every_example_page_has_a_pipeline_that_publishes(self):
        for page, required in EXAMPLE_PAGES.items():
            with self.subTest(page=page):
                self.assertIn(page, self.pages)
                yaml_blocks = [b for b in self.blocks if b.page == page and b.language == "yaml"]
                self.assertTrue(yaml_blocks, "%s has no yaml block" % page)
                found = {(i.program, i.command) for i in self.invocations
                         if i.where.startswith(page + ":")}
                for program, command in required:
                    self.assertIn((program, command), found,
                                  "%s never runs `%s %s`" % (page, program, command))

    def test_yaml_blocks_parse_into_mappings(self):
        problems = yaml_problems(self.blocks)
        self.assertFalse(problems, "\n" + "\n".join(problems))

    def test_shell_commands_in_the_pipelines_are_valid_bash(self):
        problems = bash_problems(self.blocks)
        self.assertFalse(problems, "\n" + "\n".join(problems))

    def test_every_option_used_is_in_the_commands_help(self):
        self.assertGreater(len(self.invocations), 10, "too few command lines found")
        problems = unknown_options(self.invocations, self.help)
        self.assertFalse(problems, "\n" + "\n".join(problems))


class Checker(unittest.TestCase):
    """The checks above can fail: each finds the mistake it is there for."""

    @classmethod
    def setUpClass(cls):
        cls.help = Help(required_environment("ASSETCTL_BIN"))

    def test_an_unknown_option_is_reported_with_its_place(self):
        text = ("Run `assetctl publish --no-such-option`.\n"
                "```sh\nassetctl ls --json \\\n  --stack 'Prod/*' | jq .\n"
                "assetctl -vv publish --fail-fast --path=cdk.out > out.json --bogus\n```\n")
        invocations = [i for b in fenced_blocks("page.md", text) for i in invocations_in(b)]
        self.assertEqual([(i.where, i.command, i.options) for i in invocations], [
            ("page.md:1", "publish", ["--no-such-option"]),
            ("page.md:3", "ls", ["--json", "--stack"]),
            ("page.md:5", "publish", ["-v", "-v", "--fail-fast", "--path"]),
        ])
        self.assertEqual(unknown_options(invocations, self.help), [
            "page.md:1: assetctl publish uses --no-such-option, which `assetctl publish --help` "
            "does not list"])

    def test_an_option_of_another_command_is_reported(self):
        text = "```sh\nassetctl ls --fail-fast\ncdk-assets ls --stack x\n```\n"
        invocations = [i for b in fenced_blocks("page.md", text) for i in invocations_in(b)]
        self.assertEqual(len(unknown_options(invocations, self.help)), 2)

    def test_prose_and_paths_are_not_command_lines(self):
        text = ("```yaml\nrun: |\n  # assetctl uses docker; see /opt/assetctl/bin\n"
                "  echo \"assetctl: failed\" > assetctl-summary.json\n"
                "  npm install cdk-assets@4.7.3 && echo npm's cdk-assets is first\n```\n")
        self.assertEqual([i for b in fenced_blocks("page.md", text) for i in invocations_in(b)], [])

    def test_broken_yaml_and_bash_are_reported(self):
        text = ("```yaml\njobs:\n  a: [unclosed\n```\n"
                "```yaml\n- just a list\n```\n"
                "```yaml\nscript:\n  - if true; then echo\n```\n")
        blocks = fenced_blocks("page.md", text)
        problems = yaml_problems(blocks)
        self.assertEqual(len(problems), 2)
        self.assertTrue(problems[0].startswith("page.md:2: "), problems[0])
        self.assertEqual(problems[1], "page.md:6: a list, not a mapping")
        self.assertEqual(len(bash_problems([blocks[2]])), 1)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import unittest_ctest  # noqa: E402 (tests/unittest_ctest.py: exit 1 on failure, 77 on skip)

    unittest_ctest.main()
