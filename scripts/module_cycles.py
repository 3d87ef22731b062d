#!/usr/bin/env python3
"""Lists import cycles between the modules of a crate (`crate::a::…` uses in src/), with
the edges that close them. Usage: scripts/module_cycles.py kernel/src [app/src ...].
A module is a top-level file or folder of src/ (a folder's files are one module). Exits
non-zero when a cycle exists."""
import os, re, sys

def modules(src):
    edges = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith('.rs'):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src)
            top = rel.split(os.sep)[0]
            mod = top[:-3] if top.endswith('.rs') else top
            if mod in ('lib', 'main', 'bin'):
                continue
            text = open(path).read()
            # Only the non-test part: a `#[cfg(test)]` module may use anything.
            text = text.split('#[cfg(test)]')[0]
            # Comments (doc links) name modules without depending on them.
            text = re.sub(r'//[^\n]*', '', text)
            deps = set(re.findall(r'crate::([a-z_0-9]+)', text))
            for block in re.findall(r'use crate::\{([^;]*)\};', text, re.S):
                deps |= set(re.findall(r'(?:^|[\s,{])([a-z_0-9]+)(?=::|[\s,}]|$)', block))
            edges.setdefault(mod, set()).update(d for d in deps if d != mod)
    names = set(edges)
    return {m: {d for d in ds if d in names} for m, ds in edges.items()}

def cycles(g):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    def strong(v):
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                strong(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in sorted(g):
        if v not in index:
            strong(v)
    return out

bad = False
for src in sys.argv[1:]:
    g = modules(src)
    cs = cycles(g)
    if not cs:
        print(f"{src}: no import cycles between its {len(g)} modules")
    for c in cs:
        bad = True
        inner = [f"{a} -> {b}" for a in c for b in sorted(g[a]) if b in c]
        print(f"{src}: cycle among {', '.join(c)}: {'; '.join(inner)}")
sys.exit(1 if bad else 0)
