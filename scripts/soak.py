"""Soak: mixed faults, cancellations and streams for a long time; RSS, fds and threads must stay flat.

    .venv/bin/python scripts/soak.py                       # one hour (3600 s)
    .venv/bin/python scripts/soak.py --duration 300 --interval 15

Not part of the test command. Two FakeProviders run in a child process (so their own bookkeeping
does not count against the client): the primary answers each model name with one fault (429,
500, reset, close, cut mid-stream, stall, slow first token, malformed chunk, error event, or ok),
the secondary is healthy. This process drives four clients at once: plain sync `OpenAI`, plain
`AsyncOpenAI`, and both with `config=` (routed: primary first, secondary as fallback group), with
plain and streamed calls, streams closed early, `asyncio.wait_for` time-outs and `task.cancel()`.

Every --interval seconds it samples its RSS (/proc/self/status VmRSS), open fds (/proc/self/fd) and
threads, and prints a row. After the warm-up (--warmup, default 20% of the run, at least one
sample) the median of the last quarter of samples must stay within --rss-growth-mb, --fd-growth
and --thread-growth of the warm-up's last sample, calls must keep completing (no interval without
progress), and no call may end in an exception outside the openai error tree (a crash ends the
run anyway). Exit status 0 when all hold, 1 otherwise; the last line says which bound failed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time

# Fault per model name on the primary (built in the server process; names only here).
FAULTS = ["ok", "r429", "r500", "reset", "close", "cut", "stall", "slow", "malformed", "errevent"]
MESSAGES = [{"role": "user", "content": "soak"}]


# ---- server process -------------------------------------------------------------------------------
def serve() -> None:
    from llmfailover.testing import FakeProvider, Fault

    faults = {
        "ok": Fault.ok(),
        "r429": Fault.rate_limited(retry_after=0.01),
        "r500": Fault.server_error(500),
        "reset": Fault.reset(),
        "close": Fault.close(),
        "cut": Fault.cut_after(2),
        "stall": Fault.stall_after(1),
        "slow": Fault.slow_first_token(0.4),
        "malformed": Fault.malformed_at(1),
        "errevent": Fault.error_event_at(1),
    }
    primary, secondary = FakeProvider(threads=2, reply_words=20), FakeProvider(threads=1, reply_words=20)

    def arm() -> None:
        for name, fault in faults.items():
            primary.set_default(name, fault)

    arm()
    print(json.dumps({"primary": primary.base_url, "secondary": secondary.base_url}), flush=True)
    # Attempt records grow with every request: the parent asks for a reset after each sample (reset
    # forgets the defaults too). End of stdin (the parent closed it, or died) stops the server.
    for _ in sys.stdin:
        primary.reset()
        secondary.reset()
        arm()
    primary.close()
    secondary.close()


# ---- client side ----------------------------------------------------------------------------------
def sample() -> dict:
    status = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.strip()
    return {
        "rss_mb": int(status["VmRSS"].split()[0]) / 1024,
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": int(status["Threads"]),
    }


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.outcomes: collections.Counter = collections.Counter()
        self.unexpected: list[str] = []
        self.in_flight: dict[int, tuple[str, float]] = {}  # call number -> (what, started)
        self.started = 0

    def begin(self, what: str) -> int:
        with self.lock:
            self.started += 1
            self.in_flight[self.started] = (what, time.monotonic())
            return self.started

    def stuck(self, older_than: float) -> collections.Counter:
        now = time.monotonic()
        with self.lock:
            return collections.Counter(w for w, t0 in self.in_flight.values() if now - t0 > older_than)

    def record(self, outcome: str, unexpected: str | None = None, call: int = 0) -> None:
        with self.lock:
            self.in_flight.pop(call, None)
            self.calls += 1
            self.outcomes[outcome] += 1
            if unexpected and len(self.unexpected) < 20:
                self.unexpected.append(unexpected)


def classify(exc: BaseException, expected: tuple) -> tuple[str, str | None]:
    if isinstance(exc, (asyncio.CancelledError, asyncio.TimeoutError, TimeoutError)):
        return "cancelled", None
    if isinstance(exc, expected):
        return type(exc).__name__, None
    return "UNEXPECTED", f"{type(exc).__name__}: {exc!r}"[:300]


def make_clients(urls: dict, mod):
    config = {
        "groups": {
            "soak": {"deployments": [{"model": f, "base_url": urls["primary"], "api_key": "sk-soak"} for f in FAULTS]},
            "backup": {"deployments": [{"model": "ok", "base_url": urls["secondary"], "api_key": "sk-soak"}]},
        },
        "fallbacks": {"soak": ["backup"]},
        "defaults": {
            "timeouts": {"connect": "1s", "first_token": "300ms", "idle": "300ms", "deadline": "5s"},
            "retry": {"max_attempts": 2, "backoff_base": "10ms", "backoff_cap": "50ms"},
            "breaker": {"open_base": "500ms", "open_cap": "2s"},
        },
    }
    plain = dict(base_url=urls["primary"], api_key="sk-soak", max_retries=1, timeout=2.0)
    return {
        "plain": mod.OpenAI(**plain),
        "routed": mod.OpenAI(config=config),
        "aplain": mod.AsyncOpenAI(**plain),
        "arouted": mod.AsyncOpenAI(config=config),
    }


def sync_worker(clients: dict, stats: Stats, expected: tuple, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        kind = rng.choice(["plain", "routed"])
        model = "soak" if kind == "routed" else rng.choice(FAULTS)
        stream = rng.random() < 0.6
        call = stats.begin(f"{kind} {model} {'stream' if stream else 'plain'}")
        try:
            if stream:
                s = clients[kind].chat.completions.create(model=model, messages=MESSAGES, stream=True)
                with s:
                    for i, _ in enumerate(s):
                        if i == 2 and rng.random() < 0.3:
                            break  # close early: the connection must not leak
            else:
                clients[kind].chat.completions.create(model=model, messages=MESSAGES)
            stats.record("ok", call=call)
        except BaseException as e:  # noqa: BLE001 - counted, the soak goes on
            stats.record(*classify(e, expected), call=call)


async def async_call(client, model: str, stream: bool, rng: random.Random) -> None:
    if not stream:
        await client.chat.completions.create(model=model, messages=MESSAGES)
        return
    s = await client.chat.completions.create(model=model, messages=MESSAGES, stream=True)
    async with s:
        async for i, _ in _aenumerate(s):
            if i == 2 and rng.random() < 0.3:
                break


async def _aenumerate(it):
    i = 0
    async for x in it:
        yield i, x
        i += 1


async def async_worker(clients: dict, stats: Stats, expected: tuple, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        kind = rng.choice(["aplain", "arouted"])
        model = "soak" if kind == "arouted" else rng.choice(FAULTS)
        stream = rng.random() < 0.6
        coro = async_call(clients[kind], model, stream, rng)
        how = rng.random()
        call = stats.begin(f"{kind} {model} {'stream' if stream else 'plain'}")
        try:
            if how < 0.15:  # a deadline shorter than some calls
                await asyncio.wait_for(coro, timeout=rng.uniform(0.001, 0.3))
            elif how < 0.3:  # cancel from outside after a while
                task = asyncio.ensure_future(coro)
                await asyncio.sleep(rng.uniform(0, 0.2))
                task.cancel()
                await task
            else:
                await coro
            stats.record("ok", call=call)
        except BaseException as e:  # noqa: BLE001
            stats.record(*classify(e, expected), call=call)


def run_async(clients, stats, expected, stop, concurrency: int, seed: int) -> None:
    async def main() -> None:
        await asyncio.gather(*(async_worker(clients, stats, expected, stop, seed + i) for i in range(concurrency)))
        for kind in ("aplain", "arouted"):
            await clients[kind].close()

    asyncio.run(main())


def check(rows: list[dict], warm_index: int, args) -> list[str]:
    failures = []
    base = rows[warm_index]
    tail = rows[warm_index + 1 :]
    tail = tail[-max(1, len(tail) // 4) :] if tail else [rows[-1]]
    bounds = {"rss_mb": args.rss_growth_mb, "fds": args.fd_growth, "threads": args.thread_growth}
    for key, bound in bounds.items():
        growth = statistics.median(r[key] for r in tail) - base[key]
        if growth > bound:
            failures.append(f"{key} grew by {growth:.1f} after warm-up (bound {bound})")
    for prev, row in zip(rows, rows[1:]):
        if row["calls"] == prev["calls"]:
            failures.append(f"no call completed between t={prev['t']:.0f}s and t={row['t']:.0f}s (hang?)")
            break
    return failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=3600.0, help="seconds (default 3600)")
    ap.add_argument("--interval", type=float, default=30.0, help="seconds between samples (default 30)")
    ap.add_argument("--warmup", type=float, default=None, help="seconds (default 20%% of --duration)")
    ap.add_argument("--threads", type=int, default=4, help="sync caller threads (default 4)")
    ap.add_argument("--concurrency", type=int, default=64, help="async tasks in flight (default 64)")
    ap.add_argument("--rss-growth-mb", type=float, default=32.0)
    ap.add_argument("--fd-growth", type=int, default=16)
    ap.add_argument("--thread-growth", type=int, default=4)
    ap.add_argument(
        "--hang-seconds",
        type=float,
        default=60.0,
        help="a call still running after this long is stuck (every call is bounded by 5 s time-outs)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve()
        return 0

    import llmfailover
    import openai  # the error tree every failure must belong to
    from llmfailover import StreamInterrupted

    expected = (openai.APIError, StreamInterrupted)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    urls = json.loads(server.stdout.readline())
    clients = make_clients(urls, llmfailover)
    stats, stop = Stats(), threading.Event()
    workers = [
        threading.Thread(target=sync_worker, args=(clients, stats, expected, stop, args.seed * 1000 + i), daemon=True)
        for i in range(args.threads)
    ]
    workers.append(
        threading.Thread(
            target=run_async, daemon=True, args=(clients, stats, expected, stop, args.concurrency, args.seed * 7919)
        )
    )
    warmup = args.warmup if args.warmup is not None else args.duration * 0.2
    print(
        f"soak: {args.duration:.0f}s, sample every {args.interval:.0f}s, warm-up {warmup:.0f}s; "
        f"{args.threads} sync threads, {args.concurrency} async tasks; pid {os.getpid()}"
    )
    print(f"{'t (s)':>7} {'calls':>9} {'calls/s':>8} {'RSS MB':>8} {'fds':>5} {'threads':>7} {'stuck':>5}  outcomes")
    start = time.monotonic()
    for w in workers:
        w.start()
    rows: list[dict] = []
    warm_index = 0
    try:
        while True:
            now = time.monotonic() - start
            time.sleep(max(0.0, min(args.interval, args.duration - now)))
            now = time.monotonic() - start
            with stats.lock:
                row = {"t": now, "calls": stats.calls, **sample()}
                top = ", ".join(f"{k} {v}" for k, v in stats.outcomes.most_common(5))
            rate = (row["calls"] - (rows[-1]["calls"] if rows else 0)) / max(1e-9, now - (rows[-1]["t"] if rows else 0))
            row["stuck"] = sum(stats.stuck(args.hang_seconds).values())
            rows.append(row)
            if now <= warmup:
                warm_index = len(rows) - 1
            print(
                f"{now:7.0f} {row['calls']:9d} {rate:8.0f} {row['rss_mb']:8.1f} {row['fds']:5d} "
                f"{row['threads']:7d} {row['stuck']:5d}  {top}",
                flush=True,
            )
            server.stdin.write("reset\n")
            server.stdin.flush()
            if now >= args.duration:
                break
    finally:
        stop.set()
    stuck = stats.stuck(args.hang_seconds)
    for w in workers:
        w.join(timeout=0 if stuck else 30)
    if not stuck:
        clients["plain"].close()
        clients["routed"].close()
    server.stdin.close()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    if server.returncode != 0:
        failures_at_exit = [f"the fake-provider process exited with {server.returncode}"]
    else:
        failures_at_exit = []

    failures = check(rows, warm_index, args) + failures_at_exit
    if stuck:
        failures.append(
            f"{sum(stuck.values())} calls still running after {args.hang_seconds:.0f}s (hung): "
            + ", ".join(f"{n} x {what}" for what, n in stuck.most_common())
        )
    with stats.lock:
        if stats.outcomes["UNEXPECTED"]:
            failures.append(
                f"{stats.outcomes['UNEXPECTED']} calls ended in an exception outside the openai tree, "
                f"e.g. {stats.unexpected[:3]}"
            )
        print("outcomes:", dict(stats.outcomes.most_common()))
    base = rows[warm_index]
    print(
        f"after warm-up (t={base['t']:.0f}s): RSS {base['rss_mb']:.1f} MB, {base['fds']} fds, {base['threads']} threads; "
        f"end: RSS {rows[-1]['rss_mb']:.1f} MB, {rows[-1]['fds']} fds, {rows[-1]['threads']} threads; "
        f"{rows[-1]['calls']} calls in {rows[-1]['t']:.0f}s"
    )
    print(
        "soak: FAIL: " + "; ".join(failures)
        if failures
        else "soak: PASS (RSS, fds and threads flat; calls kept completing)"
    )
    sys.stdout.flush()
    # A hung call keeps its thread in the engine; do not wait for it at interpreter exit.
    os._exit(1 if failures else 0)


if __name__ == "__main__":
    main()
