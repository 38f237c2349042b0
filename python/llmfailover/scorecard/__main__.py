"""``python -m llmfailover.scorecard [--markdown] [--jobs N] [NAME ...]``: one line per fault.

Lines print as scenarios finish (they run at once), then the table in catalogue order, then the
machine it ran on. Exit status 0 when every scenario ran (targets missed are reported, not
failures: the catalogue's pytest suite is the pass/fail gate), 1 when a scenario itself broke,
2 for an unknown name.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from typing import Optional

from ._runner import Result, run_all
from ._scenarios import by_name

COLUMNS = ("fault", "outcome", "target", "time", "attempts", "note")


def _attempts(r: Result) -> str:
    order = ["primary", "sibling", "backup"]
    keys = sorted(r.attempts, key=lambda k: (order.index(k) if k in order else 9, k))
    return " ".join(f"{k} {r.attempts[k]}" for k in keys) or "-"


def _note(r: Result) -> str:
    measured = "; ".join(r.measured)
    if r.met:
        return measured
    why = r.failed[0] if r.failed else r.note or f"expected {r.scenario.expect}"
    rule = r.scenario.gap.replace("issue 11: ", "") if r.scenario.gap else "not a known gap"
    return f"{why} [{rule}]"


def row(r: Result) -> tuple[str, ...]:
    return (r.scenario.fault, r.verdict, "met" if r.met else "MISSED", f"{r.seconds:.1f} s", _attempts(r), _note(r))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    load = f", load {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{when}, {os.cpu_count()} vCPUs ({cpu}){load}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def plain_table(results: list[Result]) -> str:
    rows = [COLUMNS] + [row(r) for r in results]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1] for r in rows)


def markdown_table(results: list[Result]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in results:
        cells = list(row(r))
        cells[2] = cells[2] if r.met else f"**{cells[2]}**"
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmfailover.scorecard", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--jobs", type=int, default=64, help="scenarios run at once (default: all)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)
    try:
        scenarios = by_name(args.names)
    except ValueError as e:
        parser.error(str(e))
    if args.list:
        for s in scenarios:
            print(f"{s.name:32} {s.fault}")
        return 0
    started = time.monotonic()
    print(
        f"running {len(scenarios)} fault scenarios at once, default policy, one healthy fallback ...",
        file=sys.stderr,
        flush=True,
    )

    def progress(r: Result) -> None:
        print(
            f"  [{time.monotonic() - started:5.1f} s] {r.scenario.name}: {r.verdict}, "
            f"target {'met' if r.met else 'missed'}",
            file=sys.stderr,
            flush=True,
        )

    results = run_all(scenarios, on_result=progress, workers=args.jobs)
    ordered = [results[s.name] for s in scenarios]
    print(markdown_table(ordered) if args.markdown else plain_table(ordered))
    counts = {v: sum(r.verdict == v for r in ordered) for v in ("rescued", "clean error", "unsafe", "harness error")}
    met = sum(r.met for r in ordered)
    broken = f", {counts['harness error']} HARNESS ERRORS" if counts["harness error"] else ""
    print(
        f"\n{counts['rescued']} rescued, {counts['clean error']} clean errors, {counts['unsafe']} unsafe{broken}; "
        f"target met {met}/{len(ordered)}; {time.monotonic() - started:.0f} s in all"
    )
    print(f"machine: {machine()}")
    return 1 if counts["harness error"] else 0


if __name__ == "__main__":
    sys.exit(main())
