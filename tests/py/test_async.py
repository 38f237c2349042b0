"""AsyncOpenAI: one notifier per event loop, no thread per request, cancellation reaches the engine."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time
from typing import Any

import llmfailover
import pytest
from conftest import ok, record_sends, sse
from llmfailover import AsyncOpenAI, _async_io
from llmfailover.testing import Fault

KEY = "sk-async-secret-42"
MSG = [{"role": "user", "content": "hi"}]
COMPLETION = json.dumps(
    {
        "id": "c",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
    }
).encode()


def chunk(text: str) -> bytes:
    return json.dumps(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}}],
        }
    ).encode()


# --- scripted answers (conftest.py ok/sse) ---------------------------------------------------------


def test_request_stream_raw_and_awaitable_key(fp: Any) -> None:
    async def key() -> str:
        return "k-async"

    async def main() -> None:
        c = AsyncOpenAI(api_key=key, base_url=fp.base_url)
        log = record_sends(c)
        fp.script(
            "m", [ok(COMPLETION), sse(chunk("a"), chunk("b"), b"[DONE]"), ok(COMPLETION, [("X-Request-Id", "r")])]
        )
        r = await c.chat.completions.create(model="m", messages=MSG)
        assert r.choices[0].message.content == "ok"
        stream = await c.chat.completions.create(model="m", messages=MSG, stream=True)
        assert isinstance(stream, llmfailover.AsyncStream)
        async with stream:
            assert [x.choices[0].delta.content async for x in stream] == ["a", "b"]
        raw = await c.chat.completions.with_raw_response.create(model="m", messages=MSG)
        assert raw.headers["x-request-id"] == "r" and raw.parse().choices[0].message.content == "ok"
        assert dict(log.sent[0]["headers"])["Authorization"] == "Bearer k-async"
        assert [a.header("authorization") for a in fp.attempts("m")] == ["Bearer k-async"] * 3
        async with c:
            pass
        assert log.closes == 1 and log.router.closed

    asyncio.run(main())


def test_cancel_cancels_the_call(fp: Any) -> None:
    async def main() -> None:
        c = AsyncOpenAI(api_key=KEY, base_url=fp.base_url)
        log = record_sends(c)
        fp.script("m", [Fault.no_response()])  # never answers: only a cancel ends the call
        task = asyncio.create_task(c.chat.completions.create(model="m", messages=MSG))
        for _ in range(1000):  # the task runs until it waits for the native call's events
            if log.calls:
                break
            await asyncio.sleep(0)
        assert log.calls, "the request was never handed to the native router"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        call = log.calls[-1]
        events = call.wait(timeout=5, until_end=True)
        assert call.finished and events[-1][:2] == ("error", "cancelled")
        await c.close()

    asyncio.run(main())


# --- against the real engine and the FakeProvider -------------------------------------------------


def test_gather_many_without_threads(fp: Any) -> None:
    async def main() -> list[Any]:
        async with AsyncOpenAI(api_key=KEY, base_url=fp.base_url) as c:
            await c.chat.completions.create(model="warm", messages=MSG)  # engine threads started
            before = threading.active_count()
            results = await asyncio.gather(
                *[c.chat.completions.create(model=f"m{i % 7}", messages=MSG) for i in range(200)]
            )
            assert threading.active_count() == before
            return results

    results = asyncio.run(main())
    assert len(results) == 200 and all(r.choices[0].message.content for r in results)
    assert len(fp.attempts()) == 201


def test_async_stream_and_models(fp: Any) -> None:
    async def main() -> None:
        c = AsyncOpenAI(api_key=KEY, base_url=fp.base_url)
        text = []
        stream = await c.chat.completions.create(
            model="m", messages=MSG, stream=True, stream_options={"include_usage": True}
        )
        async for part in stream:
            if not part.choices:
                continue
            text.append(part.choices[0].delta.content or "")
        full = await c.chat.completions.create(model="m", messages=MSG)
        assert "".join(text) == full.choices[0].message.content
        page = await c.models.list()
        assert [m.id async for m in c.models.list()] == [m.id for m in page.data]
        emb = await c.embeddings.create(model="e", input="x")
        assert isinstance(emb.data[0].embedding[0], float)
        await c.close()
        await c.close()

    asyncio.run(main())


def test_task_cancellation_cancels_the_request(fp: Any) -> None:
    fp.script("slow", [Fault.no_response()])

    async def main() -> None:
        c = AsyncOpenAI(api_key=KEY, base_url=fp.base_url, timeout=30, max_retries=0)
        task = asyncio.create_task(c.chat.completions.create(model="slow", messages=MSG))
        while not fp.attempts("slow"):
            await asyncio.sleep(0.01)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 1.0
        for _ in range(100):  # the engine drops the connection soon after the cancel
            if c._engine.router.pool_stats()["active"] == 0:
                break
            await asyncio.sleep(0.01)
        assert c._engine.router.pool_stats()["active"] == 0
        assert (await c.chat.completions.create(model="after", messages=MSG)).choices
        await c.close()

    asyncio.run(main())
    assert len(fp.attempts("slow")) == 1


def test_async_errors(fp: Any) -> None:
    fp.script("m", [Fault.rate_limited(retry_after=0.01), Fault.no_response()])

    async def main() -> None:
        c = AsyncOpenAI(api_key=KEY, base_url=fp.base_url, max_retries=0)
        with pytest.raises(llmfailover.RateLimitError):
            await c.chat.completions.create(model="m", messages=MSG)
        with pytest.raises(llmfailover.APITimeoutError):
            await c.chat.completions.create(model="m", messages=MSG, timeout=0.2)
        await c.close()

    asyncio.run(main())


def test_one_client_several_loops(fp: Any) -> None:
    c = AsyncOpenAI(api_key=KEY, base_url=fp.base_url)

    async def one() -> str:
        r = await c.chat.completions.create(model="m", messages=MSG)
        return r.choices[0].message.content or ""

    assert asyncio.run(one()) == asyncio.run(one())
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(one())
        assert loop in _async_io._by_loop
    finally:
        loop.close()
    del loop
    gc.collect()
    assert len(_async_io._by_loop) == 0  # closed, collected loops leave no notifier behind

    def in_thread(out: list[str]) -> None:
        out.append(asyncio.run(one()))

    out: list[str] = []
    threads = [threading.Thread(target=in_thread, args=(out,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 4
    c._engine.close()
