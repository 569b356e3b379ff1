#!/usr/bin/env python3
"""Lists the import edges between the files of `src/` and fails on a circle.

An edge `a.rs -> b.rs` means that code in `a.rs` names an item defined in `b.rs`: through a `use`
declaration (`use crate::x::Y`, `use super::Y`, `use self::x::Y`, `use child::Y` in a parent) or a
path written in the code (`crate::x::Y`, `super::Y`). Re-exports (`pub use`, `pub(crate) use`)
are followed to the file that defines the item, so a facade such as `lib.rs` or a `mod.rs` that
re-exports its own submodules is not a node of its own; a file that re-exports another file's item
(not one of its submodules), or names a re-exported item in its code, depends on that file. Comments,
doc comments, `#[cfg(doc)]` imports and `#[cfg(test)]` modules are left out: tests may reach anywhere.

Usage: python3 scripts/import_cycles.py [--edges] [SRC_DIR]
Exit status: 0 without a circle, 1 with one (each circle is printed), 2 on a usage error.

Standard library only, so that CI needs nothing but Python 3.
"""

import os
import re
import sys

ITEM_RE = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?(?:async\s+)?(?:const\s+)?"
    r"(?:struct|enum|trait|fn|type|const|static|union|macro_rules!)\s+(\w+)"
)
MOD_RE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;")
USE_RE = re.compile(r"^[ \t]*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M | re.S)
PATH_RE = re.compile(r"\b((?:crate|super|self)(?:::\w+)+)")


def strip_comments(text):
    """Removes // and /* */ comments and string literals' contents (keeps line count)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and i + 2 < n and (text[i + 2] == "'" or text[i + 1] == "\\"):
            j = text.find("'", i + 2 if text[i + 1] == "\\" else i + 1)
            out.append("' '")
            i = (j + 1) if j > 0 else n
        else:
            out.append(c)
            i += 1
    return "".join(out)


def drop_test_modules(text):
    """Removes `#[cfg(test)] mod name { ... }` blocks (brace-matched) and `#[cfg(doc)]` imports
    (names for doc links only)."""
    text = re.sub(r"#\[cfg\(doc\)\]\s*use[^;]*;", lambda m: "\n" * m.group(0).count("\n"), text)
    pattern = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{")
    while True:
        m = pattern.search(text)
        if not m:
            return text
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        text = text[: m.start()] + "\n" * text.count("\n", m.start(), j) + text[j:]


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e'] (aliases dropped)."""
    tree = re.sub(r"\s+", "", tree)
    if "{" not in tree:
        return [tree.split("as")[0] if "::" in tree or "as" not in tree else tree]
    head, _, rest = tree.partition("{")
    body = rest[: rest.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    if cur:
        parts.append(cur)
    out = []
    for p in parts:
        for e in expand_use(p):
            out.append(head + e if e not in ("self",) else head.rstrip(":"))
    return out


class Crate:
    def __init__(self, src):
        self.src = src
        self.files = {}  # module path tuple -> file
        self.code = {}  # file -> stripped code
        self.items = {}  # file -> set of item names defined
        self.reexports = {}  # file -> {name: absolute path tuple}
        self.uses = {}  # file -> list of absolute path tuples
        self.walk(("crate",), os.path.join(src, "lib.rs"))

    def child_file(self, module_file, name):
        base = os.path.dirname(module_file)
        stem = os.path.basename(module_file)
        if stem not in ("lib.rs", "mod.rs", "main.rs"):
            base = os.path.join(base, stem[:-3])
        for cand in (os.path.join(base, name + ".rs"), os.path.join(base, name, "mod.rs")):
            if os.path.exists(cand):
                return cand
        return None

    def walk(self, path, file):
        self.files[path] = file
        with open(file, encoding="utf-8") as f:
            code = drop_test_modules(strip_comments(f.read()))
        self.code[file] = code
        self.items[file] = set(m.group(1) for line in code.splitlines() if (m := ITEM_RE.match(line)))
        for line in code.splitlines():
            m = MOD_RE.match(line)
            if m:
                child = self.child_file(file, m.group(1))
                if child:
                    self.items[file].add(m.group(1))
                    self.walk(path + (m.group(1),), child)

    def absolute(self, module, rel):
        """Makes a `use` path absolute from module path `module`."""
        parts = rel.split("::")
        if parts[0] == "crate":
            return tuple(parts)
        if parts[0] in ("super", "self"):
            base = list(module)
            while parts and parts[0] in ("super", "self"):
                if parts[0] == "super":
                    base.pop()
                parts = parts[1:]
            return tuple(base + parts)
        if module + (parts[0],) in self.files:  # a child module named directly
            return module + tuple(parts)
        return None  # an external crate or std

    def collect(self):
        for module, file in self.files.items():
            code = self.code[file]
            self.reexports[file] = {}
            self.uses[file] = []
            body = USE_RE.sub("", code)
            for m in USE_RE.finditer(code):
                for tree in expand_use(m.group(2)):
                    path = self.absolute(module, tree)
                    if path is None:
                        continue
                    if m.group(1):  # pub use: a re-export
                        self.reexports[file][path[-1]] = path
                        # A facade re-exporting its own submodules is not an edge; re-exporting
                        # another file's item, or naming it in the code, is.
                        own = path[: len(module)] == module and len(path) > len(module) + 1
                        named = re.search(r"\b" + re.escape(path[-1]) + r"\b", body)
                        if not own or named:
                            self.uses[file].append(path)
                    else:
                        self.uses[file].append(path)
            for m in PATH_RE.finditer(body):
                path = self.absolute(module, m.group(1))
                if path:
                    self.uses[file].append(path)

    def resolve(self, path, depth=0):
        """The file that defines the item at `path` (following re-exports)."""
        if depth > 20:
            return None
        for k in range(len(path), 0, -1):
            prefix = path[:k]
            if prefix in self.files:
                file = self.files[prefix]
                rest = path[k:]
                if not rest:
                    return file
                name = rest[0]
                if name in self.reexports.get(file, {}):
                    return self.resolve(self.reexports[file][name] + rest[1:], depth + 1)
                if name == "*":
                    return file
                return file
        return None

    def edges(self):
        self.collect()
        out = {}
        for file in self.code:
            targets = set()
            for path in self.uses[file]:
                target = self.resolve(path)
                if target and target != file:
                    targets.add(target)
            out[file] = targets
        return out


def cycles(graph):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = [a for a in argv if a.startswith("--")]
    if len(args) > 1 or any(f not in ("--edges",) for f in flags):
        print(__doc__.strip().splitlines()[-3], file=sys.stderr)
        return 2
    src = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "src")
    src = os.path.normpath(src)
    graph = Crate(src).edges()
    rel = lambda f: os.path.relpath(f, src)
    count = sum(len(t) for t in graph.values())
    if "--edges" in flags:
        for f in sorted(graph):
            for t in sorted(graph[f]):
                print(f"{rel(f)} -> {rel(t)}")
    found = cycles(graph)
    for comp in found:
        members = set(comp)
        print("import circle between: " + ", ".join(rel(f) for f in comp))
        for f in comp:
            for t in sorted(graph[f] & members):
                print(f"  {rel(f)} -> {rel(t)}")
    print(f"{len(graph)} files, {count} edges, {len(found)} circles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
