#!/usr/bin/env python3
"""Every code block of README.md works as written, or names the test that covers it.

The blocks are found by a CommonMark parser (cmark --sourcepos), so indented blocks, blocks
inside list items and fenced blocks all count. Each block must be preceded (blank lines
apart) by one directive, an HTML comment that GitHub does not show:

  <!-- readme: run
    daemon N [max SECONDS]       command N runs until its expectations hold (at most
                                 SECONDS, default 60), then gets SIGINT (Ctrl-C) and must
                                 exit 0
    expect N stdout|stderr|file:PATH REGEX
                                 command N's output (a file: removed before N runs) matches
    timeout SECONDS              any other command must end, with status 0, within this
                                 (default 300)
  -->
      the block's commands (a line, with its `\\` continuations) run one at a time by bash
      in the repository, as root, in the order written; while a daemon runs, the test
      execs /bin/true ten times a second so that process packages have events.
  <!-- readme: check-config [watch [PLUGIN...]] -->
      the block is a config file: `eunomia-agent --check-config --config FILE` must exit 0
      (watch: with `--watch` of a temporary directory holding the plugins named, for a
      fragment that names no directory or rules that name packages).
  <!-- readme: help-lists-options -->
      a synopsis: every `--option` in it is in the --help of the program the line names.
  <!-- readme: ci-command -->
      the command CI runs: .ci/run must run it.
  <!-- readme: covered-by TEST... [-- WHY] -->
      not run here (a registry, a cluster, another user, a second build...); each TEST must
      be a test of this build (`ctest -N`).

A block without a directive, a directive without a block, an unknown directive or a test
name ctest does not know fails. Environment: EU_SOURCE_DIR, EU_BINARY_DIR, EU_AGENT_BIN, EU_ECC_BIN; the
commands use ./build, so EU_BINARY_DIR must be EU_SOURCE_DIR/build (scripts/test.sh's)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

SRC = os.environ["EU_SOURCE_DIR"]
BUILD = os.environ["EU_BINARY_DIR"]
AGENT = os.environ["EU_AGENT_BIN"]
ECC = os.environ["EU_ECC_BIN"]
README = os.path.join(SRC, "README.md")
NS = "{http://commonmark.org/xml/1.0}"
DIRECTIVE = re.compile(r"<!--\s*readme:\s*(.*?)\s*-->", re.S)
failures = []


def fail(block, msg):
    failures.append(f"README.md:{block['line']}: {msg}")
    print(f"FAIL README.md:{block['line']}: {msg}", flush=True)


def code_blocks():
    xml = subprocess.run(["cmark", "--sourcepos", "--to", "xml", README], check=True,
                         capture_output=True, text=True).stdout
    blocks = []
    for node in ET.fromstring(xml).iter(NS + "code_block"):
        start = int(node.get("sourcepos").split(":")[0])
        blocks.append({"line": start, "text": node.text or "", "info": node.get("info", "")})
    return blocks


def attach_directives(blocks, lines):
    """The directive of a block is the comment ending on the last non-blank line above it."""
    used = set()
    for b in blocks:
        i = b["line"] - 2  # 0-based index of the line above the block's first line
        while i >= 0 and not lines[i].strip():
            i -= 1
        b["directive"] = None
        if i >= 0 and lines[i].strip().endswith("-->"):
            j = i
            while j >= 0 and "<!--" not in lines[j]:
                j -= 1
            m = DIRECTIVE.search("\n".join(lines[j:i + 1]))
            if m:
                b["directive"] = m.group(1)
                used.add(j + 1)
    for n, line in enumerate(lines, 1):
        if "<!-- readme:" in line and n not in used:
            failures.append(f"README.md:{n}: a readme directive with no code block below it")


def ctest_names():
    out = subprocess.run(["ctest", "--test-dir", BUILD, "-N"], check=True,
                         capture_output=True, text=True).stdout
    return set(re.findall(r"Test\s+#\d+: (\S+)", out))


def commands(text):
    """The block's commands: lines joined at trailing backslashes, blank lines dropped."""
    cmds, cur = [], ""
    for line in text.splitlines():
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        if cur.strip():
            cmds.append(cur.strip())
        cur = ""
    return cmds


def exec_churn(stop):
    while not stop.is_set():
        subprocess.run(["/bin/true"])
        stop.wait(0.1)


def run_block(b, spec):
    daemons, expects, timeout = {}, {}, 300
    for line in spec.splitlines()[1:]:
        w = line.split()
        if not w:
            continue
        if w[0] == "daemon":
            daemons[int(w[1])] = int(w[3]) if len(w) > 3 and w[2] == "max" else 60
        elif w[0] == "expect":
            m = re.match(r"\s*expect\s+(\d+)\s+(stdout|stderr|file:\S+)\s+(.*)$", line)
            if not m:
                return fail(b, f"bad expect line: {line.strip()}")
            expects.setdefault(int(m.group(1)), []).append((m.group(2), m.group(3)))
        elif w[0] == "timeout":
            timeout = int(w[1])
        else:
            return fail(b, f"unknown run option: {line.strip()}")
    cmds = commands(b["text"])
    for n in list(daemons) + list(expects):
        if not 1 <= n <= len(cmds):
            return fail(b, f"the directive names command {n}; the block has {len(cmds)}")
    work = tempfile.mkdtemp(prefix="eu-readme-")
    for n, cmd in enumerate(cmds, 1):
        want = expects.get(n, [])
        for where, _ in want:
            if where.startswith("file:") and os.path.exists(where[5:]):
                os.unlink(where[5:])
        out_path, err_path = os.path.join(work, f"{n}.out"), os.path.join(work, f"{n}.err")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            t0 = time.monotonic()
            p = subprocess.Popen(["bash", "-c", cmd], cwd=SRC, stdout=out, stderr=err,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
            stop = threading.Event()
            churn = threading.Thread(target=exec_churn, args=(stop,))
            limit = daemons.get(n, timeout)
            if n in daemons:
                churn.start()

            def outputs():
                got = {}
                for where, _ in want:
                    path = {"stdout": out_path, "stderr": err_path}.get(where, where[5:])
                    try:
                        with open(path, errors="replace") as f:
                            got[where] = f.read()
                    except OSError:
                        got[where] = ""
                return got

            def met():
                got = outputs()
                return all(re.search(rx, got[w]) for w, rx in want)

            while p.poll() is None and time.monotonic() - t0 < limit:
                if n in daemons and met():
                    break
                time.sleep(0.2)
            interrupted = p.poll() is None
            if interrupted:
                os.killpg(p.pid, signal.SIGINT)
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            stop.set()
            if churn.is_alive():
                churn.join()
            secs = time.monotonic() - t0
        tail = lambda path: open(path, errors="replace").read()[-1500:]  # noqa: E731
        print(f"  command {n} ({secs:.1f} s, status {p.returncode}"
              f"{', interrupted' if interrupted else ''}): {cmd}", flush=True)
        if interrupted and n not in daemons:
            fail(b, f"command {n} did not end within {limit} s: {cmd}\n{tail(err_path)}")
        elif p.returncode != 0:
            fail(b, f"command {n} exited {p.returncode}: {cmd}\n--- stderr:\n{tail(err_path)}")
        got = outputs()
        for where, rx in want:
            if not re.search(rx, got[where]):
                fail(b, f"command {n}: {where} does not match /{rx}/: {cmd}\n"
                        f"--- {where} (end):\n{got[where][-1500:]}\n--- stderr:\n{tail(err_path)}")
        if failures and failures[-1].startswith(f"README.md:{b['line']}:"):
            break


def check_config(b, spec):
    with tempfile.TemporaryDirectory(prefix="eu-readme-") as d:
        path = os.path.join(d, "config.yaml")
        with open(path, "w") as f:
            f.write(b["text"])
        cmd = [AGENT, "--check-config", "--config", path]
        opts = spec.split()[1:]
        if opts[:1] == ["watch"]:
            watch = os.path.join(d, "w")
            os.mkdir(watch, 0o755)
            for name in opts[1:]:
                shutil.copy(os.path.join(BUILD, "plugins", name, "package.json"),
                            os.path.join(watch, name + ".json"))
            cmd += ["--watch", watch]
        elif opts:
            return fail(b, f"unknown check-config option: {spec}")
        p = subprocess.run(cmd, capture_output=True, text=True)
        print(f"  {' '.join(cmd[1:])}: status {p.returncode}", flush=True)
        if p.returncode != 0:
            fail(b, f"--check-config refuses the block (status {p.returncode}):\n"
                    f"{p.stdout}{p.stderr}")


HELP = {}


def help_of(prog):
    if prog not in HELP:
        exe = ECC if prog == "ecc" else AGENT
        args = {"ecc": ["--help"], "agent": ["--help"], "run": ["run", "--help"],
                "pull": ["pull", "--help"], "push": ["push", "--help"],
                "ctl": ["ctl", "--help"]}[prog]
        p = subprocess.run([exe] + args, capture_output=True, text=True)
        HELP[prog] = p.stdout + p.stderr
    return HELP[prog]


def help_lists_options(b):
    prog = None
    for line in b["text"].splitlines():
        words = line.split("#")[0].split()
        if words and words[0] in ("eunomia-agent", "ecli", "ecc"):
            prog = "ecc" if words[0] == "ecc" else "agent"
            if len(words) > 1 and words[1] in ("run", "pull", "push", "ctl"):
                prog = words[1]
        if prog is None:
            fail(b, f"a synopsis line that names no program: {line}")
            continue
        for opt in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", line.split("#")[0]):
            if not re.search(re.escape(opt) + r"(?![a-z0-9-])", help_of(prog)):
                fail(b, f"{opt} is not in the --help of {prog} (line: {line.strip()})")


def ci_command(b):
    with open(os.path.join(SRC, ".ci", "run")) as f:
        ci = f.read()
    for cmd in commands(b["text"]):
        script = cmd.split()[0].lstrip("./")
        if not re.search(r"(^|[\s/])" + re.escape(script) + r"\b", ci):
            fail(b, f".ci/run does not run `{cmd}`")


def main():
    if os.path.realpath(BUILD) != os.path.realpath(os.path.join(SRC, "build")):
        print(f"FAIL: the README's commands use ./build, and this build is {BUILD}: run this "
              f"test from a build in {SRC}/build (scripts/test.sh's)")
        return 1
    with open(README) as f:
        lines = f.read().splitlines()
    blocks = code_blocks()
    attach_directives(blocks, lines)
    names = ctest_names()
    counts = {}
    for b in blocks:
        spec = b["directive"]
        first = b["text"].splitlines()[0] if b["text"] else ""
        if spec is None:
            fail(b, "a code block with no `<!-- readme: ... -->` directive above it (run it, "
                    f"check it or name the test that covers it): {first}")
            continue
        kind = spec.split()[0]
        counts[kind] = counts.get(kind, 0) + 1
        print(f"README.md:{b['line']}: {kind}: {first}", flush=True)
        if kind == "run":
            run_block(b, spec)
        elif kind == "check-config":
            check_config(b, spec)
        elif kind == "help-lists-options":
            help_lists_options(b)
        elif kind == "ci-command":
            ci_command(b)
        elif kind == "covered-by":
            tests = spec.split("--")[0].split()[1:]
            if not tests:
                fail(b, "covered-by names no test")
            for t in tests:
                if t not in names:
                    fail(b, f"covered-by {t}: no such test in this build (ctest -N)")
        else:
            fail(b, f"unknown directive `{kind}`")
    print(f"{len(blocks)} code blocks: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    if failures:
        print(f"{len(failures)} failure(s):\n" + "\n".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
