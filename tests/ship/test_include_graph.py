#!/usr/bin/env python3
"""The module graph, read from the #include lines of every .c/.cc/.h under agent/, sinks/,
ecc/ and include/ (a module is a folder; include/eunomia is libeunomia's public API).

Fails, naming the files and lines to change, on:
  - a dependency between two modules that LAYERS below does not allow (a new dependency is a
    decision: add it to the table, and the table itself must stay free of loops);
  - a loop between modules, or between files (a header that reaches itself again);
  - libeunomia (the modules of EU_LIB_SOURCES in CMakeLists.txt, and ecc, which links only it)
    reaching an agent-only module or <yaml.h>, <curl/...>, <microhttpd.h>, <systemd/...>;
  - an installed header (include/eunomia) including anything but another installed header,
    the C library or the libraries libeunomia.pc requires;
  - two code files sharing a stem (a header and the file implementing it aside).

Usage: test_include_graph.py [SOURCE_DIR]   (default: the repository holding this script)
"""
import os
import re
import sys

# Who may include whom: module -> the modules it may depend on (folders relative to the
# repository). A layering, lowest first: no loops, libeunomia's modules naming only each other.
# A new dependency is a decision: add it here, in the same change.
LAYERS = {
    # libeunomia
    "agent/core": set(),
    "agent/symbols": {"agent/core"},
    "agent/decode": {"agent/core"},
    "agent/package": {"agent/core", "agent/decode"},
    "agent/kbtf": {"agent/core", "agent/package"},
    "agent/program": {"agent/core", "agent/decode", "agent/kbtf", "agent/package",
                      "agent/symbols"},
    # ecc links only libeunomia
    "ecc": {"agent/core", "agent/kbtf", "agent/package"},
    # the agent around the runtime
    "agent/wasm": {"agent/core"},
    "agent/http": {"agent/core"},
    "agent/fetch": {"agent/core", "agent/package"},
    "agent/metrics": {"agent/core", "agent/decode", "agent/package", "agent/program"},
    # the sinks: what plugins call, the plugins (one folder each), the core that names them
    "sinks/plugin_api": {"agent/core", "agent/decode"},
    "sinks/stdout": {"agent/core", "agent/decode", "sinks/plugin_api"},
    "sinks/file": {"agent/core", "sinks/plugin_api"},
    "sinks/otlp": {"agent/core", "agent/decode", "agent/metrics", "sinks/plugin_api"},
    "sinks": {"agent/core", "agent/decode", "sinks/plugin_api"},
    "agent/daemon": {"agent/core", "agent/decode", "agent/http", "agent/kbtf", "agent/metrics",
                     "agent/package", "agent/program", "agent/wasm", "sinks", "sinks/otlp"},
    "agent/api": {"agent/core", "agent/daemon", "agent/fetch", "agent/http", "agent/package",
                  "agent/program", "agent/wasm"},
    "agent/cli": {"agent/api", "agent/core", "agent/daemon", "agent/decode", "agent/fetch",
                  "agent/http", "agent/kbtf", "agent/metrics", "agent/package", "agent/program",
                  "agent/wasm", "sinks"},
}

# The installed headers (include/eunomia, the embedding API) each belong to the module that
# implements them: a loop through the public API is a loop too (decode reading package.h while
# package calls the decoder was one).
PUBLIC_HEADERS = {
    "buf.h": "agent/core", "error.h": "agent/core", "log.h": "agent/core",
    "package.h": "agent/package", "params.h": "agent/package",
    "export_type.h": "agent/decode", "decoder.h": "agent/decode", "hist.h": "agent/decode",
    "record.h": "agent/decode",
    "program.h": "agent/program", "features.h": "agent/program", "consumer.h": "agent/program",
    "runner.h": "agent/program",
    "sampler.h": "agent/program",
}

SCANNED = ("agent", "sinks", "ecc", "include")
SOURCE_EXT = (".c", ".cc", ".h")
# Include roots, in the compiler's order after the including file's own folder.
ROOTS = ("include", "agent", "")
# External headers libeunomia and ecc must never see: they belong to the daemon.
AGENT_ONLY_EXTERNAL = re.compile(r"^(yaml\.h|curl/.*|microhttpd\.h|systemd/.*)$")
# What an installed header may include besides other installed headers: the C library and the
# libraries of libeunomia.pc's Requires (libbpf, libuv).
PUBLIC_EXTERNAL = re.compile(r"^(std[a-z]*\.h|limits\.h|sys/types\.h|uv\.h|bpf/[a-z_]+\.h)$")
DECLARATION = re.compile(r"\b(eu_[a-z0-9_]+)\(")
# a definition starts at the beginning of a line with its return type (the project's style)
DEFINITION = re.compile(r"^[a-z][^;(=\n]*\b(eu_[a-z0-9_]+)\([^;]*?\)\s*\{", re.M | re.S)
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def module_of(rel):
    """A file's module: its folder; an installed header belongs to the module implementing it."""
    d = os.path.dirname(rel)
    if d == "include/eunomia":
        return PUBLIC_HEADERS.get(os.path.basename(rel), "include/eunomia")
    return d


def lib_modules(src):
    """The folders of EU_LIB_SOURCES in CMakeLists.txt."""
    with open(os.path.join(src, "CMakeLists.txt")) as f:
        text = f.read()
    m = re.search(r"eu_module_sources\(EU_LIB_SOURCES([^)]*)\)", text)
    if not m:
        sys.exit("test_include_graph: no eu_module_sources(EU_LIB_SOURCES ...) in CMakeLists.txt")
    return set(m.group(1).split())


def scan(src):
    """file -> [(line number, included text, resolved repo file or None)]"""
    files = []
    for top in SCANNED:
        for dirpath, _, names in os.walk(os.path.join(src, top)):
            for n in names:
                if n.endswith(SOURCE_EXT):
                    files.append(os.path.relpath(os.path.join(dirpath, n), src))
    graph = {}
    for rel in sorted(files):
        edges = []
        with open(os.path.join(src, rel), errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                kind, name = m.groups()
                dirs = ([os.path.dirname(rel)] if kind == '"' else []) + list(ROOTS)
                target = None
                for d in dirs:
                    cand = os.path.normpath(os.path.join(d, name))
                    if os.path.isfile(os.path.join(src, cand)) and cand.startswith(SCANNED):
                        target = cand
                        break
                edges.append((lineno, name, target))
        graph[rel] = edges
    return graph


def find_cycle(nodes, succ):
    """One cycle as a list of nodes (first == last), or None. Iterative DFS."""
    colour = {n: 0 for n in nodes}
    for start in sorted(nodes):
        if colour[start]:
            continue
        stack = [(start, iter(sorted(succ(start))))]
        path = [start]
        colour[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
                continue
            if colour.get(nxt, 2) == 1:
                return path[path.index(nxt):] + [nxt]
            if colour.get(nxt) == 0:
                colour[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(sorted(succ(nxt)))))
    return None


def check(src, layers):
    """(errors, summary lines) for the tree at src against the allowed dependencies."""
    graph = scan(src)
    lib = lib_modules(src)
    errors = []

    # module edges, each with the include lines that make it
    why = {}
    for f, edges in graph.items():
        for lineno, name, target in edges:
            if target and module_of(target) != module_of(f):
                why.setdefault((module_of(f), module_of(target)), []).append(
                    f"{f}:{lineno}: #include \"{name}\"")
    modules = {module_of(f) for f in graph}

    for f in sorted(graph):
        if module_of(f) == "include/eunomia":
            errors.append(f"{f}: an installed header of no module: name the module that "
                          "implements it in PUBLIC_HEADERS")
    for m in sorted(modules - layers.keys() - {"include/eunomia"}):
        errors.append(f"module {m}/ is not in LAYERS of {os.path.basename(__file__)}: "
                      "declare what it may include")
    for (a, b), lines in sorted(why.items()):
        if a in layers and b not in layers[a]:
            errors.append(f"{a} -> {b} is not an allowed dependency (if it is meant and "
                          f"makes no loop, add it to LAYERS in tests/ship/test_include_graph.py):\n    "
                          + "\n    ".join(lines))

    cyc = find_cycle(layers.keys(), lambda m: layers[m])
    if cyc:
        errors.append("LAYERS itself has a loop: " + " -> ".join(cyc))
    cyc = find_cycle(modules, lambda m: {b for (a, b) in why if a == m})
    if cyc:
        detail = []
        for a, b in zip(cyc, cyc[1:]):
            detail.append(f"  {a} -> {b}:\n    " + "\n    ".join(why[(a, b)]))
        errors.append("modules include each other in a loop: " + " -> ".join(cyc) + "\n"
                      + "\n".join(detail))

    fsucc = {f: {t for _, _, t in e if t} for f, e in graph.items()}
    cyc = find_cycle(graph.keys(), lambda f: fsucc[f])
    if cyc:
        errors.append("files include each other in a loop: " + " -> ".join(cyc))

    for f, edges in sorted(graph.items()):
        m = module_of(f)
        if m not in lib and m != "ecc":
            continue
        what = "libeunomia" if m in lib else "ecc (links only libeunomia)"
        for lineno, name, target in edges:
            if target and module_of(target) not in lib and module_of(target) != m:
                errors.append(f"{f}:{lineno}: {what} includes {target}, "
                              f"of the agent-only module {module_of(target)}/")
            if not target and AGENT_ONLY_EXTERNAL.match(name):
                errors.append(f"{f}:{lineno}: {what} includes <{name}>, a daemon dependency")
            if f.startswith("include/eunomia/") and target and not target.startswith("include/"):
                errors.append(f"{f}:{lineno}: installed header includes {target}, "
                              "which is not installed")
            if f.startswith("include/eunomia/") and not target and not PUBLIC_EXTERNAL.match(name):
                errors.append(f"{f}:{lineno}: installed header includes <{name}>: not installed "
                              "with libeunomia nor required by libeunomia.pc")

    # PUBLIC_HEADERS must say the truth: a header's functions are defined in its module
    defined = {}
    for f in graph:
        if f.endswith(".c"):
            with open(os.path.join(src, f), errors="replace") as fh:
                for fn in DEFINITION.findall(fh.read()):
                    defined.setdefault(fn, set()).add(module_of(f))
    for f in sorted(graph):
        if not f.startswith("include/eunomia/") or module_of(f) == "include/eunomia":
            continue
        with open(os.path.join(src, f), errors="replace") as fh:
            declared = set(DECLARATION.findall(fh.read()))
        where = {}
        for fn in declared:
            for m in defined.get(fn, ()):
                where[m] = where.get(m, 0) + 1
        if where and max(where, key=where.get) != module_of(f):
            errors.append(f"{f}: PUBLIC_HEADERS says {module_of(f)}, but its functions are "
                          f"defined in {max(where, key=where.get)}")

    summary = [f"{len(graph)} files, {len(modules)} modules, {len(why)} module dependencies"]
    stale = sorted((a, b) for a, deps in layers.items() for b in deps if (a, b) not in why)
    if stale:
        summary.append("note: allowed but unused (may be removed from LAYERS): "
                       + ", ".join(f"{a} -> {b}" for a, b in stale))
    return errors, summary


def shared_stems(src):
    """Code files of one stem in two places (a header beside the file implementing it, or an
    installed header and its implementation, are one unit): 'which test_x.c?' must not arise."""
    seen = {}
    for top in ("agent", "sinks", "ecc", "include", "tests", "bench", "plugins", "guest",
                "scripts"):
        for dirpath, _, names in os.walk(os.path.join(src, top)):
            for n in names:
                stem, ext = os.path.splitext(n)
                if ext in (".c", ".cc", ".h", ".py", ".sh"):
                    kind = "header" if ext == ".h" else "source"
                    rel = os.path.relpath(os.path.join(dirpath, n), src)
                    seen.setdefault((stem, kind), []).append(rel)
    return [f"{len(p)} files share the stem {stem}: " + ", ".join(sorted(p))
            for (stem, _), p in sorted(seen.items()) if len(p) > 1]


def self_test():
    """The checks must be able to fail: a small tree with one of each fault, each found."""
    import tempfile
    tree = {
        "CMakeLists.txt": "eu_module_sources(EU_LIB_SOURCES agent/core agent/decode)\n",
        "include/eunomia/buf.h": "#include <stdint.h>\n#include <yaml.h>\n",
        "include/eunomia/stray.h": "#include <stdint.h>\n",
        "agent/core/a.h": "#include \"b.h\"\n",
        "agent/core/b.h": "#include \"a.h\"\n",
        "agent/decode/d.c": "#include \"eunomia/buf.h\"\n#include \"daemon/x.h\"\n"
                            "#include <curl/curl.h>\n",
        "agent/daemon/x.h": "#include \"decode/d.h\"\n",
        "agent/decode/d.h": "#include <stdint.h>\n",
        "agent/daemon/y.c": "#include \"http/h.h\"\n",
        "agent/http/h.h": "#include \"eunomia/buf.h\"\n",
    }
    layers = {"agent/core": set(), "agent/decode": {"agent/core"},
              "agent/daemon": {"agent/decode"}, "agent/http": {"agent/daemon", "agent/core"}}
    expect = [
        "agent/daemon -> agent/http is not an allowed dependency",
        "agent/decode -> agent/daemon is not an allowed dependency",
        "modules include each other in a loop: agent/daemon -> agent/decode -> agent/daemon",
        "files include each other in a loop: agent/core/a.h -> agent/core/b.h -> agent/core/a.h",
        "agent/decode/d.c:2: libeunomia includes agent/daemon/x.h, of the agent-only module",
        "agent/decode/d.c:3: libeunomia includes <curl/curl.h>",
        "include/eunomia/buf.h:2: libeunomia includes <yaml.h>",
        "include/eunomia/buf.h:2: installed header includes <yaml.h>",
        "include/eunomia/stray.h: an installed header of no module",
    ]
    with tempfile.TemporaryDirectory() as d:
        for rel, text in tree.items():
            os.makedirs(os.path.join(d, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w") as f:
                f.write(text)
        layers_loop = dict(layers, **{"agent/http": {"agent/daemon"}, "agent/daemon": {"agent/http"}})
        errors, _ = check(d, layers)
        loop_errors, _ = check(d, layers_loop)
        os.makedirs(os.path.join(d, "tests/unit"))
        os.makedirs(os.path.join(d, "tests/integration"))
        for t in ("tests/unit/test_x.c", "tests/integration/test_x.c"):
            open(os.path.join(d, t), "w").close()
        errors += shared_stems(d)
    expect.append("2 files share the stem test_x: tests/integration/test_x.c, tests/unit/test_x.c")
    missed = [e for e in expect if not any(e in x for x in errors)]
    if not any("LAYERS itself has a loop" in x for x in loop_errors):
        missed.append("LAYERS itself has a loop")
    for m in missed:
        print(f"SELF-TEST FAIL: the checker did not report: {m}")
    if missed:
        print("found instead:\n" + "\n".join(errors))
    return not missed


def main():
    src = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                          os.path.join(os.path.dirname(__file__), "..", ".."))
    if not self_test():
        return 1
    errors, summary = check(src, LAYERS)
    errors += shared_stems(src)
    for e in errors:
        print("FAIL: " + e)
    if errors:
        print(f"test_include_graph: {len(errors)} problem(s); {summary[0]}")
        return 1
    print(f"test_include_graph: {summary[0]}, all declared in LAYERS; no loop between modules "
          "or files; libeunomia and ecc reach only libeunomia")
    for line in summary[1:]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
