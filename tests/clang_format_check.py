#!/usr/bin/env python3
"""Every tracked C++ file formatted by the repository's .clang-format.

Runs `clang-format --dry-run --Werror` over the .cpp/.hpp files git tracks (every such file below
the root, build trees left out, when the tree is not a git checkout) and fails, listing the files
whose formatting differs. Fix them with `clang-format -i FILE...`.

Usage: clang_format_check.py [--root DIR] [--clang-format PROGRAM]
Exit status: 0 when every file is formatted, 1 otherwise, 77 (CTest's skip) without clang-format.
"""

import argparse
import os
import shutil
import subprocess
import sys

SOURCE_EXT = (".cpp", ".hpp")
SKIP = 77


def source_files(root):
    """Repository-relative paths of the C++ files to check, sorted."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--", "*.cpp", "*.hpp"],
                             check=True, capture_output=True).stdout.decode()
        files = [f for f in out.split("\0") if f.endswith(SOURCE_EXT)]
        return sorted(f for f in files if os.path.isfile(os.path.join(root, f)))
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".")
                   and not os.path.exists(os.path.join(d, x, "CMakeCache.txt"))]
        files += [os.path.relpath(os.path.join(d, n), root) for n in names if n.endswith(SOURCE_EXT)]
    return sorted(f.replace(os.sep, "/") for f in files)


def unformatted(root, program, files):
    """The files clang-format would change."""
    bad = []
    for k in range(0, len(files), 50):  # a few processes, not one per file
        batch = files[k:k + 50]
        r = subprocess.run([program, "--dry-run", "--Werror", "--style=file"] + batch, cwd=root,
                           capture_output=True, text=True)
        if r.returncode == 0:
            continue
        for f in batch:  # which of the batch: rerun one by one
            one = subprocess.run([program, "--dry-run", "--Werror", "--style=file", f], cwd=root,
                                 capture_output=True, text=True)
            if one.returncode != 0:
                bad.append(f)
    return bad


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--root", default=default_root, help="source tree (default: %(default)s)")
    ap.add_argument("--clang-format", default="clang-format", help="the program to run")
    args = ap.parse_args(argv)
    program = shutil.which(args.clang_format)
    if not program:
        print(f"{args.clang_format} not found: skipped (scripts/setup.sh installs it)")
        return SKIP
    files = source_files(args.root)
    bad = unformatted(args.root, program, files)
    for f in bad:
        print(f"{f}: not formatted as .clang-format says (clang-format -i {f})")
    print(f"{len(files)} files checked, {len(bad)} not formatted")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
