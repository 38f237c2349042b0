"""Streaming CPU per chunk and time to first chunk, interleaved rows (issue 14), not the full bench.

    .venv/bin/python bench/stream_cpu.py [--streams 100] [--rounds 3] [--placement free|one|apart]
                                         [--rows http.client,llmfailover,routed,async]

Starts the bench's loopback nginx (bench/nginx.conf.template, the 200-chunk SSE fixture), then
runs every row once per round in its own subprocess, alternating the order each round. A row
reads `--streams` streams after 10 warm-up streams and reports: time to first chunk p50 and p99, CPU per
chunk over all threads (getrusage), the calling thread's share and the other threads' (the io
thread; /proc/self/task/<tid>/stat), and voluntary context switches per stream. Placements as
bench/peers.py: one (every thread on one vCPU), apart (caller on one, the rest on the other),
free (no pinning). Prints one Markdown table with the median of the rounds per row.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from peers import MESSAGES, MODEL, pin_after, pin_before  # this script's directory is on sys.path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
TICK = os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[int, float]:
    """tid -> user+system seconds of every thread of this process."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def make_streams(row: str, port: int) -> Callable[[], Iterator[Any]]:
    base = f"http://127.0.0.1:{port}/stream/v1"
    if row == "http.client":
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", port)
        body = json.dumps({"model": MODEL, "messages": MESSAGES, "stream": True}).encode()
        headers = {"Content-Type": "application/json", "Authorization": "Bearer bench"}

        def chunks() -> Iterator[Any]:
            conn.request("POST", "/stream/v1/chat/completions", body, headers)
            resp = conn.getresponse()
            while line := resp.readline():
                if line.startswith(b"data: "):
                    if line.startswith(b"data: [DONE]"):
                        break
                    yield json.loads(line[6:])
            resp.read()

        return chunks
    import llmfailover

    if row == "routed":
        dep = {"id": "nginx", "model": MODEL, "base_url": base, "api_key": "bench"}
        client = llmfailover.OpenAI(config={"groups": {MODEL: {"deployments": [dep]}}}, max_retries=0)
    else:
        client = llmfailover.OpenAI(base_url=base, api_key="bench", max_retries=0)

    def chunks() -> Iterator[Any]:
        for c in client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
            c.choices[0].delta.content
            yield c

    return chunks


def label(row: str) -> str:
    return row.split("@", 1)[0] + (" (before)" if "@" in row else "")


def use_package(root: str) -> None:
    """Imports llmfailover from `root` (a checkout's python/ with its _core beside the sources)
    instead of this worktree's editable install, for the rows of another build ("before")."""
    sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith("_editable_skbc")]
    sys.path.insert(0, root)


def run_row(row: str, port: int, n: int, placement: str) -> dict[str, Any]:
    pin_before(placement)
    if row == "async":
        return run_async(port, n, placement)
    chunks = make_streams(row, port)
    for _ in range(10):
        for _ in chunks():
            pass
    pin_after(placement)
    me = threading.get_native_id()
    ttfc, count = [], 0
    ru0, th0 = resource.getrusage(resource.RUSAGE_SELF), thread_cpu()
    for _ in range(n):
        t0 = time.perf_counter()
        first = None
        for _ in chunks():
            count += 1
            if first is None:
                first = time.perf_counter()
        assert first is not None
        ttfc.append(first - t0)
    return summary(ru0, th0, me, ttfc, count, n)


def summary(ru0: Any, th0: dict[int, float], me: int, ttfc: list[float], count: int, n: int) -> dict[str, Any]:
    """One row's numbers since (ru0, th0): process CPU per chunk, split into the caller's thread
    (``me``) and the others, the median time to first chunk, context switches per stream."""
    ru1, th1 = resource.getrusage(resource.RUSAGE_SELF), thread_cpu()
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    caller = th1.get(me, 0.0) - th0.get(me, 0.0)
    return {
        "ttfc_us": statistics.median(ttfc) * 1e6,
        "ttfc_p99_us": statistics.quantiles(ttfc, n=100)[98] * 1e6 if len(ttfc) > 1 else ttfc[0] * 1e6,
        "cpu_chunk_us": cpu / count * 1e6,
        "caller_chunk_us": caller / count * 1e6,
        "other_chunk_us": (cpu - caller) / count * 1e6,
        "csw_stream": (ru1.ru_nvcsw - ru0.ru_nvcsw) / n,
        "chunks": count // n,
    }


def run_async(port: int, n: int, placement: str) -> dict[str, Any]:
    import asyncio

    import llmfailover

    async def main() -> dict[str, Any]:
        client = llmfailover.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/stream/v1", api_key="bench", max_retries=0)

        async def one() -> tuple[float, int]:
            t0 = time.perf_counter()
            first, count = 0.0, 0
            async for c in await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
                c.choices[0].delta.content
                count += 1
                if not first:
                    first = time.perf_counter() - t0
            return first, count

        for _ in range(10):
            await one()
        pin_after(placement)
        me = threading.get_native_id()
        ttfc, count = [], 0
        ru0, th0 = resource.getrusage(resource.RUSAGE_SELF), thread_cpu()
        for _ in range(n):
            f, c = await one()
            ttfc.append(f)
            count += c
        result = summary(ru0, th0, me, ttfc, count, n)
        await client.close()
        return result

    return asyncio.run(main())


def breakdown(port: int, n: int, routed: bool) -> dict[str, float]:
    """In one process: the caller's CPU per chunk of real streams, split into the typed chunk
    (model_validate_json over the fixture's lines), the Python iterator (the same Stream over the
    same events already in memory, with a class whose model_validate_json returns its input), and
    the rest: the hand-off (waits, wake-ups, events crossing into Python)."""
    from llmfailover._exchange import Exchange
    from llmfailover._http import Request
    from llmfailover._routing import FinishedCall
    from llmfailover._streaming import Stream

    real = breakdown_real(port, n, routed)
    lines = [
        line[6:]
        for line in (BENCH / "fixtures" / "chat_stream_200.sse").read_bytes().split(b"\n")
        if line.startswith(b"data: ")
    ]
    from openai.types.chat import ChatCompletionChunk

    chunks = [line for line in lines if line != b"[DONE]"]
    validate = ChatCompletionChunk.__pydantic_validator__.validate_json  # as _streaming.py calls it
    t0 = time.thread_time()
    for _ in range(n):
        for line in chunks:
            validate(line)
    typed = (time.thread_time() - t0) / (n * len(chunks))

    class Raw:
        @staticmethod
        def model_validate_json(data: bytes, **kw: Any) -> bytes:
            return data

    events: list[Any] = [("head", 200, [("content-type", "text/event-stream")])]
    events += [("sse", "", line, "") for line in lines] + [("end",)]
    request = Request("POST", "http://x/v1/chat/completions")
    t0 = time.thread_time()
    for _ in range(n):
        ex = Exchange(request)
        ex.feed(events[:1])
        call = FinishedCall(events[1:])
        for _ in Stream(call=call, exchange=ex, cast_to=Raw, strict=False):
            pass
    iterator = (time.thread_time() - t0) / (n * len(chunks))
    return {
        "caller_us": real["caller"] * 1e6,
        "io_us": real["other"] * 1e6,
        "typed_us": typed * 1e6,
        "iterator_us": iterator * 1e6,
        "handoff_us": (real["caller"] - typed - iterator) * 1e6,
    }


def breakdown_real(port: int, n: int, routed: bool) -> dict[str, float]:
    chunks = make_streams("routed" if routed else "llmfailover", port)
    for _ in range(10):
        for _ in chunks():
            pass
    me = threading.get_native_id()
    count = 0
    ru0, th0 = resource.getrusage(resource.RUSAGE_SELF), thread_cpu()
    c0 = time.thread_time()
    for _ in range(n):
        for _ in chunks():
            count += 1
    caller = time.thread_time() - c0
    ru1, th1 = resource.getrusage(resource.RUSAGE_SELF), thread_cpu()
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    tick_caller = th1.get(me, 0.0) - th0.get(me, 0.0)
    return {"caller": caller / count, "other": (cpu - tick_caller) / count}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--placement", default="free", choices=("free", "one", "apart"))
    ap.add_argument("--rows", default="http.client,llmfailover,routed")
    ap.add_argument(
        "--breakdown", action="store_true", help="split the caller's CPU per chunk (rows: llmfailover, routed)"
    )
    ap.add_argument("--before", help="rows again with the llmfailover package in this dir (another build's python/)")
    ap.add_argument("--row", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row and "@" in args.row:  # "llmfailover@/path/to/other/python": that build's package
        args.row, root = args.row.split("@", 1)
        use_package(root)
    if args.row and args.breakdown:
        print(json.dumps(breakdown(args.port, args.streams, args.row == "routed")))
        return 0
    if args.row:
        print(json.dumps(run_row(args.row, args.port, args.streams, args.placement)))
        return 0
    sys.path.insert(0, str(REPO / "tests" / "py"))
    from _servers import free_port, start_nginx, temp_dir

    port = free_port()
    prefix = temp_dir("llmf-streamcpu-nginx-")
    nginx = start_nginx(BENCH / "nginx.conf.template", prefix, [port], PORT=port, FIXTURES=BENCH / "fixtures")
    rows = args.rows.split(",")
    if args.before:
        rows = [r for row in rows for r in ([row] if row == "http.client" else [f"{row}@{args.before}", row])]
    results: dict[str, list[dict[str, Any]]] = {r: [] for r in rows}
    load0 = os.getloadavg()[0]
    try:
        for rnd in range(args.rounds):
            for row in rows if rnd % 2 == 0 else rows[::-1]:
                cmd = [sys.executable, __file__, "--row", row, "--port", str(port), "--streams", str(args.streams)]
                cmd += ["--placement", args.placement] + (["--breakdown"] if args.breakdown else [])
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                if p.returncode != 0:
                    print(f"{row}: {p.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                    continue
                r = json.loads(p.stdout.strip().splitlines()[-1])
                results[row].append(r)
                print(
                    f"  round {rnd + 1} {label(row):<22} " + " ".join(f"{k}={v:.2f}" for k, v in r.items()), flush=True
                )
    finally:
        nginx.stop()
        shutil.rmtree(prefix, ignore_errors=True)
    load1 = os.getloadavg()[0]
    print()
    print(
        f"{args.streams} streams x 200 chunks, {args.rounds} rounds, placement {args.placement}, "
        f"load {load0:.1f} -> {load1:.1f} (median of rounds)"
    )
    print()
    if args.breakdown:
        keys = ("caller_us", "typed_us", "iterator_us", "handoff_us", "io_us")
        print("| row | caller µs / chunk | typed chunk | Python iterator | hand-off (rest) | io thread |")
        print("|---|---:|---:|---:|---:|---:|")
        for row, rs in results.items():
            if rs:
                print(
                    f"| {label(row)} | " + " | ".join(f"{statistics.median(r[k] for r in rs):.2f}" for k in keys) + " |"
                )
        return 0
    print("| row | first chunk p50 µs | p99 µs | CPU µs / chunk | caller | other threads | vol. ctx sw / stream |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row, rs in results.items():
        if not rs:
            continue

        def med(k: str, rs: list[dict[str, Any]] = rs) -> float:
            return statistics.median(r[k] for r in rs)

        print(
            f"| {label(row)} | {med('ttfc_us'):.0f} | {med('ttfc_p99_us'):.0f} | {med('cpu_chunk_us'):.2f} | {med('caller_chunk_us'):.2f} | "
            f"{med('other_chunk_us'):.2f} | {med('csw_stream'):.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
