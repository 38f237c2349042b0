"""Bench row: an exact-cache hit vs a miss, p50 from Python (README "Caching"). Not a timed test.

    .venv/bin/python bench/cache_bench.py [--n 2000]

The upstream is llmfailover.testing.FakeProvider on loopback (a chat answer, no delay). A miss is
the same call with the per-request opt-out (extra_body={"llmfailover": {"cache": False}}), so both
rows parse the same answer; a hit makes no upstream attempt.
"""

from __future__ import annotations

import argparse
import statistics
import time

from llmfailover import OpenAI, route_info
from llmfailover.testing import FakeProvider

MESSAGES = [{"role": "user", "content": "Say hello."}]


def measure(fn, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    for _ in range(min(50, n)):  # warm-up: connections, caches, allocator
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e6)
    return out


def row(name: str, us: list[float]) -> str:
    us = sorted(us)
    p99 = us[min(len(us) - 1, int(len(us) * 0.99))]
    return f"| {name} | {len(us)} | {statistics.median(us):.0f} | {p99:.0f} |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    with FakeProvider() as fp:
        dep = {"id": "a", "model": "m-a", "base_url": fp.base_url, "api_key": "k"}
        config = {"cache": {"type": "memory", "ttl": "10m"}, "groups": {"smart": {"deployments": [dep]}}}
        with OpenAI(config=config, api_key="bench") as c:

            def hit() -> None:
                r = c.chat.completions.create(model="smart", messages=MESSAGES, temperature=0)
                assert route_info(r).cache_hit  # type: ignore[union-attr]

            def miss() -> None:
                r = c.chat.completions.create(
                    model="smart", messages=MESSAGES, temperature=0, extra_body={"llmfailover": {"cache": False}}
                )
                assert not route_info(r).cache_hit  # type: ignore[union-attr]

            c.chat.completions.create(model="smart", messages=MESSAGES, temperature=0)  # stored
            misses = measure(miss, args.n)
            hits = measure(hit, args.n)
    print("| call | n | p50 µs | p99 µs |")
    print("|---|---|---|---|")
    print(row("cache miss (loopback FakeProvider)", misses))
    print(row("cache hit", hits))
    print(f"\nhit p50 / miss p50 = {statistics.median(hits) / statistics.median(misses):.2f}")


if __name__ == "__main__":
    main()
