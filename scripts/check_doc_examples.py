#!/usr/bin/env python3
"""Fails when a doc example or a README snippet names a crate other than feedforward.

Every example in the docs (`///` and `//!` code blocks in src/) and in README.md must compile in
a crate that depends on feedforward alone: `use ndarray::...` or `tempfile::tempdir()` compile as
doc tests (which see the crate's own dependencies and dev-dependencies) but fail for a user who
copies them. This lists each path rooted at another crate (`ndarray::`, `serde_json::`,
`tempfile::`, ...); `feedforward::ndarray` and `feedforward::serde_json` are the re-exports to
use instead. Standard library only.

Usage: python3 scripts/check_doc_examples.py [REPO_DIR]; exit status 1 when one is found.
"""

import os
import re
import subprocess
import sys

ALLOWED = {"feedforward", "std", "core", "alloc", "self", "super", "crate"}
PRIMITIVES = {"f32", "f64", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64",
              "i128", "isize", "bool", "char", "str"}
# A path root: a lowercase identifier followed by `::`, not itself after `::` or a letter.
ROOT = re.compile(r"(?<![\w:])([a-z_][a-z0-9_]*)::")


def code_lines(path):
    """(line number, code) of the lines inside Rust code blocks."""
    in_code = False
    rust = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            text = line.strip()
            if path.endswith(".rs"):
                if not (text.startswith("///") or text.startswith("//!")):
                    in_code = False
                    continue
                text = text[3:].strip()
            if text.startswith("```"):
                if not in_code:
                    info = text[3:].strip()
                    rust = info in ("", "rust", "no_run", "should_panic", "compile_fail") or (
                        info.startswith("rust") or "no_run" in info
                    )
                    rust = rust and "text" not in info and "ignore" not in info
                in_code = not in_code
                continue
            if in_code and rust:
                yield number, text.lstrip("# ")


def main(argv):
    repo = argv[0] if argv else os.path.join(os.path.dirname(__file__), "..")
    files = subprocess.check_output(["git", "ls-files", "src", "README.md"], cwd=repo, text=True)
    found = 0
    for name in files.split():
        if not (name.endswith(".rs") or name.endswith(".md")):
            continue
        for number, code in code_lines(os.path.join(repo, name)):
            code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', code)  # string contents
            code = code.split("//")[0]  # comments
            use = re.match(r"\s*(?:pub\s+)?use\s+([a-z_][a-z0-9_]*)", code)
            # In a `use`, only the first segment names a crate (`{rngs::StdRng}` is inside it).
            roots = [use.group(1)] if use else ROOT.findall(code)
            for root in roots:
                if root not in ALLOWED | PRIMITIVES:
                    print(f"{name}:{number}: `{root}::` in an example: {code}")
                    found += 1
    print(f"{found} doc examples name a crate other than feedforward")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
