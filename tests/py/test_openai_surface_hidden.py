"""The look-alike clients (what ``llmfailover.OpenAI`` is without openai): the same argument
checks as openai's, and one clear error for what only openai's own code serves.

Runs in both modes: it uses the look-alike classes directly (``llmfailover._client``), which is
what ``llmfailover.OpenAI`` is under ``LLMFAILOVER_HIDE_OPENAI=1``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import llmfailover
import pytest
from _responses_stub import TEXT, responses_upstream
from conftest import HIDE_OPENAI
from llmfailover._async_client import AsyncOpenAI as LookAlikeAsync
from llmfailover._client import OPENAI_ONLY, OpenAIRequired
from llmfailover._client import OpenAI as LookAlike
from llmfailover.testing import FakeProvider, Fault

MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def client(fp: FakeProvider) -> Iterator[Any]:
    with LookAlike(api_key="k", base_url=fp.base_url, max_retries=0) as c:
        yield c


def test_without_openai_the_package_exports_the_look_alikes() -> None:
    if HIDE_OPENAI:
        assert llmfailover.OpenAI is LookAlike and llmfailover.AsyncOpenAI is LookAlikeAsync
    else:
        assert issubclass(llmfailover.OpenAI, __import__("openai").OpenAI)


@pytest.mark.parametrize("name", sorted(OPENAI_ONLY))
def test_openai_only_resources_name_the_extra(client: Any, name: str) -> None:
    needs = rf"client\.{name} needs the openai package: pip install 'llmfailover\[openai\]'"
    with pytest.raises(OpenAIRequired, match=needs):
        getattr(client, name)
    assert not hasattr(client, name)  # an AttributeError: hasattr() and getattr(..., default) work
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        client.nonsense  # noqa: B018


def test_unknown_arguments_are_type_errors_and_never_sent(client: Any, fp: FakeProvider) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'temprature'"):
        client.chat.completions.create(model="m", messages=MESSAGES, temprature=0.2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'dims'"):
        client.embeddings.create(model="e", input="x", dims=3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'temprature'"):
        client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES, temprature=0.2)

    async def main() -> None:
        async with LookAlikeAsync(api_key="k", base_url=fp.base_url) as c:
            with pytest.raises(TypeError, match="unexpected keyword argument 'temprature'"):
                await c.chat.completions.create(model="m", messages=MESSAGES, temprature=0.2)

    asyncio.run(main())
    assert fp.attempts() == []
    # Known arguments, and new ones through extra_body, still go out verbatim.
    client.chat.completions.create(model="m", messages=MESSAGES, temperature=0.2, extra_body={"brand_new": 1})
    assert fp.attempts("m")[0].json()["brand_new"] == 1


# --- the module-level client (``llmfailover.chat...`` as ``openai.chat...``) ------------------------


def test_module_level_client(fp: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llmfailover, "api_key", "sk-module")
    monkeypatch.setattr(llmfailover, "base_url", fp.base_url)
    done = llmfailover.chat.completions.create(model="m", messages=MESSAGES)
    assert done.choices[0].message.content == "Hello from m."
    assert fp.attempts("m")[0].header("authorization") == "Bearer sk-module"
    assert llmfailover.embeddings.create(model="e", input="x").data[0].embedding
    first = llmfailover.chat._client
    assert llmfailover.chat._client is first  # settings unchanged: the same client
    with FakeProvider() as other:  # a changed setting builds a new client on the next access
        monkeypatch.setattr(llmfailover, "base_url", other.base_url)
        llmfailover.chat.completions.create(model="m2", messages=MESSAGES)
        assert [a.model for a in other.attempts()] == ["m2"] and fp.attempts("m2") == []
    if HIDE_OPENAI:
        with pytest.raises(OpenAIRequired, match="pip install 'llmfailover\\[openai\\]'"):
            llmfailover.files  # noqa: B018
    else:
        assert llmfailover.files.__class__.__module__.startswith("openai.")
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        llmfailover.nonsense  # noqa: B018


def test_module_level_client_reads_the_environment_and_router_config(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", fp.base_url)
    llmfailover.chat.completions.create(model="m", messages=MESSAGES)
    assert fp.attempts("m")[0].header("authorization") == "Bearer sk-env"
    dep = {"id": "a", "model": "m-a", "base_url": fp.base_url, "api_key": "key-a"}
    monkeypatch.setattr(llmfailover, "router_config", {"groups": {"smart": {"deployments": [dep]}}})
    routed = llmfailover.chat.completions.create(model="smart", messages=MESSAGES)
    assert routed.choices[0].message.content == "Hello from m-a."
    assert fp.attempts("m-a")[0].header("authorization") == "Bearer key-a"


# --- with_streaming_response iterators of the look-alikes ----------------------------------------


def test_streaming_response_iterators(client: Any, fp: FakeProvider) -> None:
    fp.script("m", [Fault.ok().replace(chunk_delay=0.05)])
    with client.chat.completions.with_streaming_response.create(model="m", messages=MESSAGES, stream=True) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = list(r.iter_lines())
        with pytest.raises(RuntimeError, match="already been consumed"):
            r.read()
    data = [line for line in lines if line]
    assert data[-1] == "data: [DONE]" and all(x.startswith("data: {") for x in data[:-1])
    assert lines.count("") == len(data)  # a blank line after every event
    text = "".join(json.loads(x[6:])["choices"][0]["delta"].get("content") or "" for x in data[:-1])
    assert text == "Hello from m."
    with client.with_streaming_response.chat.completions.create(model="m", messages=MESSAGES) as r:
        assert r.json()["choices"][0]["message"]["content"] == "Hello from m."
    with client.embeddings.with_streaming_response.create(model="e", input="x") as r:
        assert b"".join(r.iter_bytes()).startswith(b"{")
    with client.chat.completions.with_streaming_response.create(model="m", messages=MESSAGES, stream=True) as r:
        assert "".join(r.iter_text()).endswith("data: [DONE]\n\n")


def test_streaming_response_of_a_cut_stream_raises(client: Any, fp: FakeProvider) -> None:
    fp.script("m", [Fault.cut_after(2)])
    with client.chat.completions.with_streaming_response.create(model="m", messages=MESSAGES, stream=True) as r:
        with pytest.raises(llmfailover.APIConnectionError):
            list(r.iter_bytes())


def test_async_streaming_response_iterators(fp: FakeProvider) -> None:
    async def main() -> tuple[list[str], str]:
        async with LookAlikeAsync(api_key="k", base_url=fp.base_url) as c:
            async with c.chat.completions.with_streaming_response.create(
                model="m", messages=MESSAGES, stream=True
            ) as r:
                lines = [x async for x in r.iter_lines() if x]
            async with c.chat.completions.with_streaming_response.create(model="m", messages=MESSAGES) as r:
                body = await r.json()
            return lines, body["choices"][0]["message"]["content"]

    lines, text = asyncio.run(main())
    assert lines[-1] == "data: [DONE]" and len(lines) > 2 and text == "Hello from m."


# --- responses.create of the look-alikes ---------------------------------------------------------


def test_look_alike_responses_create_and_stream() -> None:
    with responses_upstream() as (url, seen):
        with LookAlike(api_key="k", base_url=url, max_retries=0) as c:
            done = c.responses.create(model="gpt-x", input="Hi", temperature=0.1)
            assert done.output_text == TEXT and done.status == "completed" and done.usage.output_tokens == 3
            events = list(c.responses.create(model="gpt-x", input="Hi", stream=True))
            raw = c.responses.with_raw_response.create(model="gpt-x", input="Hi")
            assert raw.status_code == 200 and raw.parse().id == "resp_1"

        async def main() -> str:
            async with LookAlikeAsync(api_key="k", base_url=url) as ac:
                return "".join(
                    [
                        e.delta
                        async for e in await ac.responses.create(model="gpt-x", input="Hi", stream=True)
                        if e.type == "response.output_text.delta"
                    ]
                )

        assert asyncio.run(main()) == TEXT
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == TEXT
    assert events[-1].response["output"][0]["content"][0]["text"] == TEXT
    assert seen[0] == {"path": "/v1/responses", "body": {"model": "gpt-x", "input": "Hi", "temperature": 0.1}}


def test_look_alike_responses_stream_is_openais_context_manager() -> None:
    with responses_upstream() as (url, seen):
        with LookAlike(api_key="k", base_url=url, max_retries=0) as c:
            with c.responses.stream(model="gpt-x", input="Hi") as stream:
                deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
                final = stream.get_final_response()
            with c.responses.stream(model="gpt-cut", input="Hi") as cut:  # no response.completed
                with pytest.raises(llmfailover.APIError, match="without a response.completed"):
                    cut.get_final_response()
            with pytest.raises(TypeError, match="stream="):
                c.responses.stream(model="gpt-x", input="Hi", stream=False)

        async def main() -> Any:
            async with LookAlikeAsync(api_key="k", base_url=url) as ac:
                async with ac.responses.stream(model="gpt-x", input="Hi") as s:
                    return await s.get_final_response()

        async_final = asyncio.run(main())
    assert "".join(deltas) == TEXT and final.output_text == TEXT and final.usage.output_tokens == 3
    assert async_final.output_text == TEXT and async_final.id == "resp_1"
    assert seen[0]["body"] == {"model": "gpt-x", "input": "Hi", "stream": True}
