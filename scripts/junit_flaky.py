"""Helpers of scripts/test.sh for a pytest run that failed a few tests once.

junit_flaky.py count FILE   exit 0 when FILE records 1 to 3 failed tests, else 1
junit_flaky.py forget FILE  print the failed tests (``classname::name: first line``) and rewrite
                            FILE without their failures (called after they passed when re-run)
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

MAX_RERUN = 3


def failures(case: ET.Element) -> list[ET.Element]:
    return [x for x in case if x.tag in ("failure", "error")]


def main(verb: str, path: str) -> int:
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        return 1
    bad = [case for case in tree.getroot().iter("testcase") if failures(case)]
    if verb == "count":
        return 0 if 1 <= len(bad) <= MAX_RERUN else 1
    for case in bad:
        first = failures(case)[0]
        why = (first.get("message") or "").strip().splitlines()[:1]
        print(f"{case.get('classname')}::{case.get('name')}: {why[0][:300] if why else ''}")
        for x in failures(case):
            case.remove(x)
    tree.write(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
