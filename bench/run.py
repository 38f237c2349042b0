"""Benchmark: llmfailover vs the openai SDK vs stdlib http.client, against one loopback nginx.

    .venv/bin/python bench/run.py            # the full run (about 5 minutes on 2 quiet vCPUs)
    .venv/bin/python bench/run.py --quick    # a smoke run (seconds)

nginx (bench/nginx.conf.template, plain HTTP, keep-alive) serves a fixed ChatCompletion JSON and a
fixed 200-chunk SSE stream (bench/fixtures/). Every scenario runs in its own Python subprocess, so
its peak RSS belongs to one client. Measured:
  - sequential: N requests one after another (p50/p99 latency)
  - async: AsyncOpenAI clients at 1, 16 and 256 requests in flight (throughput, p50/p99)
  - streaming: time to first chunk, then the cost of each further chunk
  - threads: 8 Python threads sharing one sync client vs 1 thread (the GIL is released while
    llmfailover waits, so threads should scale)
It prints a Markdown report with the machine, checks the project's target ratios (PASS/FAIL from
what was measured), and writes bench/results/latest.md and bench/results/latest.png.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import chart  # bench/chart.py
import peers  # bench/peers.py: the placed rows and the peers (LiteLLM, Portkey)

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
MESSAGES = [{"role": "user", "content": "Say hello."}]
MODEL = "gpt-4o-mini"
CLIENTS = ("llmfailover", "openai", "http.client")


# --- measuring, inside one scenario subprocess ---------------------------------------------------


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)] if s else float("nan")


def sync_client(kind: str, base_url: str) -> Any:
    if kind == "llmfailover":
        import llmfailover

        return llmfailover.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
    import openai

    return openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)


def stdlib_chat(port: int, path: str) -> Callable[[], Any]:
    """A minimal hand-written client: one keep-alive http.client connection, json in and out."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port)
    body = json.dumps({"model": MODEL, "messages": MESSAGES}).encode()
    headers = {"Content-Type": "application/json", "Authorization": "Bearer bench"}

    def call() -> Any:
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}")
        return resp

    return call


def run_sequential(kind: str, port: int, n: int) -> dict[str, Any]:
    if kind == "http.client":
        call = stdlib_chat(port, "/v1/chat/completions")

        def one() -> None:
            json.loads(call().read())["choices"][0]["message"]["content"]
    else:
        client = sync_client(kind, f"http://127.0.0.1:{port}/v1")

        def one() -> None:
            client.chat.completions.create(model=MODEL, messages=MESSAGES).choices[0].message.content

    for _ in range(min(100, n)):
        one()
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        one()
        lat.append(time.perf_counter() - t0)
    return {"n": n, "p50_us": pct(lat, 50) * 1e6, "p99_us": pct(lat, 99) * 1e6, "rps": n / sum(lat)}


def run_async(kind: str, port: int, n: int, inflight: int, gateway_port: int = 0) -> dict[str, Any]:
    import asyncio

    async def main() -> dict[str, Any]:
        base_url = f"http://127.0.0.1:{port}/v1"
        if kind == "llmfailover":
            import llmfailover

            client = llmfailover.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
        elif kind == "litellm":  # its Router in-process (bench/setup.sh's venv)
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            from litellm import Router

            params = {"model": f"openai/{MODEL}", "api_base": base_url, "api_key": "bench"}
            router = Router(model_list=[{"model_name": MODEL, "litellm_params": params}], num_retries=0)
            client = None
        else:
            import openai

            headers = {}
            if kind == "portkey":  # the openai SDK through the gateway sidecar
                headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": base_url}
                base_url = f"http://127.0.0.1:{gateway_port}/v1"
            client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0, default_headers=headers)
        create = router.acompletion if client is None else client.chat.completions.create
        lat: list[float] = []
        todo = [n]

        async def worker(record: bool) -> None:
            while todo[0] > 0:
                todo[0] -= 1
                t0 = time.perf_counter()
                r = await create(model=MODEL, messages=MESSAGES)
                r.choices[0].message.content
                if record:
                    lat.append(time.perf_counter() - t0)

        todo[0] = max(inflight * 2, 100)  # warm-up: open the connections
        await asyncio.gather(*(worker(False) for _ in range(inflight)))
        todo[0] = n
        cpu0, t0 = peers.cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(worker(True) for _ in range(inflight)))
        wall, cpu = time.perf_counter() - t0, peers.cpu_seconds() - cpu0
        if client is not None:
            await client.close()
        return {
            "n": n,
            "inflight": inflight,
            "rps": n / wall,
            "cpu_us": cpu / n * 1e6,  # the process's user+system time over all its threads, per request
            "p50_ms": pct(lat, 50) * 1e3,
            "p99_ms": pct(lat, 99) * 1e3,
        }

    return asyncio.run(main())


def run_stream(kind: str, port: int, n: int) -> dict[str, Any]:
    if kind == "http.client":
        call = stdlib_chat(port, "/stream/v1/chat/completions")

        def chunks() -> Any:
            resp = call()
            while line := resp.readline():
                if line.startswith(b"data: "):
                    if line.startswith(b"data: [DONE]"):
                        break
                    yield json.loads(line[6:])
            resp.read()
    else:
        client = sync_client(kind, f"http://127.0.0.1:{port}/stream/v1")

        def chunks() -> Any:
            return client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)

    ttfc, per_chunk, counts = [], [], set()
    cpu, chunks_timed = 0.0, 0
    for i in range(n + min(10, n)):
        cpu0 = peers.cpu_seconds()
        t0 = time.perf_counter()
        first = None
        count = 0
        for _ in chunks():
            count += 1
            if first is None:
                first = time.perf_counter()
        end = time.perf_counter()
        if i >= min(10, n):  # the first ones are warm-up
            cpu += peers.cpu_seconds() - cpu0
            chunks_timed += count
            ttfc.append(first - t0)
            per_chunk.append((end - first) / max(1, count - 1))
            counts.add(count)
    return {
        "n": n,
        "chunks": sorted(counts),
        "ttfc_p50_us": pct(ttfc, 50) * 1e6,
        "ttfc_p99_us": pct(ttfc, 99) * 1e6,
        "per_chunk_us": pct(per_chunk, 50) * 1e6,
        "cpu_per_chunk_us": cpu / max(1, chunks_timed) * 1e6,  # all threads, the stream's head included
    }


def run_threads(kind: str, port: int, n: int, threads: int) -> dict[str, Any]:
    client = sync_client(kind, f"http://127.0.0.1:{port}/v1")

    def work(count: int) -> None:
        for _ in range(count):
            client.chat.completions.create(model=MODEL, messages=MESSAGES).choices[0].message.content

    work(50)
    pool = [threading.Thread(target=work, args=(n // threads,)) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - t0
    return {"n": n // threads * threads, "threads": threads, "rps": n // threads * threads / wall}


def scenario_main(spec: dict[str, Any]) -> None:
    kind, port, n = spec["client"], spec["port"], spec.get("n", 0)
    if spec["kind"] in ("placed", "stream_memory"):
        fn = peers.run_placed if spec["kind"] == "placed" else peers.run_stream_memory
        print(json.dumps(fn(spec)))
        return
    fn = {
        "sequential": lambda: run_sequential(kind, port, n),
        "async": lambda: run_async(kind, port, n, spec["inflight"], spec.get("gateway_port", 0)),
        "stream": lambda: run_stream(kind, port, n),
        "threads": lambda: run_threads(kind, port, n, spec["threads"]),
    }[spec["kind"]]
    result = fn()
    result["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(result))


# --- orchestration ----------------------------------------------------------------------------


def run_scenario(spec: dict[str, Any], python: str = "") -> dict[str, Any]:
    label = f"{spec['kind']:<10} {spec['client']:<12} " + (
        f"inflight={spec['inflight']}"
        if "inflight" in spec
        else f"threads={spec['threads']}"
        if "threads" in spec
        else f"{spec['placement']} round {spec['round'] + 1}"
        if "placement" in spec
        else ""
    )
    print(f"  {label:<48}", end="", flush=True)
    t0 = time.monotonic()
    try:
        p = subprocess.run(
            [python or sys.executable, __file__, "--scenario", json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        print("timed out")
        return {**spec, "error": "timed out after 300 s"}
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
        print(f"error: {err}")
        return {**spec, "error": err}
    result = {**spec, **json.loads(p.stdout.strip().splitlines()[-1])}
    print(f"{time.monotonic() - t0:5.1f}s")
    return result


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")

    def version(mod: str) -> str:
        p = subprocess.run(
            [sys.executable, "-c", f"import {mod}; print({mod}.__version__)"], capture_output=True, text=True
        )
        return p.stdout.strip() if p.returncode == 0 else "not importable"

    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "llmfailover": version("llmfailover"),
        "openai": version("openai"),
        "nginx": nginx,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "load": "%.2f %.2f %.2f" % os.getloadavg(),
    }


def fmt(v: Any, digits: int = 0) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.{digits}f}"


def find(results: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    return next((r for r in results if all(r.get(k) == v for k, v in match.items()) and "error" not in r), {})


def ratio(a: Any, b: Any) -> Any:
    return a / b if a and b else None


def report(results: list[dict[str, Any]], m: dict[str, str], args: argparse.Namespace) -> tuple[str, list[str]]:
    out = [
        f"# llmfailover benchmark{' (--quick)' if args.quick else ''}",
        "",
        f"Machine: {m['nproc']} CPUs, {m['cpu']}; Python {m['python']}; nginx {m['nginx']}; "
        f"llmfailover {m['llmfailover']}, openai {m['openai']}; {m['date']}, load {m['load']}.",
        "Upstream: one loopback nginx worker (keep-alive). Each row is its own subprocess.",
        "",
        f"## Sequential, {args.n} requests",
        "",
        "| client | p50 µs | p99 µs | req/s | peak RSS MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in CLIENTS:
        r = find(results, kind="sequential", client=c)
        out.append(
            f"| {c} | {fmt(r.get('p50_us'))} | {fmt(r.get('p99_us'))} | {fmt(r.get('rps'))} | {fmt(r.get('rss_mib'), 1)} |"
        )
    out += [
        "",
        f"## Async, {args.async_n} requests",
        "",
        "| client | in flight | req/s | p50 ms | p99 ms | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for inflight in args.inflight:
        for c in [*CLIENTS[:2], "litellm", "portkey"] if inflight == 256 else CLIENTS[:2]:
            r = find(results, kind="async", client=c, inflight=inflight)
            out.append(
                f"| {c} | {inflight} | {fmt(r.get('rps'))} | {fmt(r.get('p50_ms'), 2)} | "
                f"{fmt(r.get('p99_ms'), 2)} | {fmt(r.get('rss_mib'), 1)} |"
            )
    out += [
        "",
        f"## Streaming, {args.streams} streams of 200 chunks",
        "",
        "| client | first chunk p50 µs | first chunk p99 µs | per further chunk µs | CPU µs per chunk | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in CLIENTS:
        r = find(results, kind="stream", client=c)
        out.append(
            f"| {c} | {fmt(r.get('ttfc_p50_us'))} | {fmt(r.get('ttfc_p99_us'))} | "
            f"{fmt(r.get('per_chunk_us'), 1)} | {fmt(r.get('cpu_per_chunk_us'), 1)} | {fmt(r.get('rss_mib'), 1)} |"
        )
    out += [
        "",
        f"## Threads sharing one sync client, {args.n} requests",
        "",
        "| client | 1 thread req/s | 8 threads req/s | 8 / 1 |",
        "|---|---:|---:|---:|",
    ]
    for c in CLIENTS[:2]:
        one, eight = (
            find(results, kind="threads", client=c, threads=1),
            find(results, kind="threads", client=c, threads=8),
        )
        out.append(
            f"| {c} | {fmt(one.get('rps'))} | {fmt(eight.get('rps'))} | {fmt(ratio(eight.get('rps'), one.get('rps')), 2)} |"
        )

    seq = {c: find(results, kind="sequential", client=c).get("p50_us") for c in CLIENTS}
    a256 = {c: find(results, kind="async", client=c, inflight=256).get("rps") for c in (*CLIENTS[:2], "litellm")}
    st = {c: find(results, kind="stream", client=c) for c in CLIENTS}
    thr = {t: find(results, kind="threads", client="llmfailover", threads=t).get("rps") for t in (1, 8)}
    placed_lines, placed_targets = peers.placed_report(results, list(peers.PLACEMENTS))
    out += [
        "",
        "## Concurrent streams from one AsyncOpenAI (each past its first chunk, held open)",
        "",
        "| client | streams | KiB per stream | open all, s |",
        "|---|---:|---:|---:|",
    ]
    for c in CLIENTS[:2]:
        r = find(results, kind="stream_memory", client=c)
        out.append(f"| {c} | {fmt(r.get('streams'))} | {fmt(r.get('kib_per_stream'), 1)} | {fmt(r.get('open_s'), 1)} |")
    mem = find(results, kind="stream_memory", client="llmfailover")
    out += [
        "",
        f"## Sequential by placement: {args.n} requests a row, {args.rounds} interleaved rounds (median; p50 spread)",
        "",
        "one: every thread on one vCPU; apart: the caller on one vCPU, the other threads on the other; "
        "free: no pinning. CPU per request is the process's user+system time over all its threads.",
        "",
        *placed_lines,
    ]
    targets = [
        ("sequential p50: llmfailover ≥5x faster than openai.OpenAI", ratio(seq["openai"], seq["llmfailover"]), 5.0),
        ("sequential p50: llmfailover no slower than http.client", ratio(seq["http.client"], seq["llmfailover"]), 1.0),
        ("async 256 in flight: throughput ≥30x openai.AsyncOpenAI", ratio(a256["llmfailover"], a256["openai"]), 30.0),
        ("async 256 in flight: throughput ≥50x LiteLLM's Router", ratio(a256["llmfailover"], a256["litellm"]), 50.0),
        (
            "streaming CPU per chunk no more than http.client + json",
            ratio(st["http.client"].get("cpu_per_chunk_us"), st["llmfailover"].get("cpu_per_chunk_us")),
            1.0,
        ),
        (
            "streaming first chunk within 10 % of http.client",
            ratio(st["http.client"].get("ttfc_p50_us"), st["llmfailover"].get("ttfc_p50_us")),
            1 / 1.1,
        ),
        ("8 threads ≥1.6x one thread (sync llmfailover)", ratio(thr[8], thr[1]), 1.6),
    ]
    if mem:  # goal < 0: at most 32 KiB
        placed_targets.append((f"KiB per stream, {mem['streams']:,} concurrent streams", mem["kib_per_stream"], -32.0))
    out += ["", "## Targets", "", "| target | measured | result |", "|---|---:|---|"]
    verdicts = []
    for name, value, need in targets + placed_targets:
        bad = value is None or (isinstance(value, float) and math.isnan(value))
        ok = not bad and (value <= -need if need < 0 else value >= need)
        verdict = "n/a" if bad else "PASS" if ok else "FAIL"
        verdicts.append(verdict)
        unit = " KiB" if "KiB" in name else " µs"
        shown = "n/a" if bad else f"{value:+.1f}{unit}" if need < 0 else f"{value:.2f}x"
        out.append(f"| {name} | {shown} | {verdict} |")
    errors = [r for r in results if "error" in r]
    if errors:
        out += ["", "## Scenarios that failed", ""]
        out += [f"- {r['kind']} {r['client']}: {r['error']}" for r in errors]
    return "\n".join(out) + "\n", verdicts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small counts: a smoke run of every scenario")
    ap.add_argument(
        "--out",
        type=Path,
        help="where latest.md/.png go (default bench/results; "
        "with --quick a temp dir, so a smoke run never replaces real results)",
    )
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the interleaved placed rows (default 3)")
    ap.add_argument("--only-placed", action="store_true", help="only the sequential rows per placement (and peers)")
    ap.add_argument("--scenario", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.scenario:
        scenario_main(json.loads(args.scenario))
        return 0
    args.n = 200 if args.quick else 2000
    args.async_n = 600 if args.quick else 3000
    args.streams = 20 if args.quick else 300
    args.inflight = [1, 16, 256]
    args.memory_streams = 500 if args.quick else 10_000
    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="llmf-bench-quick-")) if args.quick else BENCH / "results"

    sys.path.insert(0, str(REPO / "tests" / "py"))
    from _servers import free_port, start_nginx, temp_dir

    port = free_port()
    prefix = temp_dir("llmf-bench-nginx-")
    nginx = start_nginx(BENCH / "nginx.conf.template", prefix, [port], PORT=port, FIXTURES=BENCH / "fixtures")
    print(f"==> nginx on 127.0.0.1:{port}; running scenarios (each in its own process)")
    specs: list[dict[str, Any]] = []
    for c in CLIENTS:
        specs.append({"kind": "sequential", "client": c, "n": args.n})
    for inflight in args.inflight:
        for c in CLIENTS[:2]:
            specs.append({"kind": "async", "client": c, "n": args.async_n, "inflight": inflight})
    for peer in ("litellm", "portkey"):
        specs.append({"kind": "async", "client": peer, "n": min(args.async_n, 1000), "inflight": 256})
    for c in CLIENTS:
        specs.append({"kind": "stream", "client": c, "n": args.streams})
    for c in CLIENTS[:2]:
        for t in (1, 8):
            specs.append({"kind": "threads", "client": c, "n": args.n, "threads": t})
    if args.only_placed:
        specs = []
    t0 = time.monotonic()
    gateway_port, dead_port = free_port(), free_port()  # nothing listens on dead_port
    gateway = peers.start_gateway(gateway_port)
    try:
        results = []
        for s in specs:
            if peers.peer_missing(s["client"]) or (s["client"] == "portkey" and gateway is None):
                results.append({**s, "error": peers.peer_missing(s["client"]) or "the gateway did not start"})
            else:
                python = peers.BENCH_PYTHON if s["client"] == "litellm" else ""
                results.append(run_scenario({**s, "port": port, "gateway_port": gateway_port}, python))
        for c, streams in (("llmfailover", args.memory_streams), ("openai", min(args.memory_streams, 1000))):
            results.append(run_scenario({"kind": "stream_memory", "client": c, "streams": streams, "port": port}))
        base = {"port": port, "gateway_port": gateway_port, "dead_port": dead_port}
        results += peers.interleaved(
            run_scenario, base, peers.PLACED_CLIENTS, list(peers.PLACEMENTS), args.rounds, args.n
        )
    finally:
        if gateway is not None:
            gateway.kill()
            gateway.wait()
        nginx.stop()
        shutil.rmtree(prefix, ignore_errors=True)
    m = machine()
    text, verdicts = report(results, m, args)
    text += f"\nTotal bench time {time.monotonic() - t0:.0f} s. Command: `python bench/run.py{' --quick' if args.quick else ''}`.\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(text)
    chart.chart(results, args.out / "latest.png", args.quick, find)
    print()
    print(text)
    print(f"==> wrote {args.out / 'latest.md'} and {args.out / 'latest.png'}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
