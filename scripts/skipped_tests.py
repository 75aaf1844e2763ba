#!/usr/bin/env python3
"""The skipped test cases of a test run, with their reasons, from gtest's XML reports.

Usage: skipped_tests.py DIR...  (each DIR holds the <entry>.xml files the CTest entries wrote)
Prints, under a header naming DIR, one line per reason: the suite, how many cases, the reason (a
leading "[category]" of a skip message groups its cases) and the cases; a case alone in its group
gets its full reason.
"""
import collections
import pathlib
import re
import sys
import xml.etree.ElementTree as ET


def reason_of(message):
    """gtest's skip message is "file:line\n[Skipped\n]<reason>": the reason on one line."""
    lines = [l.strip() for l in (message or "").splitlines() if l.strip()]
    if lines and re.fullmatch(r"\S+:\d+", lines[0]):
        lines = lines[1:]
    if lines and lines[0] == "Skipped":
        lines = lines[1:]
    return " ".join(lines).split(" Google Test trace:")[0]


def skipped(directory):
    """(suite, case, reason) of every skipped case in the XML reports under directory."""
    found = []
    for path in sorted(pathlib.Path(directory).glob("*.xml")):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:  # a binary that crashed mid-write: say so, do not hide it
            found.append((path.stem, "", f"unreadable report ({e})"))
            continue
        for case in root.iter("testcase"):
            s = case.find("skipped")
            if s is None and case.get("result") != "skipped":
                continue
            message = s.get("message") if s is not None else ""
            found.append((case.get("classname"), case.get("name"), reason_of(message)))
    return sorted(set(found))


def grouped(cases):
    """{(suite, reason or its [category]): [(case, reason), ...]}, in order."""
    groups = collections.OrderedDict()
    for suite, case, reason in cases:
        category = re.match(r"\[[^\]]+\]", reason)
        key = (suite, category.group(0) if category else reason)
        groups.setdefault(key, []).append((case, reason))
    return groups


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for directory in argv[1:]:
        cases = skipped(directory)
        print(f"skipped in {directory}: {len(cases)} cases")
        for (suite, reason), members in grouped(cases).items():
            if len(members) == 1:  # alone: its own reason in full
                print(f"  {suite}.{members[0][0]}: {members[0][1]}")
            else:
                names = ", ".join(case for case, _ in members)
                print(f"  {suite} ({len(members)} cases) {reason}: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
