#!/usr/bin/env python3
"""Checks the layering of the workspace; exits 1 on any problem.

- Crates: the workspace crates and the dependencies between them (`cargo metadata`); a cycle
  fails, and so does a dependency that points up the declared layer order.
- Modules: in each crate, the top-level modules and the `crate::X` / `super::X` paths between
  them; a cycle fails.
- The core builds without the network stack: `cargo tree -p shipcheck-core` must not name
  tokio, reqwest, hyper, rusqlite or tokio-postgres.

Prints the crate and module dependency lists, so a reader sees the layers.
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Lower layers first; a crate may only depend on crates listed before it.
LAYERS = [
    "shipcheck-meter",
    "shipcheck-core",
    "shipcheck-import",
    "shipcheck-fix",
    "shipcheck-net",
    "shipcheck-probes",
    "shipcheck-ledger",
    "shipcheck-sign",
    "shipcheck-engine",
    "shipcheck-report",
    "shipcheck-server",
    "shipcheck-testkit",
    "shipcheck",
]
FORBIDDEN_IN_CORE = {"tokio", "reqwest", "hyper", "rusqlite", "tokio-postgres"}


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def module_graph(src):
    """Top-level module → the top-level modules its files name."""
    mods = set()
    for name in os.listdir(src):
        path = os.path.join(src, name)
        if name in ("lib.rs", "main.rs", "bin"):
            continue
        if name.endswith(".rs"):
            mods.add(name[:-3])
        elif os.path.isdir(path):
            mods.add(name)
    graph = {m: set() for m in mods}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, src).split(os.sep)
            top = rel[0][:-3] if len(rel) == 1 else rel[0]
            if top not in mods:
                continue
            text = open(path, encoding="utf-8").read()
            # Unit tests may reach anywhere; they are not part of the layering.
            text = text.split("#[cfg(test)]")[0]
            names = set(re.findall(r"\bcrate::([a-z_][a-z0-9_]*)", text))
            if len(rel) == 1:  # a top-level file: `super::x` is the crate root
                names |= set(re.findall(r"\bsuper::([a-z_][a-z0-9_]*)", text))
            for n in names:
                if n in mods and n != top:
                    graph[top].add(n)
    return graph


def main():
    problems = []
    meta = json.loads(
        subprocess.check_output(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT
        )
    )
    members = {p["name"]: p for p in meta["packages"]}
    crate_graph = {}
    print("crates:")
    for name in LAYERS:
        if name not in members:
            problems.append(f"crate {name} is in LAYERS but not in the workspace")
            continue
        deps = sorted(
            d["name"] for d in members[name]["dependencies"]
            if d["name"] in members and d.get("kind") is None
        )
        crate_graph[name] = set(deps)
        print(f"  {name} -> {', '.join(deps) or '(none)'}")
        for d in deps:
            if d in LAYERS and LAYERS.index(d) >= LAYERS.index(name):
                problems.append(f"{name} depends on {d}, a layer above it")
    for name in members:
        if name not in LAYERS:
            problems.append(f"crate {name} has no place in LAYERS (scripts/check-layers.py)")
    for c in cycles(crate_graph):
        problems.append("crate cycle: " + " <-> ".join(c))

    for name, pkg in sorted(members.items()):
        src = os.path.join(os.path.dirname(pkg["manifest_path"]), "src")
        graph = module_graph(src)
        print(f"modules of {name}:")
        for m in sorted(graph):
            print(f"  {m} -> {', '.join(sorted(graph[m])) or '(none)'}")
        for c in cycles(graph):
            problems.append(f"module cycle in {name}: " + " <-> ".join(c))

    tree = subprocess.check_output(
        ["cargo", "tree", "-p", "shipcheck-core", "-e", "normal", "--prefix", "none",
         "--format", "{p}"],
        cwd=ROOT, text=True,
    )
    names = {line.split()[0] for line in tree.splitlines() if line.strip()}
    for bad in sorted(names & FORBIDDEN_IN_CORE):
        problems.append(f"shipcheck-core depends on {bad} (the core has no network stack)")

    if problems:
        print("\nlayering problems:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print("\nlayers ok: no cycles between crates or modules; the core has no network stack")
    return 0


if __name__ == "__main__":
    sys.exit(main())
