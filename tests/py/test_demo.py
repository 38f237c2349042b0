"""The README's demo (examples/demo.py, run by scripts/demo.sh) tells the whole failover story
and answers every request: run with a short setting, as CI runs it (no terminal: plain lines)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


def test_demo_answers_every_request_through_an_outage_and_a_cut_stream() -> None:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(DEMO), "--requests", "24", "--pace", "0.05"],
        capture_output=True,
        text=True,
        timeout=90,
        env=dict(os.environ, TERM="dumb"),
        stdin=subprocess.DEVNULL,
    )
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "\x1b[" not in out  # not a terminal: no cursor moves or colours in a log
    lines = re.findall(r"^\[\s*(\d+)/24\] (stream|plain ) (.+?)\s{2,}", out, re.M)
    assert [int(n) for n, _, _ in lines] == list(range(1, 25))  # progress: one line per request
    served = [what.strip() for _, _, what in lines]
    assert "NOT ANSWERED" not in served and "24/24 requests answered in full" in out
    assert served.count("RESCUED stream") == 1  # the cut stream, finished by the backup
    assert "primary=open" in out  # the outage opened the primary's breaker ...
    down, up = out.index("the primary goes down"), out.index("the primary is back up")
    assert "served by backup" in out[down:up]  # ... traffic went to the backup meanwhile ...
    assert served[-1] == "served by primary"  # ... and came back once it recovered
    assert "breakers at the end: primary closed" in out
    assert took < 60, f"the short demo took {took:.0f} s"
