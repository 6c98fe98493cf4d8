#!/usr/bin/env python3
"""The call graph between files, read from the built object files: which file's code calls
(or takes the address of, or reads) which other file's. test_include_graph.py sees #include
lines; two files can include only what they should and still call each other both ways (the
daemon's files did: daemon.c -> daemon_pkg.c -> daemon.c). This sees the calls.

For every object of the agent's libraries and programs (CMakeFiles/<target>.dir/**/*.o of a
build tree), `nm` gives the global symbols it defines and the ones it needs; a needed symbol
defined by another object is an edge from the one file to the other. Fails on:
  - files that call each other in a loop (a strongly connected set of two or more files);
  - modules (folders) that call each other in a loop;
unless the loop is one of KNOWN_LOOPS below, each a limit named in README.md's Limits. A
known loop that is gone fails too, so the list only shrinks.

Usage: test_call_graph.py BUILD_DIR [SOURCE_DIR]
       test_call_graph.py --self-test      (the checker on object files made to loop)
Environment: CC (the compiler for the self-test; default cc), NM (default nm).
"""
import os
import subprocess
import sys
import tempfile

# The targets whose objects make the graph: libeunomia, the agent's library, the Wasm bridge,
# the CLI and ecc. Tests, benches and fuzz targets call into them but are not part of them.
TARGETS = ("eunomia_objects", "eunomia_agent", "eunomia_wasm", "eunomia-agent", "ecc")

# Files CMake generates, and the module each belongs to. The sink registry's list names every
# plugin: it belongs to the sink core (sinks/), which sits above them all.
GENERATED = {"generated/sink_plugin_list.c": "sinks"}

# Loops that exist and are accepted for now, each a frozenset of files (or of modules, for a
# module loop). Every entry is named in README.md's Limits; remove it when the loop goes.
def _files(*names):
    return frozenset(names)


KNOWN_LOOPS = {
    # Files inside one module that call each other (README Limits, "Files of one module call
    # each other"): each module is one unit of the layering; these are its internal seams.
    _files("agent/api/api.c", "agent/api/api_events.c", "agent/api/api_image.c",
           "agent/api/api_info.c"),
    _files("agent/cli/cli_run.c", "agent/cli/cli_wasm.c"),
    _files("agent/decode/decoder_json.c", "agent/decode/decoder_names.c",
           "agent/decode/decoder_value.c"),
    _files("agent/http/http_connection.c", "agent/http/http_listener.c",
           "agent/http/http_reply.c", "agent/http/http_route.c", "agent/http/http_stream.c"),
    _files("agent/package/package.c", "agent/package/package_legacy.c",
           "agent/package/package_tar.c"),
    _files("agent/program/consumer.c", "agent/program/sampler.c",
           "agent/program/sampler_datasec.c"),
    _files("agent/program/program.c", "agent/program/program_alt.c",
           "agent/program/program_attach.c", "agent/program/program_hooks.c",
           "agent/program/program_maps.c", "agent/program/program_perf.c",
           "agent/program/program_target.c", "agent/program/program_uprobe.c"),
}


def nm_symbols(nm, objs):
    """object file -> (defined globals, undefined), from one nm run over all of them."""
    out = subprocess.run([nm, "-P", "-A"] + sorted(objs), check=True, capture_output=True,
                         text=True).stdout
    syms = {o: (set(), set()) for o in objs}
    for line in out.splitlines():
        # "FILE: NAME TYPE [VALUE SIZE]"
        head, sep, rest = line.partition(": ")
        parts = rest.split()
        if not sep or len(parts) < 2 or head not in syms:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            syms[head][1].add(name)
        elif kind in "TDBRVWGSiu":
            syms[head][0].add(name)
    return syms


def objects(build):
    """source file (relative to the repository, or a GENERATED name) -> its object file."""
    found = {}
    for dirpath, _, names in os.walk(build):
        parts = dirpath.split(os.sep)
        target = next((p[:-4] for p in parts if p.endswith(".dir")), None)
        if target not in TARGETS:
            continue
        for n in names:
            if not n.endswith(".o"):
                continue
            path = os.path.join(dirpath, n)
            rel = path.split(target + ".dir" + os.sep, 1)[1][:-2]
            if rel.startswith("__/"):
                continue  # a file from outside the tree
            if target == "ecc":
                rel = "ecc/" + rel
            found[rel] = path
    return found


def module_of(rel):
    return GENERATED.get(rel) or os.path.dirname(rel) or "."


def call_graph(objs, nm):
    """file -> {file: [symbols]}: the files whose symbols it needs."""
    defs, needs = {}, {}
    syms = nm_symbols(nm, objs.values())
    for rel, path in objs.items():
        d, u = syms[path]
        needs[rel] = u
        for s in d:
            defs.setdefault(s, set()).add(rel)
    graph = {}
    for rel, u in needs.items():
        edges = {}
        for s in sorted(u):
            for other in defs.get(s, ()):
                if other != rel:
                    edges.setdefault(other, []).append(s)
        graph[rel] = edges
    return graph


def loops(nodes, succ):
    """The strongly connected sets of two or more nodes (Tarjan, iterative), each sorted."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(succ(root))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(succ(nxt)))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def describe(comp, edge_syms):
    """The edges inside one loop, with a few of the symbols that make each."""
    lines = []
    for a in comp:
        for b in comp:
            syms = edge_syms(a, b)
            if syms:
                more = f" (+{len(syms) - 4} more)" if len(syms) > 4 else ""
                lines.append(f"    {a} -> {b}: {', '.join(syms[:4])}{more}")
    return "\n".join(lines)


def check(graph, known):
    """(errors, summary) for a call graph against the known loops."""
    errors = []
    seen_known = set()
    file_loops = loops(graph.keys(), lambda f: graph[f].keys())
    mod_edges = {}
    for a, edges in graph.items():
        for b, syms in edges.items():
            ma, mb = module_of(a), module_of(b)
            if ma != mb:
                mod_edges.setdefault((ma, mb), []).extend(f"{a}->{b}:{s}" for s in syms)
    modules = {module_of(f) for f in graph}
    mod_loops = loops(modules, lambda m: {b for (a, b) in mod_edges if a == m})
    for kind, found, syms in (
            ("files", file_loops, lambda a, b: graph[a].get(b, [])),
            ("modules", mod_loops, lambda a, b: mod_edges.get((a, b), []))):
        for comp in found:
            key = frozenset(comp)
            if key in known:
                seen_known.add(key)
                continue
            errors.append(f"{kind} call each other in a loop: {', '.join(comp)}\n"
                          + describe(comp, syms))
    for key in sorted(set(known) - seen_known, key=sorted):
        errors.append(f"KNOWN_LOOPS names a loop that is gone ({', '.join(sorted(key))}): "
                      "remove it there and its entry in README.md's Limits")
    n_edges = sum(len(e) for e in graph.values())
    summary = (f"{len(graph)} files, {n_edges} calling edges, {len(modules)} modules, "
               f"{len(mod_edges)} module edges")
    return errors, summary


FIXTURE = {
    # two daemon files calling each other: the loop the check exists for
    "agent/daemon/top.c": "void eu_low(void); void eu_top(void) { eu_low(); }\n",
    "agent/daemon/low.c": "void eu_top(void); void eu_low(void) { eu_top(); }\n",
    # a layered pair, and a caller through a function pointer given at init: no loop
    "agent/core/base.c": "void eu_base(void (*cb)(void)); void eu_base(void (*cb)(void)) "
                         "{ cb(); }\n",
    "agent/core/user.c": "void eu_base(void (*cb)(void)); void eu_user(void);\n"
                         "static void up(void) {}\nvoid eu_user(void) { eu_base(up); }\n",
    # two modules calling each other through different files (no file loop)
    "agent/http/h.c": "void eu_m2(void); void eu_h(void); void eu_h(void) { eu_m2(); }\n",
    "agent/metrics/m1.c": "void eu_h(void); void eu_m1(void); void eu_m1(void) { eu_h(); }\n",
    "agent/metrics/m2.c": "void eu_m2(void); void eu_m2(void) {}\n",
}


def self_test(cc, nm):
    """Builds FIXTURE's objects as a CMake tree lays them out and runs the check on them: it
    must report the file loop and the module loop, and nothing about the layered files."""
    with tempfile.TemporaryDirectory() as d:
        for rel, text in FIXTURE.items():
            src = os.path.join(d, "src", rel)
            obj = os.path.join(d, "build", "CMakeFiles", "eunomia_agent.dir", rel + ".o")
            os.makedirs(os.path.dirname(src), exist_ok=True)
            os.makedirs(os.path.dirname(obj), exist_ok=True)
            with open(src, "w") as f:
                f.write(text)
            subprocess.run([cc, "-c", "-O0", "-o", obj, src], check=True)
        graph = call_graph(objects(os.path.join(d, "build")), nm)
        errors, _ = check(graph, {})
        known = {frozenset({"agent/daemon/low.c", "agent/daemon/top.c"}),
                 frozenset({"agent/http", "agent/metrics"}),
                 frozenset({"agent/gone.c", "agent/away.c"})}
        errors_known, _ = check(graph, known)
    expect = [
        "files call each other in a loop: agent/daemon/low.c, agent/daemon/top.c",
        "agent/daemon/top.c -> agent/daemon/low.c: eu_low",
        "modules call each other in a loop: agent/http, agent/metrics",
        "agent/metrics -> agent/http: agent/metrics/m1.c->agent/http/h.c:eu_h",
    ]
    missed = [e for e in expect if not any(e in x for x in errors)]
    if any("agent/core" in x for x in errors):
        missed.append("(nothing about agent/core: a callback given at init is no loop)")
    if len(errors) != 2:
        missed.append(f"(exactly two loops; found {len(errors)})")
    if len(errors_known) != 1 or "KNOWN_LOOPS names a loop that is gone" not in errors_known[0]:
        missed.append("(known loops accepted, a stale known loop reported)")
    for m in missed:
        print(f"SELF-TEST FAIL: the checker did not report: {m}")
    if missed:
        print("found instead:\n" + "\n".join(errors + errors_known))
        return False
    print(f"self-test: a constructed file loop and module loop were found "
          f"({len(graph)} fixture objects)")
    return True


def main():
    cc = os.environ.get("CC") or "cc"
    nm = os.environ.get("NM") or "nm"
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        return 0 if self_test(cc, nm) else 1
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if not self_test(cc, nm):
        return 1
    build = os.path.abspath(sys.argv[1])
    objs = objects(build)
    if len(sys.argv) > 2:
        # an object whose source is gone (moved or deleted since that build) is stale: CMake
        # never removes it, and it would still look like a file of the tree
        src = os.path.abspath(sys.argv[2])
        stale = sorted(r for r in objs if r not in GENERATED
                       and not os.path.isfile(os.path.join(src, r)))
        for r in stale:
            print(f"test_call_graph: ignoring {objs.pop(r)}: {r} is no longer in the tree")
    if not any(rel.startswith("agent/daemon/") for rel in objs):
        print(f"test_call_graph: no object of agent/daemon under {build}: build it first")
        return 1
    graph = call_graph(objs, nm)
    errors, summary = check(graph, KNOWN_LOOPS)
    for e in errors:
        print("FAIL: " + e)
    if errors:
        print(f"test_call_graph: {len(errors)} problem(s); {summary}")
        return 1
    print(f"test_call_graph: {summary}; no loop between files or modules"
          + (f" besides the {len(KNOWN_LOOPS)} known one(s)" if KNOWN_LOOPS else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
