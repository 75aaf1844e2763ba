#!/usr/bin/env python3
"""The include graph of the source tree against the allowed directions (docs/architecture.md).

Reads every #include of a project header in the C++ files outside tests/ and fails, naming the
file, line and rule, when a part includes a part it may not (a part reaching upward), a header
that does not exist, or a file of a folder that has no rules yet. Standard library only.

Usage: include_directions.py [--root DIR]   (default: the source tree this file is in)
Exit status: 0 when every include is allowed, 1 otherwise.
"""

import argparse
import os
import re
import sys

# What each part may include besides itself. Anything not listed is forbidden; the table is a
# DAG (checked below), so no two parts can include each other.
ALLOWED = {
    "common": set(),
    "model": {"common"},
    "data": {"model", "common"},
    "evaluator": {"data", "model", "common"},
    "compressors": {"evaluator", "data", "model", "common"},
    "hwmodels": {"evaluator", "model", "common"},
    "storage": {"common"},
    "search/moo": {"common"},
    "search/samplers": {"search/moo", "common"},
    "search/study": {"search/samplers", "search/moo", "storage", "compressors", "hwmodels",
                     "evaluator", "data", "model", "common"},
    "search/report": {"search/moo", "storage", "compressors", "common"},
    "cli": {"search/study", "search/report", "search/samplers", "search/moo", "storage",
            "compressors", "hwmodels", "evaluator", "data", "model", "common"},
    "bench/problems": {"search/samplers", "search/moo", "common"},
    "bench": {"bench/problems", "search/study", "search/report", "search/samplers", "search/moo",
              "storage", "compressors", "hwmodels", "evaluator", "data", "model", "common"},
}

# Parts with sub-parts: a file directly in the folder (none today) belongs to the folder itself.
NESTED = {"search": ("moo", "samplers", "study", "report"), "bench": ("problems",)}

SOURCE_EXT = (".hpp", ".cpp", ".h", ".cc", ".cxx", ".hh", ".inc")
SKIPPED_TOP = {"tests", "examples", "docs", "scripts"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def part_of(rel):
    """The part a repository-relative path belongs to ("search/study", "cli", ...)."""
    parts = rel.split("/")
    if len(parts) > 2 and parts[0] in NESTED and parts[1] in NESTED[parts[0]]:
        return parts[0] + "/" + parts[1]
    return parts[0]


def cycle_in(table):
    """A cycle of the allowed-direction table as a list of parts, or None."""
    state = {}

    def visit(p, path):
        if state.get(p) == "done":
            return None
        if state.get(p) == "open":
            return path[path.index(p):] + [p]
        state[p] = "open"
        for q in sorted(table.get(p, ())):
            found = visit(q, path + [p])
            if found:
                return found
        state[p] = "done"
        return None

    for p in sorted(table):
        found = visit(p, [])
        if found:
            return found
    return None


def source_files(root):
    """Repository-relative paths of the C++ files to check (not tests/, not build trees)."""
    out = []
    for top in sorted(os.listdir(root)):
        full = os.path.join(root, top)
        if (not os.path.isdir(full) or top.startswith(".") or top in SKIPPED_TOP
                or os.path.exists(os.path.join(full, "CMakeCache.txt"))):
            continue
        for d, dirs, files in os.walk(full):
            dirs[:] = sorted(x for x in dirs if not x.startswith("."))
            for f in sorted(files):
                if f.endswith(SOURCE_EXT):
                    out.append(os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/"))
    return out


def resolve(root, rel, kind, name):
    """The repository-relative header an include names, or None for a system header."""
    here = os.path.normpath(os.path.join(os.path.dirname(rel), name)).replace(os.sep, "/")
    if kind == '"' and os.path.isfile(os.path.join(root, here)):
        return here
    if os.path.isfile(os.path.join(root, name)):
        return os.path.normpath(name).replace(os.sep, "/")
    top = name.split("/")[0]
    if "/" in name and (top in ALLOWED or top in NESTED or top == "tests"):
        return name  # names a project folder but does not exist: reported as missing
    return None if kind == "<" else here


def violations(root):
    """Messages for every include that breaks a rule, in file order."""
    out = []
    cyc = cycle_in(ALLOWED)
    if cyc:
        out.append("rules: the allowed directions have a cycle: " + " -> ".join(cyc))
    for rel in source_files(root):
        src = part_of(rel)
        if src not in ALLOWED:
            out.append(f"{rel}: folder '{src}' has no rules in tests/include_directions.py")
            continue
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = resolve(root, rel, m.group(1), m.group(2))
                if target is None:
                    continue
                close = ">" if m.group(1) == "<" else '"'
                where = f"{rel}:{n}: #include {m.group(1)}{m.group(2)}{close}"
                if not os.path.isfile(os.path.join(root, target)):
                    out.append(f"{where}: no such header in the source tree")
                    continue
                dst = part_of(target)
                if dst == src:
                    continue
                if dst == "tests":
                    out.append(f"{where}: the tool includes nothing of tests/")
                elif dst not in ALLOWED[src]:
                    out.append(f"{where}: {src} may not include {dst} (allowed: "
                               f"{', '.join(sorted(ALLOWED[src])) or 'nothing'})")
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--root", default=default_root, help="source tree (default: %(default)s)")
    args = ap.parse_args(argv)
    found = violations(args.root)
    for v in found:
        print(v)
    checked = len(source_files(args.root))
    print(f"{checked} files checked, {len(found)} forbidden includes")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
