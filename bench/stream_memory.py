"""Memory per open stream, the full bench's 10,000-stream row alone and interleaved (issue 14).

    .venv/bin/python bench/stream_memory.py [--streams 10000] [--rounds 3] [--before DIR]
                                            [--breakdown] [--arena-max N] [--trim] [--drain]
                                            [--hold SECONDS]

Starts the bench's loopback nginx (bench/nginx.conf.template; /slow trickles the 200-chunk SSE
fixture at 2 KiB/s), then runs each row in its own subprocess, once per round, alternating the
order each round. A row is bench/peers.py `run_stream_memory` (what the full bench runs): one
`llmfailover.AsyncOpenAI` opens `--streams` streams at once, takes each one's first chunk, and
holds them all; the resident memory they added (VmRSS after minus before), per stream, is the
row's number. Then every stream is closed (`--drain`: read to its end, as the full bench does).

With `--before DIR` (another build's python/ directory, its _core beside the sources, e.g.
/work/main/python) every row runs against that build too. `--breakdown` adds, per row, where the
bytes are while the streams are held: the glibc heap (`mallinfo2()`: bytes in use, and the
arenas' size), Python's allocations by file:line (tracemalloc, started after the warm-up; it
slows the row and adds its own memory, so its RSS is not comparable with a plain row's), RSS
after `malloc_trim(0)`. Kernel socket buffers are not in RSS and not counted. `--arena-max N`
sets glibc's M_ARENA_MAX (MALLOC_ARENA_MAX) in the rows' environment; `--trim` calls
malloc_trim(0) before the held RSS is read; `--hold S` waits S seconds before reading it (the
fixture keeps trickling: what arrives meanwhile is parsed and waits for the reader, so the
number grows with the time between a stream's first chunk and the reading, about the time to
open them all).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from peers import drain_stream, open_held_stream, rss_kib  # this script's directory is on sys.path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


class Mallinfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


_libc = ctypes.CDLL(None)
_libc.mallinfo2.restype = Mallinfo2


def heap() -> dict[str, int]:
    """glibc's heap over every arena: bytes handed out (in use, mmapped chunks included) and
    bytes the arenas hold from the system (sbrk/heap space plus mmapped chunks)."""
    m = _libc.mallinfo2()
    return {"in_use": m.uordblks + m.hblkhd, "arenas": m.arena + m.hblkhd}


def mappings() -> dict[str, int]:
    """Resident KiB of this process by kind of mapping (/proc/self/smaps): [heap] (glibc's main
    arena: what the Python thread mallocs, Python's objects over 512 bytes included), other
    anonymous memory (the io threads' glibc arenas, pymalloc's arenas, stacks, big blocks)."""
    out = {"main_heap": 0, "anon": 0}
    kind = ""
    with open("/proc/self/smaps") as f:
        for line in f:
            first = line.split()
            if "-" in first[0] and len(first) >= 5 and ":" in first[3]:
                name = first[5] if len(first) > 5 else ""
                kind = "main_heap" if name == "[heap]" else "" if name else "anon"
            elif first[0] == "Rss:" and kind:
                out[kind] += int(first[1])
    return out


def pymalloc_arenas() -> int:
    """Bytes in pymalloc's arenas now (sys._debugmallocstats, which writes to fd 2)."""
    import tempfile

    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(tmp.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    for line in text.splitlines():
        if "bytes/arena" in line:
            return int(line.rsplit("=", 1)[1].strip().replace(",", ""))
    return 0


def use_package(root: str) -> None:
    """Imports llmfailover from `root` instead of this worktree's editable install (bench/stream_cpu.py)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith("_editable_skbc")]
    sys.path.insert(0, root)


def run_row(port: int, n: int, breakdown: bool, trim: bool, drain_all: bool, hold: float) -> dict[str, Any]:
    import asyncio
    import tracemalloc

    import llmfailover

    base_url = f"http://127.0.0.1:{port}/slow/v1"

    async def main() -> dict[str, Any]:
        client = llmfailover.AsyncOpenAI(
            base_url=base_url, api_key="bench", max_retries=0, timeout=600, max_connections_per_origin=n
        )

        await drain_stream(await open_held_stream(client))  # warm-up: imports, the first connection
        if breakdown:
            tracemalloc.start(1)
            snap0 = tracemalloc.take_snapshot()
        before, heap0, maps0, py0 = rss_kib(), heap(), mappings(), pymalloc_arenas()
        t0 = time.perf_counter()
        streams = await asyncio.gather(*(open_held_stream(client) for _ in range(n)))
        opened = time.perf_counter() - t0
        out: dict[str, Any] = {}
        if hold:  # the upstream keeps writing: what arrives meanwhile waits, parsed, for the reader
            await asyncio.sleep(hold)
        if trim:
            _libc.malloc_trim(0)
        held, heap1, maps1, py1 = rss_kib(), heap(), mappings(), pymalloc_arenas()
        out.update({f"{k}_b": (maps1[k] - maps0[k]) * 1024 / n for k in maps0})
        out["pymalloc_arenas_b"] = (py1 - py0) / n
        if breakdown:
            snap1 = tracemalloc.take_snapshot()
            traced, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            stats = snap1.compare_to(snap0, "lineno")
            out["python_b"] = sum(s.size_diff for s in stats) / n
            out["python_top"] = [
                (f"{Path(s.traceback[0].filename).name}:{s.traceback[0].lineno}", s.size_diff / n, s.count_diff / n)
                for s in stats[:12]
            ]
            _libc.malloc_trim(0)
            out["trimmed_kib"] = (rss_kib() - before) / n
        out.update(
            {
                "kib_per_stream": (held - before) / n,
                "heap_in_use_b": (heap1["in_use"] - heap0["in_use"]) / n,
                "heap_arenas_b": (heap1["arenas"] - heap0["arenas"]) / n,
                "open_s": opened,
            }
        )
        if os.environ.get("LLMF_BENCH_EXIT_HELD"):  # for heaptrack: what is still allocated = what is held
            print(json.dumps(out), flush=True)
            os._exit(0)
        if drain_all:  # as the full bench does (the fixture at 2 KiB/s: about a minute)
            out["chunks"] = sorted(set(await asyncio.gather(*(drain_stream(s) for s in streams))))
        else:
            for s in streams:
                await s.close()
        await client.close()
        return out

    return asyncio.run(main())


def label(row: str) -> str:
    return row.split("@", 1)[0] + (" (before)" if "@" in row else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before", help="rows again with the llmfailover package in this dir (another build's python/)")
    ap.add_argument("--breakdown", action="store_true", help="glibc heap and tracemalloc per stream")
    ap.add_argument("--arena-max", type=int, help="MALLOC_ARENA_MAX for the rows")
    ap.add_argument("--trim", action="store_true", help="malloc_trim(0) before the held RSS is read")
    ap.add_argument(
        "--drain", action="store_true", help="read every stream to its end (the full bench does) instead of closing it"
    )
    ap.add_argument("--hold", type=float, default=0.0, help="seconds to wait between opening and reading RSS")
    ap.add_argument("--row", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row:
        if "@" in args.row:
            use_package(args.row.split("@", 1)[1])
        print(json.dumps(run_row(args.port, args.streams, args.breakdown, args.trim, args.drain, args.hold)))
        return 0
    sys.path.insert(0, str(REPO / "tests" / "py"))
    from _servers import free_port, start_nginx, temp_dir

    port = free_port()
    prefix = temp_dir("llmf-streammem-nginx-")
    nginx = start_nginx(BENCH / "nginx.conf.template", prefix, [port], PORT=port, FIXTURES=BENCH / "fixtures")
    rows = [f"llmfailover@{args.before}", "llmfailover"] if args.before else ["llmfailover"]
    env = dict(os.environ)
    if args.arena_max:
        env["MALLOC_ARENA_MAX"] = str(args.arena_max)
    results: dict[str, list[dict[str, Any]]] = {r: [] for r in rows}
    load0 = os.getloadavg()[0]
    try:
        for rnd in range(args.rounds):
            for row in rows if rnd % 2 == 0 else rows[::-1]:
                cmd = [sys.executable, __file__, "--row", row, "--port", str(port), "--streams", str(args.streams)]
                cmd += ["--hold", str(args.hold)]
                cmd += [f"--{flag}" for flag in ("breakdown", "trim", "drain") if getattr(args, flag)]
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
                if p.returncode != 0:
                    print(f"{row}: {p.stderr.strip().splitlines()[-3:]}", file=sys.stderr)
                    continue
                r = json.loads(p.stdout.strip().splitlines()[-1])
                results[row].append(r)
                shown = {k: v for k, v in r.items() if isinstance(v, float)}
                print(f"  round {rnd + 1} {label(row):<22} " + " ".join(f"{k}={v:.2f}" for k, v in shown.items()))
                for name, size, count in r.get("python_top", []):
                    print(f"      {name:<40} {size:8.1f} B/stream {count:6.2f} blocks/stream")
                sys.stdout.flush()
    finally:
        nginx.stop()
        shutil.rmtree(prefix, ignore_errors=True)
    load1 = os.getloadavg()[0]
    print()
    print(
        f"{args.streams:,} streams held past their first chunk, {args.rounds} rounds, "
        f"load {load0:.1f} -> {load1:.1f} (median of rounds; min-max)"
    )
    print()
    print(
        "| row | KiB per stream | glibc heap in use, B/stream | glibc arenas, B/stream | "
        "pymalloc arenas, B/stream | open all, s |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for row, rs in results.items():
        if not rs:
            continue
        kib = [r["kib_per_stream"] for r in rs]
        print(
            f"| {label(row)} | {statistics.median(kib):.1f} ({min(kib):.1f}-{max(kib):.1f}) | "
            f"{statistics.median(r['heap_in_use_b'] for r in rs):.0f} | "
            f"{statistics.median(r['heap_arenas_b'] for r in rs):.0f} | "
            f"{statistics.median(r['pymalloc_arenas_b'] for r in rs):.0f} | "
            f"{statistics.median(r['open_s'] for r in rs):.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
