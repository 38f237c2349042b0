"""``AsyncOpenAI(config=...)``: concurrent routed calls, streams, callbacks on the loop, and
cancellation reaching the attempt in flight. Config and helpers as in ``test_router``."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from llmfailover import AsyncOpenAI, NotFoundError, StreamInterrupted, route_info
from llmfailover.testing import FakeProvider, Fault
from test_router import MESSAGES, decisions, make_config, outcomes, policy


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def ask(client: AsyncOpenAI, model: str = "smart", **kw: Any) -> Any:
    return await client.chat.completions.create(model=model, messages=MESSAGES, **kw)


def test_gather_over_the_router(fp: FakeProvider) -> None:  # noqa: F811
    fp.script("m-a", [Fault.status(503)] * 4)

    async def main() -> list[Any]:
        async with AsyncOpenAI(config=make_config(fp)) as client:
            return await asyncio.gather(*(ask(client) for _ in range(12)))

    results = run(main())
    served = [route_info(r).served.model for r in results]  # type: ignore[union-attr]
    assert all(r.choices[0].message.content == f"Hello from {m}." for r, m in zip(results, served))
    assert served.count("m-b") >= 4  # the four failed on the primary went to the secondary
    failed_over = [r for r in results if len(route_info(r).attempts) == 2]  # type: ignore[union-attr]
    assert len(failed_over) == 4
    assert all(decisions(route_info(r)) == [("a", "failover"), ("b", "served")] for r in failed_over)
    assert len(fp.attempts()) == 16


def test_async_stream_fails_over_then_interrupts(fp: FakeProvider) -> None:  # noqa: F811
    fp.script("m-a", [Fault.slow_first_token(1.0), Fault.cut(2)])

    async def main() -> tuple[str, Any, StreamInterrupted]:
        async with AsyncOpenAI(config=make_config(fp, stream_recovery="error")) as client:
            s = await ask(client, stream=True)
            text = "".join([c.choices[0].delta.content or "" async for c in s if c.choices])
            s2 = await ask(client, stream=True)
            with pytest.raises(StreamInterrupted) as err:
                async for _ in s2:
                    pass
            return text, route_info(s), err.value

    text, route, exc = run(main())
    assert text == "Hello from m-b."
    assert decisions(route) == [("a", "failover"), ("b", "served")]
    assert exc.partial == "Hello from" and decisions(exc.route) == [("a", "interrupted")]


def test_cancelling_the_task_cancels_the_attempt(fp: FakeProvider) -> None:  # noqa: F811
    slow = policy(timeouts={"first_token": "1s"})
    fp.set_default("m-a", Fault.no_response())

    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with AsyncOpenAI(config=make_config(fp, slow)) as client:
            task = asyncio.ensure_future(ask(client))
            await asyncio.sleep(0.1)
            during = client.router_snapshot()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(1.2)  # past the first-token limit: nothing must fail over
            return during, client.router_snapshot()

    started = time.monotonic()
    during, after = run(main())
    assert next(s for s in during if s["target"] == "a")["in_flight"] == 1
    assert all(s["in_flight"] == 0 for s in after)
    assert all(s["state"] == "closed" for s in after)  # a cancel is not the target's failure
    assert outcomes(fp) == [("m-a", "no_response")]  # the secondary was never tried
    assert time.monotonic() - started < 2.5


def test_callbacks_run_on_the_loop_thread(fp: FakeProvider) -> None:  # noqa: F811
    seen: list[tuple[str, int]] = []
    fp.script("m-a", [Fault.status(500)])

    async def main() -> int:
        client = AsyncOpenAI(
            config=make_config(fp),
            on_attempt=lambda a: seen.append((a.decision, threading.get_ident())),
            on_failover=lambda a, b: seen.append((f"{a.target}->{b.target}", threading.get_ident())),
        )
        await ask(client)
        await client.close()
        return threading.get_ident()

    loop_thread = run(main())
    assert [name for name, _ in seen] == ["failover", "a->b", "served"]
    assert {tid for _, tid in seen} == {loop_thread}


def test_async_models_degraded_and_no_target(fp: FakeProvider) -> None:  # noqa: F811
    fp.set_default("m-s", Fault.status(503))

    async def main() -> None:
        client = AsyncOpenAI(config=make_config(fp), degraded=lambda error, request: "later")
        assert [m.id async for m in client.models.list()] == ["smart", "backup", "solo"]
        result = await ask(client, "solo")
        assert result.choices[0].message.content == "later" and route_info(result).degraded  # type: ignore[union-attr]
        with pytest.raises(NotFoundError, match="model 'nope' does not exist"):
            await ask(client, "nope")  # a wrong name is not an outage: no degraded answer
        await client.close()

    run(main())
