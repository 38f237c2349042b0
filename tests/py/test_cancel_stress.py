"""Cancellation under load (issue 10 item 1): more requests in flight to one origin than its pool
holds (256 connections), a random third cancelled by ``task.cancel()`` or ``asyncio.wait_for``
while they wait for a connection or an answer; the others must complete correctly, round after
round, and a healthy call must follow.

A request waiting for a pooled connection used to leave its timer registered with the pool when
cancelled; the pool later cancelled the freed timer (use after free). That crashes the process,
so the load runs in a child interpreter: a segfault or a hang fails this test, not pytest.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time

import pytest

IN_FLIGHT = 320  # > 256, the engine's max_connections_per_origin
ROUNDS = 8
DELAY = 0.25  # the fake's delay before headers: every request is still in flight when cancelled
LIMIT = 60.0  # seconds for the whole child (it takes ~5 s: 8 rounds of ~0.4 s, start-up)


async def _round(client: object, rng: random.Random) -> tuple[int, int]:
    async def ask(i: int) -> str:
        r = await client.chat.completions.create(  # type: ignore[attr-defined]
            model="slow", messages=[{"role": "user", "content": f"#{i}"}]
        )
        return str(r.choices[0].message.content)

    tasks, fate = [], {}
    for i in range(IN_FLIGHT):
        kind = rng.choice(("keep", "keep", "keep", "keep", "cancel", "wait_for"))
        coro = ask(i)
        if kind == "wait_for":
            coro = asyncio.wait_for(coro, timeout=rng.uniform(0.0, DELAY * 1.5))
        tasks.append(asyncio.ensure_future(coro))
        fate[i] = kind
    await asyncio.sleep(rng.uniform(0.0, DELAY / 2))
    for i, task in enumerate(tasks):
        if fate[i] == "cancel":
            task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    completed = cancelled = 0
    for i, result in enumerate(results):
        if isinstance(result, (asyncio.CancelledError, asyncio.TimeoutError)) and fate[i] != "keep":
            cancelled += 1
        elif isinstance(result, str) and result.startswith("Hello from slow"):
            completed += 1
        else:
            raise AssertionError(f"request {i} ({fate[i]}): {result!r}")
    return completed, cancelled


async def _main(base_url: str, seed: int) -> None:
    from llmfailover import AsyncOpenAI

    rng = random.Random(seed)
    async with AsyncOpenAI(api_key="k", base_url=base_url, max_retries=0, timeout=30.0) as client:
        for n in range(ROUNDS):
            started = time.monotonic()
            completed, cancelled = await _round(client, rng)
            print(f"round {n}: {completed} completed, {cancelled} cancelled in {time.monotonic() - started:.2f}s")
            assert completed >= IN_FLIGHT // 2 and cancelled >= IN_FLIGHT // 8
        r = await client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "ok?"}])
        assert r.choices[0].message.content.startswith("Hello from fast")


def _child(seed: int) -> None:
    import faulthandler

    from llmfailover.testing import FakeProvider, Fault

    faulthandler.enable()
    faulthandler.dump_traceback_later(LIMIT - 5, exit=True)
    with FakeProvider(threads=2) as fp:
        fp.set_default("slow", Fault.slow_headers(DELAY))
        asyncio.run(_main(fp.base_url, seed))
    print("ok")


# Before the pool fix (issue 10 item 1) the child segfaulted within 1-2 of its 8 rounds.
@pytest.mark.parametrize("seed", [1, 2])
def test_cancelling_a_third_of_more_than_a_pool_of_requests(seed: int) -> None:
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, __file__, str(seed)],
            capture_output=True,
            text=True,
            timeout=LIMIT,
            env=dict(os.environ, PYTHONFAULTHANDLER="1"),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the child hung for {LIMIT:.0f}s")
    detail = f"rc {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("ok"), detail
    assert time.monotonic() - started < LIMIT


if __name__ == "__main__":
    _child(int(sys.argv[1]))
