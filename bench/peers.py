"""Sequential rows per placement, peers included (issue 14), run inside one scenario subprocess.

A row is one client making `n` calls one after another against the loopback nginx, after a
warm-up. It reports wall p50/p99 and CPU per request: the process's user+system time over all its
threads (getrusage RUSAGE_SELF) divided by the calls, so an io thread's work is counted.

Placements (two vCPUs a and b, the first two this process may use):
  one    every thread of the client on vCPU a (os.sched_setaffinity before anything starts)
  apart  the calling thread on a, every other thread of the process on b (after the warm-up,
         when the io threads exist)
  free   no pinning; the scheduler places threads
nginx (and the Portkey gateway) are not pinned.

Clients: http.client (+ json), llmfailover (plain OpenAI), llmfailover-routed (OpenAI(config=)
with one deployment), llmfailover-open-circuit (the first group's only target is forced open, the
call fails over to a healthy fallback group), openai (the SDK), litellm (Router.completion, in
the bench venv: bench/requirements.txt), portkey (the openai SDK through Portkey's gateway).
"""

from __future__ import annotations

import json
import math
import os
import resource
import threading
import time
from typing import Any, Callable

MESSAGES = [{"role": "user", "content": "Say hello."}]
MODEL = "gpt-4o-mini"
PLACEMENTS = ("one", "apart", "free")
PEERS = ("openai", "litellm", "portkey")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)] if s else float("nan")


def cpus() -> tuple[int, int]:
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[0], allowed[1 % len(allowed)]


def pin_before(placement: str) -> None:
    if placement in ("one", "apart"):
        os.sched_setaffinity(0, {cpus()[0]})  # threads started from now on inherit it


def pin_after(placement: str) -> None:
    if placement != "apart":
        return
    me = threading.get_native_id()
    for tid in os.listdir("/proc/self/task"):
        if int(tid) != me:
            try:
                os.sched_setaffinity(int(tid), {cpus()[1]})
            except OSError:  # a thread that ended meanwhile
                pass


def routed_config(base_url: str, dead_url: str, open_circuit: bool) -> dict[str, Any]:
    dep = {"id": "nginx", "model": MODEL, "base_url": base_url, "api_key": "bench"}
    if not open_circuit:
        return {"groups": {MODEL: {"deployments": [dep]}}}
    dead = {"id": "dead", "model": MODEL, "base_url": dead_url, "api_key": "bench"}
    return {
        "groups": {
            MODEL: {"deployments": [dead], "policy": {"breaker": {"initial_state": "forced_open"}}},
            "fallback": {"deployments": [dep]},
        },
        "fallbacks": {MODEL: ["fallback"]},
    }


def make_call(kind: str, spec: dict[str, Any]) -> Callable[[], Any]:
    port = spec["port"]
    base = f"http://127.0.0.1:{port}/v1"
    if kind == "http.client":
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", port)
        body = json.dumps({"model": MODEL, "messages": MESSAGES}).encode()
        headers = {"Content-Type": "application/json", "Authorization": "Bearer bench"}

        def stdlib() -> Any:
            conn.request("POST", "/v1/chat/completions", body, headers)
            resp = conn.getresponse()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            return json.loads(resp.read())["choices"][0]["message"]["content"]

        return stdlib
    if kind == "litellm":
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch at import
        from litellm import Router

        router = Router(
            model_list=[
                {
                    "model_name": MODEL,
                    "litellm_params": {"model": f"openai/{MODEL}", "api_base": base, "api_key": "bench"},
                }
            ],
            num_retries=0,
        )
        return lambda: router.completion(model=MODEL, messages=MESSAGES).choices[0].message.content
    if kind in ("openai", "portkey"):
        import openai

        if kind == "portkey":
            gateway = f"http://127.0.0.1:{spec['gateway_port']}/v1"
            headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": base}
            client = openai.OpenAI(base_url=gateway, api_key="bench", max_retries=0, default_headers=headers)
        else:
            client = openai.OpenAI(base_url=base, api_key="bench", max_retries=0)
    else:
        import llmfailover

        if kind == "llmfailover":
            client = llmfailover.OpenAI(base_url=base, api_key="bench", max_retries=0)
        else:
            dead = f"http://127.0.0.1:{spec['dead_port']}/v1"
            config = routed_config(base, dead, open_circuit=kind == "llmfailover-open-circuit")
            client = llmfailover.OpenAI(config=config)
    create = client.chat.completions.create
    return lambda: create(model=MODEL, messages=MESSAGES).choices[0].message.content


def cpu_seconds() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def run_placed(spec: dict[str, Any]) -> dict[str, Any]:
    placement, n = spec["placement"], spec["n"]
    pin_before(placement)
    call = make_call(spec["client"], spec)
    for _ in range(min(200, n)):
        call()
    pin_after(placement)
    for _ in range(20):
        call()
    lat = []
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        lat.append(time.perf_counter() - t0)
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    return {
        "p50_us": pct(lat, 50) * 1e6,
        "p99_us": pct(lat, 99) * 1e6,
        "cpu_us": cpu / n * 1e6,
        "rps": n / wall,
        "threads": len(os.listdir("/proc/self/task")),
    }


# --- orchestration (in bench/run.py's process) ------------------------------------------------

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
BENCH_PYTHON = os.path.join(REPO_DIR, ".venv-bench", "bin", "python")  # bench/setup.sh
GATEWAY_JS = os.path.join(REPO_DIR, ".cache", "bench-npm", "node_modules", "@portkey-ai", "gateway", "build")


def peer_missing(client: str) -> str:
    """Why a peer's row cannot run here ("" when it can)."""
    if client == "litellm" and not os.path.exists(BENCH_PYTHON):
        return "litellm is not installed (bash bench/setup.sh)"
    if client == "portkey" and not os.path.exists(os.path.join(GATEWAY_JS, "start-server.js")):
        return "the Portkey gateway is not installed (bash bench/setup.sh)"
    return ""


def start_gateway(port: int) -> Any:
    """Portkey's open-source gateway (npm @portkey-ai/gateway) on 127.0.0.1:port, or None."""
    import socket
    import subprocess

    if peer_missing("portkey"):
        return None
    env = {**os.environ, "NODE_ENV": "production"}
    proc = subprocess.Popen(
        ["node", os.path.join(GATEWAY_JS, "start-server.js"), f"--port={port}", "--headless"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    return None


def interleaved(
    run: Callable[[dict[str, Any], str], dict[str, Any]],
    base: dict[str, Any],
    clients: list[str],
    placements: list[str],
    rounds: int,
    n: int,
) -> list[dict[str, Any]]:
    """Every (client, placement) once per round, in a rotated order, so a burst of load from
    elsewhere on the machine lands on all rows alike rather than on one."""
    out = []
    cells = [(c, p) for p in placements for c in clients if not peer_missing(c)]
    for r in range(rounds):
        order = cells[r % len(cells) :] + cells[: r % len(cells)]
        for client, placement in order:
            if r > 0 and client in PEERS:
                continue  # the peers are 10-200x slower: one round says enough, and saves minutes
            spec = {**base, "kind": "placed", "client": client, "placement": placement, "n": n, "round": r}
            python = BENCH_PYTHON if client == "litellm" else ""
            out.append(run(spec, python))
    for c in clients:
        if peer_missing(c):
            out.append({"kind": "placed", "client": c, "error": peer_missing(c)})
    return out


def summary(results: list[dict[str, Any]], client: str, placement: str) -> dict[str, Any]:
    """Median over rounds of p50/p99/CPU, with the p50 spread (min-max)."""
    rows = [
        r
        for r in results
        if r.get("kind") == "placed" and r["client"] == client and r.get("placement") == placement and "error" not in r
    ]
    if not rows:
        return {}

    def med(key: str) -> float:
        return pct([r[key] for r in rows], 50)

    p50s = [r["p50_us"] for r in rows]
    return {
        "p50_us": med("p50_us"),
        "p99_us": med("p99_us"),
        "cpu_us": med("cpu_us"),
        "lo": min(p50s),
        "hi": max(p50s),
        "rounds": len(rows),
    }


PLACED_CLIENTS = [
    "http.client",
    "llmfailover",
    "llmfailover-routed",
    "llmfailover-open-circuit",
    "openai",
    "litellm",
    "portkey",
]


def placed_report(results: list[dict[str, Any]], placements: list[str]) -> tuple[list[str], list[tuple[str, Any, Any]]]:
    """The Markdown table of the placed rows and the targets they decide: (name, value, goal),
    where a value passes when it is >= its goal (ratios) or <= it (µs differences, goal < 0
    marks those: -10 means 'at most 10 µs')."""

    def f(v: Any, d: int = 0) -> str:
        return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.{d}f}"

    lines = [
        "| client | placement | p50 µs (spread) | p99 µs | CPU µs/req | p50 vs http.client | CPU vs http.client |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    targets: list[tuple[str, Any, Any]] = []
    for placement in placements:
        ref = summary(results, "http.client", placement)
        for client in PLACED_CLIENTS:
            s = summary(results, client, placement)
            if not s:
                continue
            vs = ref.get("p50_us", math.nan) / s["p50_us"]
            cpu_vs = ref.get("cpu_us", math.nan) / s["cpu_us"]
            lines.append(
                f"| {client} | {placement} | {f(s['p50_us'])} ({f(s['lo'])}–{f(s['hi'])}) | {f(s['p99_us'])} | "
                f"{f(s['cpu_us'], 1)} | {vs:.2f}x | {cpu_vs:.2f}x |"
            )
        plain, routed = summary(results, "llmfailover", placement), summary(results, "llmfailover-routed", placement)
        failover = summary(results, "llmfailover-open-circuit", placement)
        if plain and ref:
            targets.append((f"sync p50 no slower than http.client ({placement})", ref["p50_us"] / plain["p50_us"], 1.0))
            targets.append(
                (f"sync CPU/req no more than http.client ({placement})", ref["cpu_us"] / plain["cpu_us"], 1.0)
            )
        if plain and routed:
            targets.append((f"routed p50 − plain p50, µs ({placement})", routed["p50_us"] - plain["p50_us"], -10.0))
        if routed and failover:
            targets.append(
                (
                    f"open-circuit failover p50 − routed p50, µs ({placement})",
                    failover["p50_us"] - routed["p50_us"],
                    -10.0,
                )
            )
    errors = sorted({(r["client"], r["error"]) for r in results if r.get("kind") == "placed" and "error" in r})
    lines += [f"\n- {c}: {e}" for c, e in errors]
    return lines, targets


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


async def open_held_stream(client: Any) -> Any:
    """A chat stream from an AsyncOpenAI-shaped client, past its first chunk (held open)."""
    s = await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    await s.__anext__()
    return s


async def drain_stream(s: Any) -> int:
    """Reads a held stream to its end: its chunk count, the first one included."""
    return 1 + sum([1 async for _ in s])


def run_stream_memory(spec: dict[str, Any]) -> dict[str, Any]:
    """`streams` concurrent streams from one AsyncOpenAI, each past its first chunk and held open:
    the resident memory they add, per stream (issue 14: under 32 KiB). Then all are drained."""
    import asyncio

    n, client_kind = spec["streams"], spec["client"]
    base_url = f"http://127.0.0.1:{spec['port']}/slow/v1"  # trickled, as a model writes

    async def main() -> dict[str, Any]:
        if client_kind == "llmfailover":
            import llmfailover

            client: Any = llmfailover.AsyncOpenAI(
                base_url=base_url,
                api_key="bench",
                max_retries=0,
                timeout=600,  # 10,000 connects at once overflow the listen backlog: SYN retries take seconds
                max_connections_per_origin=n,
            )
        else:
            import httpx
            import openai

            limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
            client = openai.AsyncOpenAI(
                base_url=base_url,
                api_key="bench",
                max_retries=0,
                timeout=600,  # its pool wait (10 s) runs out while 1,000 connections open
                http_client=openai.DefaultAsyncHttpxClient(limits=limits),
            )

        await drain_stream(await open_held_stream(client))  # warm-up: imports, the first connection
        before = rss_kib()
        t0 = time.perf_counter()
        streams = await asyncio.gather(*(open_held_stream(client) for _ in range(n)))
        opened = time.perf_counter() - t0
        held = rss_kib()
        chunks = await asyncio.gather(*(drain_stream(s) for s in streams))
        await client.close()
        return {
            "streams": n,
            "kib_per_stream": (held - before) / n,
            "open_s": opened,
            "total_s": time.perf_counter() - t0,
            "chunks": sorted(set(chunks)),
        }

    return asyncio.run(main())
