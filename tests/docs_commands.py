"""Docs that cannot drift: the README's shell blocks run (and it stays within 180 lines), and
every `mvke` command the docs show uses options its subcommand has.

  python3 tests/docs_commands.py SOURCE_ROOT MVKE_EXE

1. Every ```sh block of README.md runs, in order, in one scratch folder, under `bash -euo
   pipefail`, with the built `mvke` first on PATH: a command that fails fails the test.
2. Every `mvke SUBCOMMAND ...` shown in README.md, docs/*.md (code blocks and `code spans`) and in
   the `--help` of every subcommand names a subcommand that exists, and each of its options
   (`--name`, `-o`) is one that subcommand's `--help` lists. Synopsis brackets and bars are
   read through (`[--resume | --force]` checks both).
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

root, exe = sys.argv[1], os.path.abspath(sys.argv[2])
failures = []


def run_readme_blocks():
    text = open(os.path.join(root, "README.md")).read()
    if text.count("\n") > 180:  # a README a newcomer reads whole; the reference is docs/
        failures.append("README.md has %d lines; keep it to 180 (move detail to docs/)" % text.count("\n"))
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)
    if not blocks:
        failures.append("README.md has no ```sh block")
        return
    scratch = tempfile.mkdtemp(prefix="mvke_docs_")
    bindir = os.path.join(scratch, "bin")
    os.mkdir(bindir)
    os.symlink(exe, os.path.join(bindir, "mvke"))
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    if "ASAN_OPTIONS" in env:
        # Under AddressSanitizer the README's mpirun ranks would report Open MPI's memory, kept
        # from MPI_Init past MPI_Finalize, as leaks of ours (as in tests/test_mpi.c); the
        # single-process commands keep their leak checks in the CLI tests.
        env["ASAN_OPTIONS"] += ":detect_leaks=0"
    script = "set -euo pipefail\n" + "\n".join(blocks)
    r = subprocess.run(["bash", "-c", script], cwd=scratch, env=env, capture_output=True, text=True, timeout=500)
    if r.returncode != 0:
        failures.append("README.md's shell blocks failed (exit %d):\n%s\n%s" % (r.returncode, r.stdout[-3000:],
                                                                              r.stderr[-3000:]))
    else:
        print("docs: README.md: %d shell blocks ran (%d lines)" % (len(blocks), script.count("\n")))
    shutil.rmtree(scratch, ignore_errors=True)


helps = {}


def help_of(sub):
    if sub not in helps:
        r = subprocess.run([exe, sub, "--help"], capture_output=True, text=True)
        helps[sub] = r.stdout + r.stderr if r.returncode == 0 else None
    return helps[sub]


def subcommands():
    r = subprocess.run([exe, "--help"], capture_output=True, text=True)
    return set(re.findall(r"^\s{2,}([a-z][a-z-]+)\s", r.stdout, re.M))


def check_command(where, line, subs, strict):
    """Checks one command line that starts at `mvke ` (or build/tools/mvke). strict: a line of a
    code block, where an unknown subcommand is an error (in prose spans `mvke f32` names a
    method, not a command)."""
    words = line.split()
    sub = words[1] if len(words) > 1 else ""
    if sub not in subs:
        if strict and re.fullmatch(r"[a-z][a-z-]*", sub):
            failures.append("%s: `%s`: no subcommand '%s'" % (where, line.strip(), sub))
        return 0
    h = help_of(sub) or ""
    # Options are those of the usage line and of the option lines, not words of the description.
    usage = re.findall(r"^usage:.*(?:\n {8,}.*)*", h, re.M)
    lines = re.findall(r"^ {2,}(-[^\n]*)", h, re.M)
    options = set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", "\n".join(usage + lines)))
    depth = 0  # inside a synopsis's brackets or parentheses a bar is an alternative, not a pipe
    for w in words[2:]:
        if (w in ("|", "&&", ";", ">", "2>", "|&") and depth == 0) or w.startswith(("#", ">", "$(")):
            break  # the rest is another command or a comment
        depth += w.count("[") + w.count("(") - w.count("]") - w.count(")")
        for opt in re.findall(r"(?:^|[\[(|])(--?[a-zA-Z][\w-]*)", w):
            opt = opt.split("=")[0]
            if opt not in options:
                failures.append("%s: `%s`: mvke %s has no option %s" % (where, line.strip(), sub, opt))
    return 1


def commands_in(text):
    """mvke command lines in code blocks (with backslash continuations) and code spans."""
    out = []
    joined = re.sub(r"\\\n\s*", " ", text)
    for m in re.finditer(r"(?:build/tools/|\$M |\./)?(mvke [^`\n]*)", joined):
        before = joined[joined.rfind("\n", 0, m.start()) + 1:m.start()]
        if before and not re.search(r"[\s`($]$", before):
            continue  # the end of another word (libmvke, faiss_mvke)
        out.append((m.group(1), before.strip() in ("", "$", "#")))
    return out


def check_docs():
    subs = subcommands()
    if len(subs) < 10:
        failures.append("`mvke --help` lists %d subcommands: %s" % (len(subs), sorted(subs)))
        return
    checked = 0
    for path in [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs", "*.md"))):
        text = open(path).read()
        spans = re.findall(r"^```.*?^```|^(?: {4}.*\n)+|`[^`\n]+`", text, re.S | re.M)
        for s in spans:
            for c, line_start in commands_in(s):
                checked += check_command(os.path.relpath(path, root), c, subs, line_start and not s.startswith("`"))
    for sub in sorted(subs):
        h = help_of(sub) or ""
        for c in re.findall(r"`(mvke [^`]+)`", h):
            checked += check_command("mvke %s --help" % sub, c, subs, True)
    print("docs: %d mvke commands in README.md, docs/ and --help checked against their subcommand's options" % checked)


run_readme_blocks()
check_docs()
for f in failures:
    print("FAIL " + f)
sys.exit(1 if failures else 0)
