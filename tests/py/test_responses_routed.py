"""The Responses API routed with failover (issue 12): OpenAI-family deployments natively, the others
(Anthropic, Gemini, ...) through the bridge; stream safety; stateful calls pinned to the deployment
that holds their state; the other OpenAI-only endpoints routed by model.

What we return is checked with openai's own types (``Response``, ``ResponseStreamEvent``) where
openai is installed; the look-alike clients (``llmfailover._client``) are checked in both modes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import operator
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llmfailover
import pytest
from _fallbacks import MODELS, failover_config, set_aws_keys
from conftest import HIDE_OPENAI
from llmfailover import route_info
from llmfailover._async_client import AsyncOpenAI as LookAlikeAsync
from llmfailover._client import OpenAI as LookAlike
from llmfailover.testing import FakeProvider, Fault

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
needs_openai = pytest.mark.skipif(HIDE_OPENAI, reason="openai is hidden")


@pytest.fixture(autouse=True)
def _aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    set_aws_keys(monkeypatch)


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


def native_config(fp: FakeProvider, attempts: int = 3) -> dict[str, Any]:
    policy = {"retry": {"max_attempts": attempts, "backoff_base": "10ms", "backoff_cap": "50ms"}}
    deps = [
        {"id": i, "model": f"m-{i}", "base_url": fp.base_url, "api_key": f"key-{i}", "priority": p}
        for i, p in (("a", 0), ("b", 1))
    ]
    return {"groups": {"smart": {"deployments": deps, "policy": policy}}}


def only(fp: FakeProvider, provider: str, tmp_path: Path) -> dict[str, Any]:
    config = failover_config(fp, provider, tmp_path)
    config["groups"]["smart"]["deployments"] = config["groups"]["smart"]["deployments"][1:]
    return config


def deployments(info: Any) -> list[tuple[str, str]]:
    return [(a.deployment, a.decision) for a in info.attempts]


# --- the look-alike clients (no openai needed) -----------------------------------------------------


def test_native_deployment_takes_the_request_as_sent(fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.unavailable()] * 6)
    with LookAlike(config=native_config(fp)) as c:
        r = c.responses.create(model="smart", input="Hi", instructions="Be brief", max_output_tokens=20)
        assert r.output[0].content[0].text == "Hello from m-b."
        assert deployments(route_info(r))[-1] == ("b", "served")
    sent = fp.attempts("m-b")[0]
    assert sent.target == "/v1/responses" and sent.header("authorization") == "Bearer key-b"
    assert sent.json() == {"model": "m-b", "input": "Hi", "instructions": "Be brief", "max_output_tokens": 20}


@pytest.mark.parametrize("provider", ["anthropic", "gemini", "vertex", "bedrock", "cohere"])
def test_a_503_primary_fails_over_to_another_provider(fp: FakeProvider, provider: str, tmp_path: Path) -> None:
    fp.script("m-a", [Fault.unavailable()] * 6)
    with LookAlike(config=failover_config(fp, provider, tmp_path)) as c:
        r = c.responses.create(model="smart", input="Hi", instructions="Be brief")
        assert r.status == "completed" and r.object == "response"
        assert r.output[0].content[0].text == f"Hello from {MODELS[provider]}."
        assert r.usage.input_tokens > 0 and r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
        events = list(c.responses.create(model="smart", input="Hi", stream=True))
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"] and types[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    final = events[-1].response  # a dict: the look-alike keeps unknown fields as they came
    assert text == f"Hello from {MODELS[provider]}." == final["output"][0]["content"][0]["text"]
    assert final["usage"]["output_tokens"] > 0


def test_async_look_alike_streams_across_providers(fp: FakeProvider, tmp_path: Path) -> None:
    fp.script("m-a", [Fault.unavailable()] * 6)

    async def main() -> list[Any]:
        async with LookAlikeAsync(config=failover_config(fp, "anthropic", tmp_path)) as c:
            stream = await c.responses.create(model="smart", input="Hi", stream=True)
            return [e async for e in stream]

    events = asyncio.run(main())
    assert events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type.endswith("output_text.delta")) == "Hello from claude-x."


def test_function_calls_round_trip_through_the_bridge(fp: FakeProvider, tmp_path: Path) -> None:
    fp.set_tool_call("claude-x", "get_weather", {"city": "Oslo"})
    with LookAlike(config=only(fp, "anthropic", tmp_path)) as c:
        r = c.responses.create(model="smart", input="Weather in Oslo?", tools=[WEATHER], tool_choice="auto")
        call = r.output[0]
        assert (call.type, call.name, json.loads(call.arguments)) == ("function_call", "get_weather", {"city": "Oslo"})
        events = list(c.responses.create(model="smart", input="Weather?", tools=[WEATHER], stream=True))
        args = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
        assert json.loads(args) == {"city": "Oslo"} and events[-1].type == "response.completed"
        follow_up = [
            {"role": "user", "content": "Weather in Oslo?"},
            {"type": "function_call", "call_id": call.call_id, "name": "get_weather", "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ]
        c.responses.create(model="smart", input=follow_up, tools=[WEATHER])
    sent = fp.attempts("claude-x")[-1].json()  # in Anthropic's dialect: tool_use, then tool_result
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["messages"][1]["content"][0]["type"] == "tool_use"
    assert (
        sent["messages"][2]["content"][0]
        == {
            "type": "tool_result",
            "tool_use_id": call.call_id,
            "content": "sunny",
        }
        or sent["messages"][2]["content"][0]["type"] == "tool_result"
    )
    assert sent["tools"][0]["name"] == "get_weather"


def test_a_feature_the_provider_cannot_express_is_a_400_naming_it(fp: FakeProvider, tmp_path: Path) -> None:
    with LookAlike(config=only(fp, "anthropic", tmp_path)) as c:
        with pytest.raises(llmfailover.BadRequestError, match="web_search.*not supported by anthropic"):
            c.responses.create(model="smart", input="news?", tools=[{"type": "web_search"}])
    assert fp.attempts() == []  # nothing was sent, nothing silently dropped


def test_a_cut_before_the_first_delta_fails_over_after_it_is_an_error(fp: FakeProvider) -> None:
    # The fake's stream: created, in_progress, output_item.added, content_part.added, deltas...
    # A fresh router each time: a's failure would put it in cooldown for the next call.
    fp.set_default("m-a", Fault.cut(2))
    with LookAlike(config=native_config(fp)) as c:
        events = list(c.responses.create(model="smart", input="Hi", stream=True))
        assert events[-1].type == "response.completed" and events[-1].response["model"] == "m-b"
    fp.set_default("m-a", Fault.cut(6))
    got: list[Any] = []
    with LookAlike(config={**native_config(fp), "stream_recovery": "error"}) as c:  # recovery: below
        with pytest.raises(llmfailover.StreamInterrupted, match="interrupted after 10 characters"):
            for e in c.responses.create(model="smart", input="Hi", stream=True):
                got.append(e)
    assert [e.type for e in got].count("response.output_text.delta") == 2  # never a truncated success
    assert "response.completed" not in [e.type for e in got]
    fp.set_default("m-a", Fault.error_event(1))  # an error event before any output: fail over
    with LookAlike(config=native_config(fp)) as c:
        events = list(c.responses.create(model="smart", input="Hi", stream=True))
        assert events[-1].type == "response.completed" and events[-1].response["model"] == "m-b"
    fp.set_default("m-a", Fault.malformed(1))  # a malformed event before any output: fail over
    with LookAlike(config=native_config(fp)) as c:
        events = list(c.responses.create(model="smart", input="Hi", stream=True))
        assert events[-1].type == "response.completed" and events[-1].response["model"] == "m-b"


def test_stateful_calls_stay_on_the_deployment_that_holds_the_state(fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.unavailable()])  # the first answer comes from b; then a is healthy
    with LookAlike(config=native_config(fp, attempts=1)) as c:
        first = c.responses.create(model="smart", input="Hi")
        assert deployments(route_info(first)) == [("a", "failover"), ("b", "served")]
        second = c.responses.create(model="smart", input="And?", previous_response_id=first.id)
        assert deployments(route_info(second)) == [("b", "served")]  # not a, though a comes first
        fp.script("m-b", [Fault.unavailable()])  # its next attempt
        before = len(fp.attempts("m-a"))
        with pytest.raises(llmfailover.InternalServerError):
            c.responses.create(model="smart", input="More?", previous_response_id=first.id)
        assert len(fp.attempts("m-a")) == before  # never failed over to a deployment without the state
        with pytest.raises(llmfailover.BadRequestError, match="resp_unknown.*does not know which"):
            c.responses.create(model="smart", input="x", previous_response_id="resp_unknown")
        free = c.responses.create(model="smart", input=[{"role": "user", "content": "Hi"}], store=False)
        assert deployments(route_info(free)) == [("a", "served")]
        fp.set_default("m-b", Fault.unauthorized())  # b's key refused: b is out of service
        with pytest.raises(llmfailover.AuthenticationError):
            c.responses.create(model="smart", input="More?", previous_response_id=first.id)
        with pytest.raises(llmfailover.NoTargetAvailable, match="only b holds the state this call needs"):
            c.responses.create(model="smart", input="More?", previous_response_id=first.id)


def test_a_bridged_response_has_no_state_to_continue(fp: FakeProvider, tmp_path: Path) -> None:
    with LookAlike(config=only(fp, "anthropic", tmp_path)) as c:
        first = c.responses.create(model="smart", input="Hi")
        with pytest.raises(llmfailover.BadRequestError, match="bridged to anthropic.*full input"):
            c.responses.create(model="smart", input="And?", previous_response_id=first.id)


def test_openai_only_endpoints_go_to_openai_family_deployments(fp: FakeProvider, tmp_path: Path) -> None:
    httpx = pytest.importorskip("httpx")
    config = failover_config(fp, "anthropic", tmp_path)
    with httpx.Client(transport=llmfailover.Transport(config=config), base_url="http://router.invalid/v1") as http:
        r = http.post("/moderations", json={"model": "smart", "input": "x"})
        assert r.status_code == 404  # the fake serves no moderations; what matters is where it went
    assert [(a.target, a.json()) for a in fp.attempts()] == [("/v1/moderations", {"model": "m-a", "input": "x"})]
    with httpx.Client(
        transport=llmfailover.Transport(config=only(fp, "anthropic", tmp_path)), base_url="http://router.invalid/v1"
    ) as http:
        r = http.post("/moderations", json={"model": "smart", "input": "x"})
        assert r.status_code == 400 and "/moderations is served by OpenAI-family" in r.json()["error"]["message"]


# --- openai's own client, types and helpers over the router --------------------------------------


@needs_openai
def test_openai_types_parse_what_we_return(fp: FakeProvider, tmp_path: Path) -> None:
    from openai.types.responses import Response, ResponseStreamEvent
    from pydantic import TypeAdapter

    fp.script("m-a", [Fault.unavailable()] * 12)
    adapter: Any = TypeAdapter(ResponseStreamEvent)
    with llmfailover.OpenAI(config=failover_config(fp, "anthropic", tmp_path)) as c:
        raw = c.responses.with_raw_response.create(model="smart", input="Hi", tools=[WEATHER])
        parsed = Response.model_validate(json.loads(raw.text))
        assert parsed.output_text == "Hello from claude-x."
        with c.responses.with_streaming_response.create(model="smart", input="Hi", stream=True) as s:
            data = [line[len("data: ") :] for line in s.iter_lines() if line.startswith("data: ")]
        events = [adapter.validate_python(json.loads(d)) for d in data]
        assert events[-1].type == "response.completed" and events[-1].response.output_text == "Hello from claude-x."


@needs_openai
def test_openai_client_create_stream_and_parse_fail_over(fp: FakeProvider, tmp_path: Path) -> None:
    from pydantic import BaseModel

    class Person(BaseModel):
        name: str
        age: int

    fp.script("m-a", [Fault.unavailable()] * 30)
    fp.set_reply("claude-x", json.dumps({"name": "Bo", "age": 5}))
    with llmfailover.OpenAI(config=failover_config(fp, "anthropic", tmp_path)) as c:
        assert json.loads(c.responses.create(model="smart", input="Hi").output_text) == {"name": "Bo", "age": 5}
        with c.responses.stream(model="smart", input="Hi") as stream:
            final = stream.get_final_response()
        assert final.output_text == '{"name": "Bo", "age": 5}'
        parsed = c.responses.parse(model="smart", input="Who?", text_format=Person)
        assert parsed.output_parsed == Person(name="Bo", age=5)


@needs_openai
def test_async_openai_client_streams_responses(fp: FakeProvider, tmp_path: Path) -> None:
    fp.script("m-a", [Fault.unavailable()] * 6)

    async def main() -> str:
        async with llmfailover.AsyncOpenAI(config=failover_config(fp, "gemini", tmp_path)) as c:
            async with c.responses.stream(model="smart", input="Hi") as stream:
                return (await stream.get_final_response()).output_text

    assert asyncio.run(main()) == "Hello from gemini-x."


@needs_openai
def test_openai_client_pins_retrieve_to_the_deployment(fp: FakeProvider) -> None:
    import openai

    fp.script("m-a", [Fault.unavailable()] * 6)
    with llmfailover.OpenAI(config=native_config(fp)) as c:
        first = c.responses.create(model="smart", input="Hi")
        with pytest.raises(openai.NotFoundError):  # the fake keeps no responses: it answers 404
            c.responses.retrieve(first.id)
        with pytest.raises(openai.NotFoundError):
            c.responses.input_items.list(first.id, limit=5)
        with pytest.raises(openai.BadRequestError, match="does not know which"):
            c.responses.retrieve("resp_never_seen")
    got = [(r.target, r.header("authorization")) for r in fp.attempts() if r.method == "GET"]
    assert got == [
        (f"/v1/responses/{first.id}", "Bearer key-b"),
        (f"/v1/responses/{first.id}/input_items?limit=5", "Bearer key-b"),
    ]


@pytest.mark.needs_sdk("langchain_openai")
@needs_openai
def test_langchain_use_responses_api_fails_over(fp: FakeProvider, tmp_path: Path) -> None:
    from langchain_openai import ChatOpenAI

    fp.script("m-a", [Fault.unavailable()] * 12)
    client = llmfailover.OpenAI(config=failover_config(fp, "anthropic", tmp_path))
    aclient = llmfailover.AsyncOpenAI(config=failover_config(fp, "anthropic", tmp_path))
    llm = ChatOpenAI(
        model="smart",
        api_key="unused",
        use_responses_api=True,
        client=client.chat.completions,
        async_client=aclient.chat.completions,
        root_client=client,
        root_async_client=aclient,
    )
    assert "Hello from claude-x." in str(llm.invoke("Hi").content)
    streamed = functools.reduce(operator.add, llm.stream("Hi"))
    assert "Hello from claude-x." in str(streamed.content)
    fp.set_tool_call("claude-x", "get_weather", {"city": "Oslo"})
    called = llm.bind_tools([{"type": "function", "function": {k: v for k, v in WEATHER.items() if k != "type"}}])
    assert [(c["name"], c["args"]) for c in called.invoke("Weather?").tool_calls] == [("get_weather", {"city": "Oslo"})]
    client.close()
    asyncio.run(aclient.close())


@needs_openai
def test_openai_client_a_cut_responses_stream_is_an_error_naming_the_interruption(fp: FakeProvider) -> None:
    import openai

    fp.set_default("m-a", Fault.cut(6))  # two text deltas, then the connection closes
    with llmfailover.OpenAI(config={**native_config(fp), "stream_recovery": "error"}) as c:
        got: list[str] = []
        with pytest.raises(openai.APIConnectionError) as err:
            for event in c.responses.create(model="smart", input="Hi", stream=True):
                got.append(event.type)
    assert "stream_interrupted" in str(err.value.__cause__) and "after 10 characters" in str(err.value.__cause__)
    assert got.count("response.output_text.delta") == 2 and "response.completed" not in got


@needs_openai
def test_openai_client_audio_upload_goes_to_an_openai_deployment_with_its_model(fp: FakeProvider) -> None:
    import openai

    with llmfailover.OpenAI(config=native_config(fp)) as c:
        with pytest.raises(openai.NotFoundError):  # the fake serves no audio; what matters is what it got
            c.audio.transcriptions.create(model="smart", file=("a.wav", b"RIFF-model-bytes"))
    for sent, name in zip(fp.attempts(), ("a", "b"), strict=True):  # a 404 is that deployment's: failed over
        assert sent.target == "/v1/audio/transcriptions" and sent.header("authorization") == f"Bearer key-{name}"
        assert f'name="model"\r\n\r\nm-{name}\r\n'.encode() in sent.body and b"RIFF-model-bytes" in sent.body


def test_azure_takes_responses_natively_outside_its_deployments(fp: FakeProvider) -> None:
    dep = {
        "id": "az",
        "provider": "azure",
        "model": "m-az",
        "base_url": fp.root_url,
        "api_key": "key-az",
        "api_version": "2025-03-01-preview",
    }
    with LookAlike(config={"groups": {"smart": {"deployments": [dep]}}}) as c:
        assert c.responses.create(model="smart", input="Hi").output_text == "Hello from m-az."
    (sent,) = fp.attempts()
    assert sent.target == "/openai/responses?api-version=2025-03-01-preview" and sent.header("api-key") == "key-az"
    assert sent.json()["model"] == "m-az"


# --- stream recovery: a Responses stream cut after its first delta is finished elsewhere ------------

STORY = "one two three four five six seven eight"


def recovering(fp: FakeProvider, *models: str) -> None:
    for m in models:
        fp.set_reply(m, STORY)


def field(obj: Any, name: str) -> Any:
    """An attribute, or a dict's key (the look-alike keeps event payloads as dicts)."""
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def check_one_stream(events: list[Any]) -> None:
    """One coherent stream: numbered 0.., one message item, the first response's id at the end."""
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert "".join(e.delta for e in deltas) == STORY
    assert {(e.item_id, e.output_index, e.content_index) for e in deltas} == {(deltas[0].item_id, 0, 0)}
    types = [e.type for e in events]
    assert types.count("response.created") == 1 and types.count("response.output_item.added") == 1
    assert types[-1] == "response.completed"
    final = events[-1].response
    assert field(final, "id") == field(events[0].response, "id")
    [message] = field(final, "output")
    assert field(message, "id") == deltas[0].item_id and field(field(message, "content")[0], "text") == STORY
    done = [e for e in events if e.type == "response.output_text.done"]
    assert len(done) == 1 and done[0].text == STORY and done[0].item_id == deltas[0].item_id


@needs_openai
def test_openai_client_responses_stream_recovers_after_a_cut(fp: FakeProvider) -> None:
    recovering(fp, "m-a", "m-b")
    fp.set_default("m-a", Fault.cut(6))  # two text deltas ("one two"), then the connection closes
    with llmfailover.OpenAI(config=native_config(fp)) as c:
        with c.responses.stream(model="smart", input="Hi") as stream:
            events = list(stream)
            final = stream.get_final_response()
    check_one_stream(events)
    assert final.output_text == STORY and final.id == events[0].response.id
    assert [a.model for a in fp.attempts()] == ["m-a", "m-b"]  # the route log: test_look_alike_... below
    with LookAlike(config=native_config(fp)) as c:  # the same through the look-alike, whose stream has its log
        stream = c.responses.create(model="smart", input="Hi", stream=True)
        check_one_stream(list(stream))
        assert deployments(route_info(stream)) == [("a", "recover"), ("b", "served_recovered")]


@needs_openai
def test_openai_client_responses_stream_recovers_on_a_bridged_provider(fp: FakeProvider, tmp_path: Path) -> None:
    # a: OpenAI-native, cut after two deltas; b: Anthropic through the bridge, which takes the
    # delivered text as an assistant prefill and sends only the rest.
    recovering(fp, "m-a")
    fp.set_reply("claude-x", STORY[len("one two") :])  # the fake answers a prefill with its reply: the rest
    fp.set_default("m-a", Fault.cut(6))
    with llmfailover.OpenAI(config=failover_config(fp, "anthropic", tmp_path)) as c:
        with c.responses.stream(model="smart", input="Hi") as stream:
            events = list(stream)
    check_one_stream(events)
    assert [a.model for a in fp.attempts()] == ["m-a", "claude-x"]
    sent = json.loads(fp.attempts("claude-x")[-1].body)  # the prefill: the delivered text as the assistant's turn
    assert sent["messages"][-1]["role"] == "assistant" and "one two" in json.dumps(sent["messages"][-1]["content"])


@needs_openai
def test_async_openai_client_responses_stream_recovers_after_a_cut(fp: FakeProvider) -> None:
    recovering(fp, "m-a", "m-b")
    fp.set_default("m-a", Fault.cut(6))

    async def main() -> list[Any]:
        async with llmfailover.AsyncOpenAI(config=native_config(fp)) as c:
            async with c.responses.stream(model="smart", input="Hi") as stream:
                return [e async for e in stream]

    check_one_stream(asyncio.run(main()))
    assert [a.model for a in fp.attempts()] == ["m-a", "m-b"]


def test_look_alike_responses_stream_recovers_after_a_cut(fp: FakeProvider, tmp_path: Path) -> None:
    recovering(fp, "m-a", "gemini-x")
    fp.set_default("m-a", Fault.cut(7))  # three text deltas; gemini restarts and repeats them
    with LookAlike(config=failover_config(fp, "gemini", tmp_path)) as c:
        stream = c.responses.create(model="smart", input="Hi", stream=True)
        events = list(stream)
        assert deployments(route_info(stream)) == [("a", "recover"), ("b", "served_recovered")]
    check_one_stream(events)


@needs_openai
def test_openai_client_a_cut_function_call_is_never_resumed(fp: FakeProvider) -> None:
    import openai

    fp.set_tool_call("m-a", "get_weather", {"city": "Oslo, the capital of Norway"})
    fp.set_tool_call("m-b", "get_weather", {"city": "Oslo, the capital of Norway"})
    fp.set_default("m-a", Fault.cut(5))  # the call item and two argument deltas, then the cut
    got: list[str] = []
    with llmfailover.OpenAI(config=native_config(fp)) as c:
        with pytest.raises(openai.APIConnectionError) as err:
            for event in c.responses.create(model="smart", input="Hi", tools=[WEATHER], stream=True):
                got.append(event.type)
    cause = str(err.value.__cause__)
    assert "stream_interrupted" in cause and "function_call item" in cause and "cannot resume it" in cause
    assert "response.completed" not in got and "response.function_call_arguments.delta" in got
    assert [a.model for a in fp.attempts()] == ["m-a"]  # no second attempt was made


def test_a_restart_that_differs_is_asked_to_continue_the_delivered_text(fp: FakeProvider) -> None:
    # As for chat: a restart that does not repeat what was delivered is asked once more, with the
    # delivered text as the assistant's turn and a request to continue; its answer is the rest.
    fp.set_reply("m-a", STORY)
    fp.set_reply("m-b", " and so on")
    fp.set_default("m-a", Fault.cut(6))
    with LookAlike(config=native_config(fp)) as c:
        stream = c.responses.create(model="smart", input="Hi", stream=True)
        events = list(stream)
        assert deployments(route_info(stream)) == [
            ("a", "recover"),
            ("b", "continuation_prompt"),
            ("b", "served_recovered"),
        ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response["output"][0]["content"][0]["text"] == "one two and so on"
    sent = json.loads(fp.attempts("m-b")[-1].body)
    assert sent["input"][0] == {"role": "user", "content": "Hi"}
    assert sent["input"][1] == {"role": "assistant", "content": "one two"}
    assert sent["input"][2]["role"] == "user" and "Continue your answer" in sent["input"][2]["content"]


# --- reasoning: effort bridged to thinking, thinking surfaced as reasoning items --------------------

THOUGHT = "The user greets me; a short answer will do."  # the fake's thinking (its dialects' kThought)
REASON = {"effort": "low", "summary": "auto"}


@needs_openai
@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_reasoning_is_bridged_to_thinking_and_comes_back_as_reasoning_items(
    fp: FakeProvider, provider: str, tmp_path: Path
) -> None:
    model = MODELS[provider]
    with llmfailover.OpenAI(config=only(fp, provider, tmp_path)) as c:
        r = c.responses.create(model="smart", input="Hi", reasoning=REASON)  # type: ignore[arg-type]
        with c.responses.stream(model="smart", input="Hi", reasoning=REASON) as stream:  # type: ignore[arg-type]
            events = list(stream)
            final = stream.get_final_response()
        plain = c.responses.create(model="smart", input="Hi", reasoning={"effort": "low"})
    for resp in (r, final):
        assert [o.type for o in resp.output] == ["reasoning", "message"]
        assert resp.output[0].summary[0].text == THOUGHT and resp.output_text == f"Hello from {model}."
    assert plain.output[0].type == "reasoning" and plain.output[0].summary == []  # no summary asked: none shown
    summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    assert summary == THOUGHT
    assert [e.sequence_number for e in events] == list(range(len(events)))
    sent = fp.attempts(model)[0].json()
    if provider == "anthropic":
        assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        assert r.usage is not None and r.usage.output_tokens_details.reasoning_tokens == 0  # no separate count
    else:
        assert sent["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 1024, "includeThoughts": True}
        assert r.usage is not None and r.usage.output_tokens_details.reasoning_tokens == len(THOUGHT.split())


def test_chat_reasoning_effort_reaches_gemini_and_its_thinking_is_counted(fp: FakeProvider, tmp_path: Path) -> None:
    with LookAlike(config=only(fp, "gemini", tmp_path)) as c:
        r = c.chat.completions.create(
            model="smart", messages=[{"role": "user", "content": "Hi"}], reasoning_effort="medium"
        )
    assert r.choices[0].message.content == "Hello from gemini-x."
    assert r.usage.completion_tokens_details.reasoning_tokens == len(THOUGHT.split())
    sent = fp.attempts("gemini-x")[0].json()
    assert sent["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 8192, "includeThoughts": True}


def test_a_bad_reasoning_effort_is_a_400_naming_it(fp: FakeProvider, tmp_path: Path) -> None:
    with LookAlike(config=only(fp, "anthropic", tmp_path)) as c:
        with pytest.raises(llmfailover.BadRequestError, match="reasoning_effort must be"):
            c.responses.create(model="smart", input="Hi", reasoning={"effort": "extreme"})
    assert fp.attempts() == []
