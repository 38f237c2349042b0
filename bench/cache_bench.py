"""Bench rows: an exact-cache hit vs a miss, and a semantic-cache hit vs a miss, p50 from Python
(README "Caching"). Not a timed test.

    .venv/bin/python bench/cache_bench.py [--n 2000]

The upstream is llmfailover.testing.FakeProvider on loopback (a chat answer, no delay). A miss is
the same call with the per-request opt-out (extra_body={"llmfailover": {"cache": False}}), so both
rows parse the same answer; a hit makes no upstream attempt.

Semantic rows: embeddings from the toy embedder of the tests (tests/py/_embedder.py, a stdlib
HTTP server on loopback). "semantic hit (paraphrase)" embeds a paraphrase each time (a new
wording per call, so the remembered-text shortcut never applies), "semantic hit (same text)" is
found without an embeddings call, and "semantic miss" embeds, finds nothing above the threshold
and goes upstream (a new `user` per call, so a namespace with nothing stored; then stored).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

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
        semantic = semantic_rows(fp, args.n)
    print("| call | n | p50 µs | p99 µs |")
    print("|---|---|---|---|")
    print(row("cache miss (loopback FakeProvider)", misses))
    print(row("cache hit", hits))
    for name, us in semantic:
        print(row(name, us))
    print(f"\nhit p50 / miss p50 = {statistics.median(hits) / statistics.median(misses):.2f}")
    sem = dict(semantic)
    ratio = statistics.median(sem["semantic hit (paraphrase)"]) / statistics.median(
        sem["semantic miss (embeddings + upstream)"]
    )
    print(f"semantic hit (paraphrase) p50 / semantic miss p50 = {ratio:.2f}")


def semantic_rows(fp: FakeProvider, n: int) -> list[tuple[str, list[float]]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "py"))
    from _embedder import Embedder

    with Embedder() as emb:
        dep = {"id": "a", "model": "m-a", "base_url": fp.base_url, "api_key": "k"}
        edep = {"id": "e", "model": "toy-embed", "base_url": emb.base_url, "api_key": "k"}
        cache = {"type": "semantic", "embeddings": "emb", "threshold": 0.95, "max_entries": 10 * n + 100}
        config = {
            "groups": {"smart": {"deployments": [dep], "policy": {"cache": cache}}, "emb": {"deployments": [edep]}}
        }
        counter = itertools.count()
        with OpenAI(config=config, api_key="bench") as c:

            def ask(text: str, **kw: str) -> bool:
                messages = [{"role": "user", "content": text}]
                r = c.chat.completions.create(model="smart", messages=messages, temperature=0, **kw)
                return bool(route_info(r).cache_hit)  # type: ignore[union-attr]

            ask("What is the capital of France?")  # stored

            def paraphrase() -> None:  # the toy embedder ignores unknown words: each is new text
                assert ask(f"Capital of France, question {next(counter)}?")

            def same() -> None:
                assert ask("What is the capital of France?")

            def miss() -> None:  # a new `user` each time: a namespace with nothing stored yet
                assert not ask("What is the capital of France?", user=f"u{next(counter)}")

            return [
                ("semantic miss (embeddings + upstream)", measure(miss, n)),
                ("semantic hit (paraphrase)", measure(paraphrase, n)),
                ("semantic hit (same text)", measure(same, n)),
            ]


if __name__ == "__main__":
    main()
