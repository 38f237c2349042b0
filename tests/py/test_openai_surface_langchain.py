"""LangChain's ``ChatOpenAI`` given llmfailover's clients (``root_client``/``client`` and their async
twins): invoke, stream, bind_tools, with_structured_output (default method, plain and streamed),
failover underneath, and ``use_responses_api=True`` against a local Responses API stub.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from typing import Any

import llmfailover
import pytest
from _responses_stub import TEXT, responses_upstream
from conftest import HIDE_OPENAI
from llmfailover.testing import FakeProvider, Fault

pytestmark = pytest.mark.skipif(HIDE_OPENAI, reason="langchain-openai needs openai")
langchain_openai = pytest.importorskip("langchain_openai")
pydantic = pytest.importorskip("pydantic")


class Person(pydantic.BaseModel):
    name: str
    age: int


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


def chat_model(client: Any, aclient: Any, model: str = "m", **kw: Any) -> Any:
    return langchain_openai.ChatOpenAI(
        model=model,
        api_key="unused",
        client=client.chat.completions,
        async_client=aclient.chat.completions,
        root_client=client,
        root_async_client=aclient,
        max_retries=0,
        **kw,
    )


@pytest.fixture
def llm(fp: FakeProvider) -> Iterator[Any]:
    client = llmfailover.OpenAI(api_key="sk-test", base_url=fp.base_url, max_retries=0)
    aclient = llmfailover.AsyncOpenAI(api_key="sk-test", base_url=fp.base_url, max_retries=0)
    yield chat_model(client, aclient)
    client.close()
    asyncio.run(aclient.close())


def test_invoke_and_stream(llm: Any, fp: FakeProvider) -> None:
    assert llm.invoke("Hi").content == "Hello from m."
    assert "".join(str(chunk.content) for chunk in llm.stream("Hi")) == "Hello from m."

    async def main() -> str:
        return str((await llm.ainvoke("Hi")).content)

    assert asyncio.run(main()) == "Hello from m."
    assert len(fp.attempts("m")) == 3


def test_bind_tools(llm: Any, fp: FakeProvider) -> None:
    fp.set_tool_call("m", "get_weather", {"city": "Paris"})

    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    msg = llm.bind_tools([get_weather]).invoke("Weather in Paris?")
    assert [(c["name"], c["args"]) for c in msg.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert fp.attempts("m")[0].json()["tools"][0]["function"]["name"] == "get_weather"


def test_with_structured_output_default_method_plain_and_streamed(llm: Any, fp: FakeProvider) -> None:
    fp.set_reply("m", json.dumps({"name": "Ann", "age": 3}))
    structured = llm.with_structured_output(Person)
    assert structured.invoke("Who?") == Person(name="Ann", age=3)
    with warnings.catch_warnings():
        # langchain-openai 1.8.1 streaming parse() output warns so with openai's own client too.
        warnings.filterwarnings("ignore", message="Pydantic serializer warnings", category=UserWarning)
        assert list(structured.stream("Who?"))[-1] == Person(name="Ann", age=3)
    body = fp.attempts("m")[0].json()
    assert body["response_format"]["type"] == "json_schema"  # langchain's default: openai's parse()


def test_failover_under_langchain(fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.status(500)] * 6)
    deps = [
        {"id": i, "model": f"m-{i}", "base_url": fp.base_url, "api_key": f"key-{i}", "priority": p}
        for i, p in (("a", 0), ("b", 1))
    ]
    config = {
        "groups": {"smart": {"deployments": deps, "policy": {"retry": {"backoff_base": "10ms", "backoff_cap": "50ms"}}}}
    }
    with llmfailover.OpenAI(config=config) as client:
        aclient = llmfailover.AsyncOpenAI(config=config)
        llm = chat_model(client, aclient, model="smart")
        assert llm.invoke("Hi").content == "Hello from m-b."
        assert "".join(str(c.content) for c in llm.stream("Hi")) == "Hello from m-b."
        asyncio.run(aclient.close())


# --- use_responses_api=True against a local Responses API stub ------------------------------------


def test_use_responses_api() -> None:
    with responses_upstream() as (url, seen):
        with llmfailover.OpenAI(api_key="sk-test", base_url=url, max_retries=0) as client:
            aclient = llmfailover.AsyncOpenAI(api_key="sk-test", base_url=url, max_retries=0)
            llm = chat_model(client, aclient, model="gpt-x", use_responses_api=True)
            msg = llm.invoke("Hi")
            streamed = "".join(c.text for c in llm.stream("Hi"))
            asyncio.run(aclient.close())
    assert msg.text == TEXT and streamed == TEXT
    assert [(s["path"], s["body"]["model"], bool(s["body"].get("stream"))) for s in seen] == [
        ("/v1/responses", "gpt-x", False),
        ("/v1/responses", "gpt-x", True),
    ]
