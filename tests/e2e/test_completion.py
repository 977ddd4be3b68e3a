"""End-to-end: the shell completions and the man page the build generated from assetctl's own
command-line definition (cmake/GeneratedDocs.cmake), used by the real shells and man.

bash: the script is sourced and its function called as bash calls it (COMP_WORDS, COMP_CWORD),
then COMPREPLY read. fish evaluates completions without a terminal (`complete -C`). zsh completes
only in its line editor: an interactive zsh in a pseudo-terminal (zsh/zpty) is sent a line and a
TAB, then Enter, with `assetctl` a function printing the arguments it got, both ways the script
is installed (autoloaded from $fpath, or sourced). The man page renders with groff and man
without a warning, and names every environment variable lib/ reads.

Installed (`cmake --install` into a temporary DESTDIR), each is found where its tool looks by
itself: man through MANPATH, bash-completion's loader and fish through XDG_DATA_DIRS, zsh's
compinit through the vendor-completions folder Debian puts in $fpath.

CMake passes the folder of the generated files in ASSETCTL_GENERATED_DOCS and the build tree in
ASSETCTL_BUILD_DIR.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from assetctl_run import OK, SOURCE_DIR, assetctl, main  # noqa: E402

DOCS = Path(os.environ.get("ASSETCTL_GENERATED_DOCS", ""))
BASH_SCRIPT = DOCS / "assetctl.bash"
ZSH_SCRIPT = DOCS / "_assetctl"
FISH_SCRIPT = DOCS / "assetctl.fish"
MAN_PAGE = DOCS / "assetctl.1"
BUILD_DIR = os.environ.get("ASSETCTL_BUILD_DIR", "")

# Environment variables lib/ reads that the man page leaves out on purpose: the search path
# and the user name (an assumed role's session name), which no user sets for assetctl.
NOT_DOCUMENTED = {"PATH", "USER", "LOGNAME"}


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, **kwargs)


class GeneratedFiles(unittest.TestCase):
    def test_the_build_wrote_what_assetctl_prints(self):
        for path, args in ((BASH_SCRIPT, ["completion", "bash"]),
                           (ZSH_SCRIPT, ["completion", "zsh"]),
                           (FISH_SCRIPT, ["completion", "fish"]), (MAN_PAGE, ["man"])):
            with self.subTest(path=path.name):
                self.assertTrue(path.is_file(), "%s was not generated" % path)
                result = assetctl(*args)
                self.assertEqual(result.code, OK, result.err)
                self.assertEqual(path.read_text(), result.out)


class BashCompletion(unittest.TestCase):
    def complete(self, *words, cwd=None):
        """COMPREPLY for the command line `words`, the last one being completed."""
        program = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
                   'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _assetctl; '
                   'printf "%s\\n" "${COMPREPLY[@]}"')
        result = run(["bash", "--norc", "--noprofile", "-c", program, "bash", str(BASH_SCRIPT),
                      *words], cwd=cwd)
        self.assertEqual(result.returncode, 0, result.stderr)
        return sorted(line for line in result.stdout.split("\n") if line)

    def test_commands(self):
        self.assertEqual(self.complete("assetctl", "pu"), ["publish"])
        self.assertEqual(self.complete("assetctl", "-v", "d"), ["doctor"])
        self.assertEqual(self.complete("assetctl", ""),
                         ["build", "completion", "doctor", "ls", "man", "publish"])

    def test_options_of_the_command_and_global_ones(self):
        self.assertEqual(self.complete("assetctl", "publish", "--pu"),
                         ["--publish-jobs", "--push-mode"])
        options = self.complete("assetctl", "ls", "-")
        for option in ("-p", "--path", "--stack", "--json", "-v", "--verbose", "-q", "--quiet",
                       "--help"):
            self.assertIn(option, options)
        self.assertNotIn("--push-mode", options)
        self.assertEqual(self.complete("assetctl", "--ver"), ["--verbose", "--version"])

    def test_fixed_choices(self):
        self.assertEqual(self.complete("assetctl", "publish", "--push-mode", ""),
                         ["docker", "native"])
        self.assertEqual(self.complete("assetctl", "doctor", "--tarball-mode", "n"), ["native"])
        # --option=value, split at '=' as COMP_WORDBREAKS makes bash do, and unsplit.
        self.assertEqual(self.complete("assetctl", "build", "--push-mode", "=", "d"), ["docker"])
        self.assertEqual(self.complete("assetctl", "build", "--push-mode=d"),
                         ["--push-mode=docker"])
        self.assertEqual(self.complete("assetctl", "completion", ""), ["bash", "fish", "zsh"])

    def test_paths_for_path_options_and_nothing_for_other_values(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "cdk.out").mkdir()
            (Path(tmp) / "notes.txt").write_text("")
            self.assertEqual(self.complete("assetctl", "publish", "--path", "cd", cwd=tmp),
                             ["cdk.out"])
            self.assertEqual(self.complete("assetctl", "ls", "-p", "", cwd=tmp),
                             ["cdk.out", "notes.txt"])
            self.assertEqual(self.complete("assetctl", "publish", "--profile", "", cwd=tmp), [])
            # The value of --stack is no command, and what follows it is still publish's.
            self.assertEqual(self.complete("assetctl", "publish", "--stack", "pu", cwd=tmp), [])
            self.assertEqual(
                self.complete("assetctl", "publish", "--stack", "ls", "--fail", cwd=tmp),
                ["--fail-fast"])

    def test_the_script_registers_the_function(self):
        result = run(["bash", "--norc", "--noprofile", "-c",
                      'source "$1" && complete -p assetctl', "bash", str(BASH_SCRIPT)])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "complete -F _assetctl assetctl")


def isolated_home(test):
    """A temporary HOME and XDG folders, so no shell reads or writes the user's."""
    home = tempfile.mkdtemp()
    test.addCleanup(shutil.rmtree, home)
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home + "/config",
               XDG_DATA_HOME=home + "/data", XDG_CACHE_HOME=home + "/cache")
    return home, env


# Runs an interactive zsh in a pseudo-terminal: for each line after the first two arguments it
# types the line, a TAB and Enter, and prints what the completed command line gave `assetctl` (a
# function here). $1: the completion script, $2: "source" or "fpath". (The result is read
# between markers the typed text cannot contain: ${(U):-args} prints ARGS.)
ZSH_DRIVER = r"""
zmodload zsh/zpty
script=$1 mode=$2
shift 2
if [[ $mode == fpath ]]; then
  setup="fpath=(${script:h} \$fpath); autoload -Uz compinit; compinit -u -D"
else
  setup="autoload -Uz compinit; compinit -u -D; source $script"
fi
zpty shell zsh -f -i
zpty -w shell "PS1='> '; $setup; assetctl() { print -r -- \"\${(U):-args}<\$*>\" }"
for line in "$@"; do
  zpty -w -n shell "$line"$'\t\n'
  zpty -r shell out '*ARGS<*>*'
  print -r -- "${${out##*ARGS<}%%>*}"
done
zpty -d shell
"""


class ZshCompletion(unittest.TestCase):
    def setUp(self):
        self.zsh = shutil.which("zsh")
        if not self.zsh:
            self.skipTest("zsh is not installed (scripts/install-deps.sh)")
        self.home, self.env = isolated_home(self)

    def test_syntax(self):
        result = run([self.zsh, "-n", str(ZSH_SCRIPT)])
        self.assertEqual(result.returncode, 0, result.stderr)

    def complete(self, mode, *lines, cwd=None):
        """What each of `lines` became after a TAB in an interactive zsh (without `assetctl `)."""
        folder = Path(self.home) / "functions"
        folder.mkdir(exist_ok=True)
        shutil.copy(ZSH_SCRIPT, folder / "_assetctl")
        driver = Path(self.home) / "driver.zsh"
        driver.write_text(ZSH_DRIVER)
        result = run([self.zsh, "-f", str(driver), str(folder / "_assetctl"), mode, *lines],
                     env=self.env, cwd=cwd)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.rstrip("\n").split("\n")

    def test_completes_commands_options_choices_and_paths(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "cdk.out").mkdir()
            for mode in ("fpath", "source"):
                with self.subTest(mode=mode):
                    self.assertEqual(
                        self.complete(mode, "assetctl pu", "assetctl publish --push-mode d",
                                      "assetctl publish --pub", "assetctl ls --verb",
                                      "assetctl -q d", "assetctl completion f",
                                      "assetctl ls --path cd", "assetctl ls --stack pu",
                                      cwd=tmp),
                        ["publish", "publish --push-mode docker", "publish --publish-jobs",
                         "ls --verbose", "-q doctor", "completion fish", "ls --path cdk.out",
                         "ls --stack pu"])


class FishCompletion(unittest.TestCase):
    def setUp(self):
        self.fish = shutil.which("fish")
        if not self.fish:
            self.skipTest("fish is not installed (scripts/install-deps.sh)")
        self.home, self.env = isolated_home(self)

    def complete(self, line):
        """The candidates fish offers for `line` (without their descriptions)."""
        result = run([self.fish, "--no-config", "-c", 'source $argv[1]; complete -C $argv[2]',
                      str(FISH_SCRIPT), line], env=self.env)
        self.assertEqual(result.returncode, 0, result.stderr)
        return sorted(line.split("\t")[0] for line in result.stdout.split("\n") if line)

    def test_syntax(self):
        result = run([self.fish, "--no-config", "-n", str(FISH_SCRIPT)], env=self.env)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_commands_options_and_choices(self):
        self.assertEqual(self.complete("assetctl pu"), ["publish"])
        self.assertEqual(self.complete("assetctl publish --pu"), ["--publish-jobs", "--push-mode"])
        self.assertEqual(self.complete("assetctl publish --push-mode "), ["docker", "native"])
        self.assertEqual(self.complete("assetctl completion "), ["bash", "fish", "zsh"])
        self.assertIn("--verbose", self.complete("assetctl ls --"))
        self.assertNotIn("--push-mode", self.complete("assetctl ls --"))

    def test_paths_only_for_path_options(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "cdk.out").mkdir()
            result = run([self.fish, "--no-config", "-c",
                          'cd $argv[2]; source $argv[1]; complete -C "assetctl ls --path cd"; '
                          'echo ---; complete -C "assetctl ls --profile cd"',
                          str(FISH_SCRIPT), tmp], env=self.env)
            self.assertEqual(result.returncode, 0, result.stderr)
            with_path, with_profile = result.stdout.split("---\n")
            self.assertEqual(with_path.split(), ["cdk.out/"])
            self.assertEqual(with_profile.split(), [])


class Installed(unittest.TestCase):
    """The files `cmake --install` lays out, found by each tool without being told the file."""

    @classmethod
    def setUpClass(cls):
        cls.destdir = tempfile.mkdtemp()
        result = run(["cmake", "--install", BUILD_DIR, "--prefix", "/usr"],
                     env=dict(os.environ, DESTDIR=cls.destdir))
        if result.returncode != 0:
            shutil.rmtree(cls.destdir)
            raise AssertionError("cmake --install failed: " + result.stdout + result.stderr)
        cls.share = Path(cls.destdir) / "usr" / "share"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.destdir)

    def setUp(self):
        self.home, env = isolated_home(self)
        self.env = dict(env, XDG_DATA_DIRS=str(self.share),
                        PATH="%s/usr/bin:%s" % (self.destdir, os.environ["PATH"]))

    def test_the_four_files_where_each_tool_looks(self):
        for installed, generated in (
                ("man/man1/assetctl.1", MAN_PAGE),
                ("bash-completion/completions/assetctl", BASH_SCRIPT),
                ("zsh/vendor-completions/_assetctl", ZSH_SCRIPT),
                ("fish/vendor_completions.d/assetctl.fish", FISH_SCRIPT)):
            with self.subTest(installed):
                self.assertEqual((self.share / installed).read_bytes(), generated.read_bytes())

    def test_man_finds_the_page(self):
        result = run(["man", "-w", "assetctl"],
                     env=dict(self.env, MANPATH=str(self.share / "man")))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), str(self.share / "man/man1/assetctl.1"))

    def test_bash_completion_loads_it_on_demand(self):
        loader = "/usr/share/bash-completion/bash_completion"
        if not os.path.exists(loader):
            self.skipTest("bash-completion is not installed (scripts/install-deps.sh)")
        result = run(["bash", "--norc", "--noprofile", "-c",
                      'source "$1"; __load_completion assetctl && complete -p assetctl',
                      "bash", loader], env=self.env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "complete -F _assetctl assetctl")

    def test_fish_loads_it_by_itself(self):
        fish = shutil.which("fish")
        if not fish:
            self.skipTest("fish is not installed (scripts/install-deps.sh)")
        result = run([fish, "-c", 'complete -C "assetctl pu"'], env=self.env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([line.split("\t")[0] for line in result.stdout.split("\n") if line],
                         ["publish"])

    def test_zsh_compinit_finds_it(self):
        zsh = shutil.which("zsh")
        if not zsh:
            self.skipTest("zsh is not installed (scripts/install-deps.sh)")
        result = run([zsh, "-f", "-c",
                      'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -D; '
                      'print -r -- "$_comps[assetctl]"', "zsh",
                      str(self.share / "zsh/vendor-completions")], env=self.env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "_assetctl")


def man_section(roff, heading):
    """The roff lines of section `heading` (".SH ENVIRONMENT") up to the next .SH."""
    lines = roff.split("\n")
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(".SH ")),
               len(lines))
    return "\n".join(lines[start + 1:end])


def environment_variables_read_by_lib():
    """Every NAME in get("NAME"), get_non_empty("NAME") or getenv("NAME") under lib/."""
    pattern = re.compile(r'\b(?:get_non_empty|get|getenv)\("([A-Z][A-Z0-9_]+)"\)')
    names = set()
    for path in (SOURCE_DIR / "lib").rglob("*.[ch]pp"):
        names.update(pattern.findall(path.read_text()))
    return names


class ManPage(unittest.TestCase):
    def test_groff_renders_it_without_a_warning(self):
        result = run(["groff", "-man", "-Tutf8", "-ww", "-z", str(MAN_PAGE)])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")

    def test_man_shows_every_section(self):
        result = run(["man", "--warnings", "-l", str(MAN_PAGE)],
                     env=dict(os.environ, MANPAGER="cat", MANWIDTH="100", LC_ALL="C.UTF-8"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")
        text = re.sub(r".\x08", "", result.stdout)  # no overstrike, should a pager want it
        for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS",
                        "ENVIRONMENT", "FILES", "SEE ALSO"):
            self.assertRegex(text, r"(?m)^%s$" % heading)
        self.assertIn("--push-mode MODE", text)
        self.assertRegex(text, r"(?m)^\s+130\s+Interrupted")

    def test_every_environment_variable_lib_reads_is_documented(self):
        environment = man_section(MAN_PAGE.read_text(), ".SH ENVIRONMENT")
        documented = set(re.findall(r"^\\fB([A-Z0-9_]+)\\fR$", environment, re.M))
        read = environment_variables_read_by_lib()
        self.assertGreater(len(read), 30)
        self.assertEqual(sorted(read - documented - NOT_DOCUMENTED), [])
        self.assertTrue({"AWS_REGION", "CDK_DOCKER", "NO_COLOR"} <= documented)


if __name__ == "__main__":
    main()
