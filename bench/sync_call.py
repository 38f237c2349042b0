"""The plain sync client's cost per call, row by row, interleaved (docs/performance.md, "The sync
client, per call"). Not part of the timed tests and not the full bench (bench/run.py).

    .venv/bin/python bench/sync_call.py                       # 3 rounds x 2,000 calls, every row and placement
    .venv/bin/python bench/sync_call.py --rounds 5 --n 3000 --placements one free
    .venv/bin/python bench/sync_call.py --profile llmfailover  # cProfile of a create() loop

Rows (each in its own subprocess, after a warm-up, against one loopback nginx serving
bench/fixtures/chat_completion.json):
  http.client   one keep-alive http.client connection, the request encoded once, json.loads of the answer
                (bench/peers.py's row)
  native        the plain client's native round trip only: Router.send_plain + Call.wait(until_end)
  llmfailover   llmfailover.OpenAI().chat.completions.create(...).choices[0].message.content
  routed        OpenAI(config=...): one group of one healthy deployment (bench/peers.py's llmfailover-routed)
  open-circuit  the group's only target forced open, served by a healthy fallback group
                (bench/peers.py's llmfailover-open-circuit)
  openai        the openai SDK, for scale (only with --rows openai)

Every round runs each row once per placement, in alternating order (bench/peers.py's placements:
one vCPU, pinned apart, free). Per row: p50 and p99 wall time, CPU per call (user+system over all
the process's threads, getrusage), and context switches per call: voluntary ones of the calling
thread and of the whole process (each one a sleep and a wake-up), involuntary ones of the process.
The table gives the median over the rounds, and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
import peers  # noqa: E402  (bench/peers.py: placements)

MESSAGES = peers.MESSAGES
MODEL = peers.MODEL
ROWS = ("http.client", "native", "llmfailover")
ROUTED = ("routed", "open-circuit")  # only with --rows


def make_call(kind: str, port: int) -> Callable[[], Any]:
    base = f"http://127.0.0.1:{port}/v1"
    if kind == "http.client":
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Content-Type": "application/json", "Authorization": "Bearer bench"}
        body = json.dumps({"model": MODEL, "messages": MESSAGES}).encode()  # once, as bench/peers.py does

        def stdlib() -> Any:
            conn.request("POST", "/v1/chat/completions", body, headers)
            resp = conn.getresponse()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            return json.loads(resp.read())["choices"][0]["message"]["content"]

        return stdlib
    if kind == "openai":
        import openai

        client: Any = openai.OpenAI(base_url=base, api_key="bench", max_retries=0)
    elif kind in ROUTED:
        import llmfailover

        # Nothing listens on the dead deployment's port: its breaker is forced open, so no call goes there.
        config = peers.routed_config(base, "http://127.0.0.1:9/v1", open_circuit=kind == "open-circuit")
        client = llmfailover.OpenAI(config=config)
    else:
        import llmfailover

        client = llmfailover.OpenAI(base_url=base, api_key="bench", max_retries=0)
    if kind == "native":
        native = getattr(client, "_native", client)  # with openai installed: the look-alike client inside
        upstream, timeouts = native._upstream, native._native_timeouts(native.timeout)
        engine = getattr(native._engine, "engine", None)  # a build before the pass-through router: Engine.send
        send = engine.send if engine is not None else native._engine.router.send_plain
        body = json.dumps({"model": MODEL, "messages": MESSAGES}).encode()

        def native() -> Any:
            call = send(
                upstream,
                method="POST",
                path="/chat/completions",
                body=body,
                model=MODEL,
                timeouts=timeouts,
                max_retries=0,
            )
            events = call.wait(0.5, True)
            while events[-1][0] not in ("end", "error"):
                events += call.wait(0.5, True)
            return events

        return native
    create = client.chat.completions.create
    return lambda: create(model=MODEL, messages=MESSAGES).choices[0].message.content


def switches(who: int) -> tuple[int, int]:
    u = resource.getrusage(who)
    return u.ru_nvcsw, u.ru_nivcsw


def run_row(spec: dict[str, Any]) -> dict[str, Any]:
    placement, n = spec["placement"], spec["n"]
    peers.pin_before(placement)
    call = make_call(spec["row"], spec["port"])
    for _ in range(min(300, n)):
        call()
    peers.pin_after(placement)
    for _ in range(30):
        call()
    lat = []
    self_cs0, thread_cs0 = switches(resource.RUSAGE_SELF), switches(resource.RUSAGE_THREAD)
    cpu0, wall0 = peers.cpu_seconds(), time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        lat.append(time.perf_counter() - t0)
    wall, cpu = time.perf_counter() - wall0, peers.cpu_seconds() - cpu0
    self_cs, thread_cs = switches(resource.RUSAGE_SELF), switches(resource.RUSAGE_THREAD)
    return {
        "p50_us": peers.pct(lat, 50) * 1e6,
        "p99_us": peers.pct(lat, 99) * 1e6,
        "cpu_us": cpu / n * 1e6,
        "rps": n / wall,
        "vcs_caller": (thread_cs[0] - thread_cs0[0]) / n,
        "vcs_process": (self_cs[0] - self_cs0[0]) / n,
        "ivcs_process": (self_cs[1] - self_cs0[1]) / n,
        "threads": len(os.listdir("/proc/self/task")),
    }


def profile(row: str, port: int, n: int) -> None:
    import cProfile
    import pstats

    call = make_call(row, port)
    for _ in range(300):
        call()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        call()
    prof.disable()
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(40)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=2000, help="calls per row (after the warm-up)")
    ap.add_argument("--rows", nargs="+", default=list(ROWS), choices=[*ROWS, *ROUTED, "openai"])
    ap.add_argument("--placements", nargs="+", default=list(peers.PLACEMENTS), choices=peers.PLACEMENTS)
    ap.add_argument("--profile", choices=[*ROWS, *ROUTED, "openai"], help="cProfile this row's loop instead")
    ap.add_argument("--port", type=int, help="an nginx already serving bench/nginx.conf.template")
    ap.add_argument("--json", type=Path, help="also write every row's result here")
    ap.add_argument(
        "--baseline",
        metavar="NAME=PYTHON",
        action="append",
        default=[],
        help="also run the llmfailover, native and routed rows with this interpreter (another build, e.g. "
        "base=/path/to/main/.venv/bin/python), as rows named 'ROW@NAME'; repeatable",
    )
    ap.add_argument("--row", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row:
        print(json.dumps(run_row(json.loads(args.row))))
        return 0

    sys.path.insert(0, str(REPO / "tests" / "py"))
    from _servers import free_port, start_nginx, temp_dir

    nginx = prefix = None
    port = args.port
    if port is None:
        port = free_port()
        prefix = temp_dir("llmf-bench-nginx-")
        nginx = start_nginx(BENCH / "nginx.conf.template", prefix, [port], PORT=port, FIXTURES=BENCH / "fixtures")
    try:
        if args.profile:
            profile(args.profile, port, args.n)
            return 0
        load0 = os.getloadavg()
        results: list[dict[str, Any]] = []
        rows = list(args.rows)
        pythons = dict(b.split("=", 1) for b in args.baseline)
        for name in pythons:
            rows += [f"{r}@{name}" for r in args.rows if r in ("native", "llmfailover", *ROUTED)]
        args.rows = rows
        order = [(r, p) for p in args.placements for r in rows]
        for rnd in range(args.rounds):
            for row, placement in order if rnd % 2 == 0 else order[::-1]:
                python = pythons[row.split("@")[1]] if "@" in row else sys.executable
                spec = {"row": row.split("@")[0], "placement": placement, "n": args.n, "port": port}
                p = subprocess.run(
                    [python, __file__, "--row", json.dumps(spec)], capture_output=True, text=True, timeout=600
                )
                if p.returncode != 0:
                    print(f"{row} {placement}: {p.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                    continue
                results.append({**spec, "row": row, "round": rnd, **json.loads(p.stdout.strip().splitlines()[-1])})
                r = results[-1]
                print(
                    f"  round {rnd + 1} {placement:<5} {row:<12} p50 {r['p50_us']:6.1f}  cpu {r['cpu_us']:6.1f}  "
                    f"vcs {r['vcs_caller']:.2f}/{r['vcs_process']:.2f}",
                    flush=True,
                )
        load1 = os.getloadavg()
    finally:
        if nginx is not None:
            nginx.stop()
        if prefix is not None:
            import shutil

            shutil.rmtree(prefix, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print()
    print(
        f"{args.rounds} rounds x {args.n} calls a row, median over rounds (p50 range); "
        f"load {load0[0]:.1f} before, {load1[0]:.1f} after; taskset {sorted(os.sched_getaffinity(0))}"
    )
    print()
    print(
        "| row | placement | p50 µs | p99 µs | CPU µs / call | vol. switches / call (caller, process) | invol. / call |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for placement in args.placements:
        for row in args.rows:
            rs = [r for r in results if r["row"] == row and r["placement"] == placement]
            if not rs:
                continue

            def med(key: str, rs: list[dict[str, Any]] = rs) -> float:
                return statistics.median(r[key] for r in rs)

            lo, hi = min(r["p50_us"] for r in rs), max(r["p50_us"] for r in rs)
            print(
                f"| {row} | {placement} | {med('p50_us'):.0f} ({lo:.0f}–{hi:.0f}) | {med('p99_us'):.0f} | "
                f"{med('cpu_us'):.0f} | {med('vcs_caller'):.2f}, {med('vcs_process'):.2f} | {med('ivcs_process'):.2f} |"
            )
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
