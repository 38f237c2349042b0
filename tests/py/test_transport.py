"""``llmfailover.Transport`` / ``AsyncTransport``: httpx transports on the native engine.

Against the fake provider: plain httpx2 and httpx clients, openai's and anthropic's own clients
given ``http_client=``, engine retries, failover with ``config=``, streamed bodies arriving as
they are sent, re-serialised event streams, broken streams and refused connections.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import llmfailover
import pytest
from conftest import HIDE_OPENAI
from llmfailover import AsyncTransport, Transport
from llmfailover.testing import FakeProvider, Fault

httpx2 = pytest.importorskip("httpx2")
MESSAGES = [{"role": "user", "content": "Hi"}]


def chat_body(model: str = "m", **kw: Any) -> dict[str, Any]:
    return {"model": model, "messages": MESSAGES, **kw}


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def http(fp: FakeProvider) -> Iterator[Any]:
    with httpx2.Client(transport=Transport(), base_url=fp.base_url, timeout=5.0) as client:
        yield client


def routed_config(fp: FakeProvider) -> dict[str, Any]:
    policy = {"retry": {"backoff_base": "10ms", "backoff_cap": "50ms"}}

    def dep(id_: str, model: str, priority: int) -> dict[str, Any]:
        return {"id": id_, "model": model, "base_url": fp.base_url, "api_key": f"key-{id_}", "priority": priority}

    return {"groups": {"smart": {"deployments": [dep("a", "m-a", 0), dep("b", "m-b", 1)], "policy": policy}}}


# --- plain httpx clients ------------------------------------------------------------------------


def test_json_post_through_the_engine(http: Any, fp: FakeProvider) -> None:
    r = http.post("/chat/completions", json=chat_body(), headers={"Authorization": "Bearer sk-x"})
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == "Hello from m."
    assert r.headers["content-type"].startswith("application/json")
    [rec] = fp.attempts("m")
    assert rec.header("authorization") == "Bearer sk-x"
    assert rec.header("accept-encoding") is None  # the engine does not decode compressed bodies


def test_engine_retries_with_openais_rules(fp: FakeProvider) -> None:
    fp.script("m", [Fault.status(503), Fault.status(503), Fault.ok()])
    with httpx2.Client(transport=Transport(max_retries=2), base_url=fp.base_url) as http:
        assert http.post("/chat/completions", json=chat_body()).status_code == 200
    assert [a.outcome for a in fp.attempts("m")] == ["status:503", "status:503", "ok"]


def test_max_retries_zero_hands_the_error_status_to_the_caller(fp: FakeProvider) -> None:
    fp.script("m", [Fault.status(503), Fault.ok()])
    with httpx2.Client(transport=Transport(max_retries=0), base_url=fp.base_url) as http:
        r = http.post("/chat/completions", json=chat_body())
    assert r.status_code == 503
    assert [a.outcome for a in fp.attempts("m")] == ["status:503"]


def test_event_stream_is_re_serialised_and_arrives_as_sent(http: Any, fp: FakeProvider) -> None:
    fp.script("m", [Fault.ok().replace(chunk_delay=0.3)])
    started = time.monotonic()
    with http.stream("POST", "/chat/completions", json=chat_body(stream=True)) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        first = next(line for line in lines if line)
        first_at = time.monotonic() - started
        rest = [line for line in lines if line]
        total = time.monotonic() - started
    assert first.startswith("data: {")
    assert rest[-1] == "data: [DONE]"
    deltas = [json.loads(x[6:])["choices"][0]["delta"].get("content") or "" for x in [first, *rest[:-1]]]
    assert "".join(deltas) == "Hello from m."
    # Chunks 0.3 s apart (two gaps at least): the first reached the caller long before the last
    # was sent; a buffered body would give all lines at once (difference ~0).
    assert total - first_at >= 0.45, (first_at, total)


def test_cut_stream_raises_from_the_body(http: Any, fp: FakeProvider) -> None:
    fp.script("m", [Fault.cut_after(2)])
    with http.stream("POST", "/chat/completions", json=chat_body(stream=True)) as r:
        assert r.status_code == 200
        with pytest.raises((httpx2.ReadError, httpx2.RemoteProtocolError)):
            for _ in r.iter_bytes():
                pass


def test_refused_connection_is_an_httpx_connect_error() -> None:
    from _servers import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    with httpx2.Client(transport=Transport(max_retries=0), base_url=url) as http:
        with pytest.raises(httpx2.ConnectError, match="connect_refused"):
            http.get("/models")


def test_timeout_is_an_httpx_read_timeout(fp: FakeProvider) -> None:
    fp.script("m", [Fault.slow_headers(2.0)])
    with httpx2.Client(transport=Transport(max_retries=0), base_url=fp.base_url, timeout=0.3) as http:
        started = time.monotonic()
        with pytest.raises(httpx2.ReadTimeout, match="first_byte_timeout"):
            http.post("/chat/completions", json=chat_body())
        assert time.monotonic() - started < 1.5


def test_legacy_httpx_client_gets_legacy_classes(fp: FakeProvider) -> None:
    httpx = pytest.importorskip("httpx")
    with httpx.Client(transport=Transport(), base_url=fp.base_url) as http:
        r = http.post("/chat/completions", json=chat_body())
        assert isinstance(r, httpx.Response) and r.status_code == 200
        with http.stream("POST", "/chat/completions", json=chat_body(stream=True)) as s:
            assert list(s.iter_lines())[-2:] == ["data: [DONE]", ""]


def test_unsupported_scheme_is_httpx_unsupported_protocol() -> None:
    with httpx2.Client(transport=Transport()) as http:
        with pytest.raises(httpx2.UnsupportedProtocol, match="not 'ftp' URLs"):
            http.get("ftp://127.0.0.1/v1/models")


def test_bad_max_retries_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="max_retries must be an int >= 0, got -1"):
        Transport(max_retries=-1)


def test_closed_transport_refuses_requests(fp: FakeProvider) -> None:
    t = Transport()
    t.close()
    with httpx2.Client(transport=t, base_url=fp.base_url) as http:
        with pytest.raises(RuntimeError, match="transport has been closed"):
            http.get("/models")


# --- the router underneath ----------------------------------------------------------------------


def test_routed_transport_fails_over_and_drops_the_callers_key(fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.status(500)] * 5)
    with httpx2.Client(transport=Transport(config=routed_config(fp)), base_url="http://router.invalid/v1") as http:
        r = http.post("/chat/completions", json=chat_body("smart"), headers={"Authorization": "Bearer sk-user"})
        assert r.status_code == 200
        assert r.json()["choices"][0]["message"]["content"] == "Hello from m-b."
        with http.stream("POST", "/chat/completions", json=chat_body("smart", stream=True)) as s:
            assert [x for x in s.iter_lines() if x][-1] == "data: [DONE]"
    assert [rec.header("authorization") for rec in fp.attempts("m-b")] == ["Bearer key-b"] * 2


def test_routed_transport_refuses_what_it_cannot_route(fp: FakeProvider) -> None:
    with httpx2.Client(transport=Transport(config=routed_config(fp)), base_url="http://router.invalid/v1") as http:
        with pytest.raises(llmfailover.NoTargetAvailable, match="not GET /v1/files"):
            http.get("/files")
        with pytest.raises(llmfailover.NoTargetAvailable, match="without a string 'model'"):
            http.post("/chat/completions", json={"messages": MESSAGES})
    assert fp.attempts() == []


# --- asyncio --------------------------------------------------------------------------------------


def test_async_transport_streams_and_retries(fp: FakeProvider) -> None:
    fp.script("m", [Fault.status(503), Fault.ok()])

    async def main() -> tuple[int, list[str]]:
        async with httpx2.AsyncClient(transport=AsyncTransport(), base_url=fp.base_url) as http:
            r = await http.post("/chat/completions", json=chat_body())
            async with http.stream("POST", "/chat/completions", json=chat_body(stream=True)) as s:
                lines = [x async for x in s.aiter_lines() if x]
            return r.status_code, lines

    status, lines = asyncio.run(main())
    assert status == 200 and lines[-1] == "data: [DONE]"
    assert [a.outcome for a in fp.attempts("m")] == ["status:503", "ok", "ok"]


# --- SDKs given http_client= ----------------------------------------------------------------------


@pytest.mark.skipif(HIDE_OPENAI, reason="openai hidden")
def test_openai_sdk_over_the_transport(fp: FakeProvider) -> None:
    openai = pytest.importorskip("openai")
    http = httpx2.Client(transport=Transport(max_retries=0))
    client = openai.OpenAI(api_key="sk-x", base_url=fp.base_url, http_client=http, max_retries=0)
    done = client.chat.completions.create(model="m", messages=MESSAGES)
    assert done.choices[0].message.content == "Hello from m."
    text = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        if c.choices
    )
    assert text == "Hello from m."
    assert client.embeddings.create(model="e", input="x").data[0].embedding
    client.close()


@pytest.mark.needs_sdk("anthropic")
def test_anthropic_sdk_over_the_transport(fp: FakeProvider) -> None:
    import anthropic

    fp.script("claude-test", [Fault.status(529), Fault.ok()])
    http = httpx2.Client(transport=Transport(max_retries=2))
    client = anthropic.Anthropic(base_url=fp.root_url, api_key="test-key", max_retries=0, http_client=http)
    msg = client.messages.create(model="claude-test", max_tokens=64, messages=MESSAGES)
    assert msg.content[0].text == "Hello from claude-test."
    with client.messages.stream(model="claude-test", max_tokens=64, messages=MESSAGES) as stream:
        assert "".join(stream.text_stream) == "Hello from claude-test."
    assert [a.outcome for a in fp.attempts("claude-test")] == ["status:529", "ok", "ok"]
    client.close()
