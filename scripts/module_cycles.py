#!/usr/bin/env python3
"""Lists import cycles between the modules of a crate (`crate::a::…` uses in src/), with
the edges that close them. Usage: scripts/module_cycles.py kernel/src [app/src ...].
Checked twice: between the top-level files and folders of src/ (a folder's files are one
module), and between the modules one level down (`chain/block`, `modules/gov`), so a
floor's parts form no cycle either. `super::` paths are not followed. Exits non-zero
when a cycle exists."""
import os, re, sys

def node_of(rel, depth):
    """The module a file belongs to at `depth` path components (`chain/block.rs` is
    `chain` at depth 1 and `chain/block` at 2; a folder's `mod.rs` is the folder)."""
    parts = rel[:-3].split(os.sep)
    if parts[-1] == 'mod':
        parts = parts[:-1]
    return '/'.join(parts[:depth])

def used_paths(text):
    """`a::b::c` for every `crate::a::b::c` the code names, and inside `use crate::{…}`."""
    paths = set(re.findall(r'crate::([a-z_0-9]+(?:::[a-z_0-9]+)*)', text))
    for block in re.findall(r'use crate::\{([^;]*)\};', text, re.S):
        paths |= set(re.findall(r'(?:^|[\s,{])([a-z_0-9]+(?:::[a-z_0-9]+)*)', block))
    # `crate::a::b::{c, d::e}`: each item under its prefix.
    for prefix, items in re.findall(r'crate::((?:[a-z_0-9]+::)+)\{([^{}]*)\}', text):
        for item in re.findall(r'[a-z_0-9]+(?:::[a-z_0-9]+)*', items):
            paths.add(prefix + item)
    return paths

def modules(src, depth):
    texts = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith('.rs'):
                continue
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src)
            mod = node_of(rel, depth)
            if mod.split('/')[0] in ('lib', 'main', 'bin'):
                continue
            text = open(path).read()
            # Only the non-test part: a `#[cfg(test)]` module may use anything.
            text = text.split('#[cfg(test)]')[0]
            # Comments (doc links) name modules without depending on them.
            text = re.sub(r'//[^\n]*', '', text)
            texts.setdefault(mod, []).append(text)
    names = set(texts)
    edges = {}
    for mod, ts in texts.items():
        deps = set()
        for t in ts:
            for p in used_paths(t):
                parts = p.split('::')
                # The deepest module the path names (`host::codes` is `host` at depth 1).
                for n in range(min(depth, len(parts)), 0, -1):
                    d = '/'.join(parts[:n])
                    if d in names:
                        deps.add(d)
                        break
        # A folder's own module (its mod.rs) and its children are one unit here.
        edges[mod] = {d for d in deps if d != mod and not mod.startswith(d + '/')}
    return edges

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
    for depth, what in ((1, 'top-level modules'), (2, 'modules two levels down')):
        g = modules(src, depth)
        cs = cycles(g)
        if not cs:
            print(f"{src}: no import cycles between its {len(g)} {what}")
        for c in cs:
            bad = True
            inner = [f"{a} -> {b}" for a in c for b in sorted(g[a]) if b in c]
            print(f"{src}: cycle among {', '.join(c)}: {'; '.join(inner)}")
sys.exit(1 if bad else 0)
