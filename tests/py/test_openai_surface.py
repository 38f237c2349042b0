"""With openai installed, llmfailover's clients are openai's classes (subclasses) on the engine.

Against the fake provider: isinstance, the native fast path kept for chat and embeddings, openai's
own helpers (parse, stream, with_streaming_response) over ``llmfailover.Transport``, failover
under openai's code with ``config=``, TypeError for unknown arguments, and instructor.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import llmfailover
import pytest
from conftest import HIDE_OPENAI
from llmfailover.testing import FakeProvider, Fault

pytestmark = pytest.mark.skipif(HIDE_OPENAI, reason="openai hidden: see test_openai_surface_hidden.py")
openai = pytest.importorskip("openai")
pydantic = pytest.importorskip("pydantic")

MESSAGES = [{"role": "user", "content": "Hi"}]


class Person(pydantic.BaseModel):
    name: str
    age: int


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def client(fp: FakeProvider) -> Iterator[Any]:
    with llmfailover.OpenAI(api_key="sk-test", base_url=fp.base_url, max_retries=0) as c:
        yield c


def routed(fp: FakeProvider) -> dict[str, Any]:
    policy = {"retry": {"backoff_base": "10ms", "backoff_cap": "50ms"}}
    deps = [
        {"id": i, "model": f"m-{i}", "base_url": fp.base_url, "api_key": f"key-{i}", "priority": p}
        for i, p in (("a", 0), ("b", 1))
    ]
    return {"groups": {"smart": {"deployments": deps, "policy": policy}}}


def test_the_clients_are_openais_classes(fp: FakeProvider) -> None:
    pairs = [
        (llmfailover.OpenAI(api_key="k", base_url=fp.base_url), openai.OpenAI),
        (llmfailover.AsyncOpenAI(api_key="k", base_url=fp.base_url), openai.AsyncOpenAI),
        (llmfailover.AzureOpenAI(api_key="k", api_version="v", azure_endpoint=fp.root_url), openai.AzureOpenAI),
        (
            llmfailover.AsyncAzureOpenAI(api_key="k", api_version="v", azure_endpoint=fp.root_url),
            openai.AsyncAzureOpenAI,
        ),
    ]
    for ours, theirs in pairs:
        assert isinstance(ours, theirs)
        assert type(ours.base_url).__name__ == "URL"  # httpx's URL, as openai has it
        for name in ("files", "batches", "images", "audio", "moderations", "completions", "responses"):
            assert getattr(ours, name) is not None
    pairs[0][0].close()
    asyncio.run(pairs[1][0].close())


def test_chat_and_embeddings_keep_the_native_fast_path(client: Any, fp: FakeProvider) -> None:
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert isinstance(stream, llmfailover.Stream)  # the native stream, not openai's over httpx
    assert isinstance(stream, openai.Stream)  # and still an openai.Stream for code that checks
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello from m."
    done = client.chat.completions.create(model="m", messages=MESSAGES)
    assert isinstance(done, openai.types.chat.ChatCompletion)
    assert client.embeddings.create(model="e", input="x").data[0].embedding
    # No openai request headers: the native path built these requests.
    assert all(a.header("x-stainless-lang") is None for a in fp.attempts())


def test_async_native_stream_is_an_openai_async_stream(fp: FakeProvider) -> None:
    async def main() -> str:
        async with llmfailover.AsyncOpenAI(api_key="sk-test", base_url=fp.base_url, max_retries=0) as c:
            stream = await c.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            assert isinstance(stream, llmfailover.AsyncStream) and isinstance(stream, openai.AsyncStream)
            text = "".join([ch.choices[0].delta.content or "" async for ch in stream if ch.choices])
            await stream.aclose()  # openai's name for close(); idempotent
            return text

    assert asyncio.run(main()) == "Hello from m."


def test_openais_own_helpers_run_over_the_transport(client: Any, fp: FakeProvider) -> None:
    fp.set_reply("m", json.dumps({"name": "Ann", "age": 3}))
    parsed = client.chat.completions.parse(model="m", messages=MESSAGES, response_format=Person)
    assert parsed.choices[0].message.parsed == Person(name="Ann", age=3)
    with client.chat.completions.stream(model="m", messages=MESSAGES, response_format=Person) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.parsed == Person(name="Ann", age=3)
    page = client.models.list()
    assert isinstance(page, openai.pagination.SyncPage) and page.data
    assert [a.header("x-stainless-lang") for a in fp.attempts()][0] == "python"  # parse(): openai's code


def test_with_streaming_response_iterators(client: Any) -> None:
    with client.chat.completions.with_streaming_response.create(model="m", messages=MESSAGES) as r:
        assert r.json()["choices"][0]["message"]["content"] == "Hello from m."
    with client.chat.completions.with_streaming_response.create(model="m", messages=MESSAGES, stream=True) as r:
        lines = [line for line in r.iter_lines() if line]
    assert lines[-1] == "data: [DONE]" and all(x.startswith("data: ") for x in lines)
    with client.with_streaming_response.embeddings.create(model="e", input="x") as r:
        assert b"".join(r.iter_bytes()).startswith(b"{") and r.http_response.status_code == 200
    with client.with_streaming_response.chat.completions.create(model="m", messages=MESSAGES) as r:
        assert "Hello from m." in "".join(r.iter_text())


def test_async_with_streaming_response_iterators(fp: FakeProvider) -> None:
    async def main() -> tuple[str, list[str]]:
        async with llmfailover.AsyncOpenAI(api_key="k", base_url=fp.base_url) as c:
            async with c.chat.completions.with_streaming_response.create(model="m", messages=MESSAGES) as r:
                text = (await r.json())["choices"][0]["message"]["content"]
            async with c.chat.completions.with_streaming_response.create(
                model="m", messages=MESSAGES, stream=True
            ) as r:
                lines = [x async for x in r.iter_lines() if x]
            fast = await c.chat.completions.create(model="m", messages=MESSAGES)
            assert fast.choices[0].message.content == text
            return text, lines

    text, lines = asyncio.run(main())
    assert text == "Hello from m." and lines[-1] == "data: [DONE]"


def test_unknown_argument_is_a_type_error_and_nothing_is_sent(client: Any, fp: FakeProvider) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'temprature'"):
        client.chat.completions.create(model="m", messages=MESSAGES, temprature=0.2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'dims'"):
        client.embeddings.create(model="e", input="x", dims=3)
    with pytest.raises(TypeError, match="parse()"):  # openai's hint for a pydantic class
        client.chat.completions.create(model="m", messages=MESSAGES, response_format=Person)
    assert fp.attempts() == []


def test_failover_applies_under_openais_code(fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.status(500)] * 6)
    fp.set_reply("m-b", json.dumps({"name": "Bo", "age": 5}))
    with llmfailover.OpenAI(config=routed(fp)) as c:
        assert isinstance(c, openai.OpenAI) and c.max_retries == 0  # the router retries, not openai
        parsed = c.chat.completions.parse(model="smart", messages=MESSAGES, response_format=Person)
        assert parsed.choices[0].message.parsed == Person(name="Bo", age=5)
        with c.chat.completions.stream(model="smart", messages=MESSAGES) as s:
            assert s.get_final_completion().choices[0].message.content == '{"name": "Bo", "age": 5}'
        assert [g["target"] for g in c.router_snapshot()] == ["a", "b"]
        with pytest.raises(llmfailover.NoTargetAvailable, match="not GET /v1/files"):
            c.files.list()
    assert {a.header("authorization") for a in fp.attempts("m-b")} == {"Bearer key-b"}


def test_copies_share_the_engine_and_only_the_owner_closes(fp: FakeProvider) -> None:
    owner = llmfailover.OpenAI(api_key="k", base_url=fp.base_url)
    copy = owner.with_options(timeout=5.0, max_retries=1)
    assert isinstance(copy, llmfailover.OpenAI) and copy._engine is owner._engine
    assert copy.max_retries == 1 and copy._client is owner._client
    copy.close()
    assert owner.models.list().data and owner.chat.completions.create(model="m", messages=MESSAGES)
    owner.close()
    with pytest.raises(Exception, match="closed"):
        owner.chat.completions.create(model="m", messages=MESSAGES)


def test_instructor_from_openai(client: Any, fp: FakeProvider) -> None:
    # Installed by scripts/setup.sh with --no-deps (pyproject.toml says why): never skipped.
    import instructor

    fp.set_tool_call("m", "Person", {"name": "Cy", "age": 7})
    ic = instructor.from_openai(client)
    person = ic.chat.completions.create(model="m", messages=MESSAGES, response_model=Person)
    assert isinstance(person, Person) and (person.name, person.age) == ("Cy", 7)
    assert fp.attempts("m")[0].json()["tools"][0]["function"]["name"] == "Person"

    async def main() -> Any:
        async with llmfailover.AsyncOpenAI(api_key="k", base_url=fp.base_url) as ac:
            return await instructor.from_openai(ac).chat.completions.create(
                model="m", messages=MESSAGES, response_model=Person
            )

    again = asyncio.run(main())
    assert isinstance(again, Person) and (again.name, again.age) == ("Cy", 7)


def test_azure_fast_path_and_openais_code_reach_the_deployment(fp: FakeProvider) -> None:
    fp.set_reply("dep", json.dumps({"name": "Az", "age": 1}))
    with llmfailover.AzureOpenAI(
        api_key="az-key", api_version="2024-10-21", azure_endpoint=fp.root_url, azure_deployment="dep"
    ) as c:
        assert c.chat.completions.create(model="dep", messages=MESSAGES).choices[0].message.content
        parsed = c.chat.completions.parse(model="dep", messages=MESSAGES, response_format=Person)
        assert parsed.choices[0].message.parsed == Person(name="Az", age=1)
        copy = c.with_options(max_retries=1)
        assert isinstance(copy, openai.AzureOpenAI) and copy._engine is c._engine
    seen = [(a.target, a.header("api-key")) for a in fp.attempts()]
    assert seen == [("/openai/deployments/dep/chat/completions?api-version=2024-10-21", "az-key")] * 2


def test_unknown_model_is_openais_not_found_error_naming_the_groups(fp: FakeProvider) -> None:
    calls = {
        "chat.completions.create (native)": lambda c: c.chat.completions.create(model="gtp-4o", messages=MESSAGES),
        "chat.completions.parse (openai's code)": lambda c: c.chat.completions.parse(
            model="gtp-4o", messages=MESSAGES, response_format=Person
        ),
        "responses.create": lambda c: c.responses.create(model="gtp-4o", input="Hi"),
        "embeddings.create": lambda c: c.embeddings.create(model="gtp-4o", input="Hi"),
    }
    with llmfailover.OpenAI(config=routed(fp)) as c:
        for name, call in calls.items():
            with pytest.raises(openai.NotFoundError) as info:
                call(c)
            assert "'gtp-4o'" in str(info.value) and "smart" in str(info.value), (name, str(info.value))
    assert fp.attempts() == []  # nothing was sent
