"""Tool-call answers: ``FakeProvider.set_tool_call`` seen by the official SDKs and through failover.

* The openai SDK (OpenAI dialect) and boto3's ``bedrock-runtime`` client (Converse and
  ConverseStream, pointed at the fake as tests/py/test_provider_dialects_aws.py does) parse the
  scripted tool call, plain and streamed, and see its name and arguments. The Anthropic, Gemini
  and Cohere SDK checks are in test_provider_dialects.py; the adapters' side is in
  tests/cpp/testing/fake_tool_call_test.cpp.
* End to end: an OpenAI-format primary answers 503 and the fallback (Anthropic, Gemini, Vertex,
  Bedrock, Cohere) answers with a tool call; ``llmfailover.OpenAI(config=...)`` returns it as an
  OpenAI tool call with the scripted name and arguments and finish_reason ``tool_calls``, plain
  and streamed (the accumulated deltas); the turn after the tool result answers text; a tool-call
  stream cut inside its arguments is interrupted, never a success.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from _fallbacks import BEDROCK_MODEL, MODELS, POLICY, failover_config, fallback_deployment, set_aws_keys
from llmfailover.testing import FakeProvider, Fault

try:
    import openai
except ImportError:  # LLMFAILOVER_HIDE_OPENAI=1: the SDK tests skip, the rest still run
    openai = None

needs_openai = pytest.mark.skipif(openai is None, reason="the openai SDK is not importable")
# Skip when the SDK is not importable, fail under LLMFAILOVER_REQUIRE_SDKS=1 (conftest.py).
needs_boto3 = pytest.mark.needs_sdk("boto3", "botocore.config")

TOOL = "get_weather"
ARGS = {"city": "Paris", "unit": "celsius", "days": [1, 2]}
ARGS_TEXT = json.dumps(ARGS)  # what the streams' pieces concatenate to
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": TOOL,
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture(autouse=True)
def _aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    set_aws_keys(monkeypatch)


def accumulate(chunks: list[Any]) -> dict[int, dict[str, Any]]:
    """Choice 0's streamed tool calls by index: id, type, name and arguments as the deltas add up."""
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        if not chunk.choices:
            continue
        for d in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(d.index, {"id": "", "type": None, "name": "", "arguments": "", "deltas": 0})
            call["id"] += d.id or ""
            call["type"] = d.type or call["type"]
            if d.function is not None:
                call["name"] += d.function.name or ""
                if d.function.arguments:
                    call["arguments"] += d.function.arguments
                    call["deltas"] += 1
    return calls


def finishes(chunks: list[Any]) -> list[str]:
    return [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]


# --- the openai SDK, OpenAI dialect ------------------------------------------------------------


@pytest.fixture
def client(fp: FakeProvider) -> Iterator[Any]:
    with openai.OpenAI(base_url=fp.base_url, api_key="k", max_retries=0, timeout=5.0) as c:
        yield c


@needs_openai
def test_openai_sdk_parses_the_tool_call(fp: FakeProvider, client: Any) -> None:
    fp.set_tool_call("gpt-4o", TOOL, ARGS)
    completion = client.chat.completions.create(model="gpt-4o", messages=ASK, tools=[WEATHER_TOOL])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == TOOL and json.loads(call.function.arguments) == ARGS
    assert completion.usage.completion_tokens >= 2


@needs_openai
def test_openai_sdk_streams_the_tool_call(fp: FakeProvider, client: Any) -> None:
    fp.set_tool_call("gpt-4o", TOOL, ARGS_TEXT)
    with client.chat.completions.create(
        model="gpt-4o", messages=ASK, tools=[WEATHER_TOOL], stream=True, stream_options={"include_usage": True}
    ) as stream:
        chunks = list(stream)
    [call] = accumulate(chunks).values()
    assert call["name"] == TOOL and call["type"] == "function" and call["id"].startswith("call_")
    assert call["arguments"] == ARGS_TEXT and call["deltas"] > 1
    assert finishes(chunks) == ["tool_calls"]
    assert chunks[-1].usage.completion_tokens == call["deltas"] + 1


@needs_openai
def test_openai_sdk_sees_a_cut_tool_call_stream_fail(fp: FakeProvider, client: Any) -> None:
    fp.set_tool_call("gpt-4o", TOOL, ARGS)
    fp.script("gpt-4o", [Fault.cut_after(3)])
    got: list[Any] = []
    with pytest.raises(openai.APIConnectionError):  # httpx reports the truncated chunked body
        for chunk in client.chat.completions.create(model="gpt-4o", messages=ASK, stream=True):
            got.append(chunk)
    assert finishes(got) == [] and accumulate(got)[0]["name"] == TOOL
    assert fp.attempts("gpt-4o")[0].outcome == "cut:3"


# --- boto3, Bedrock dialect --------------------------------------------------------------------


def converse_args() -> dict:
    return {
        "modelId": BEDROCK_MODEL,
        "messages": [{"role": "user", "content": [{"text": "Weather in Paris?"}]}],
        "toolConfig": {"tools": [{"toolSpec": {"name": TOOL, "inputSchema": {"json": {"type": "object"}}}}]},
    }


@needs_boto3
def test_boto3_converse_parses_the_tool_use(fp: FakeProvider, bedrock: Any) -> None:
    fp.set_tool_call(BEDROCK_MODEL, TOOL, ARGS)
    r = bedrock.converse(**converse_args())
    assert r["stopReason"] == "tool_use"
    [block] = r["output"]["message"]["content"]
    use = block["toolUse"]
    assert use["name"] == TOOL and use["input"] == ARGS and use["toolUseId"].startswith("tooluse_")
    assert r["usage"]["outputTokens"] >= 2


@needs_boto3
def test_boto3_converse_stream_parses_the_tool_use(fp: FakeProvider, bedrock: Any) -> None:
    fp.set_tool_call(BEDROCK_MODEL, TOOL, ARGS_TEXT)
    events = list(bedrock.converse_stream(**converse_args())["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[:2] == ["messageStart", "contentBlockStart"]
    assert kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    start = events[1]["contentBlockStart"]["start"]["toolUse"]
    assert start["name"] == TOOL and start["toolUseId"].startswith("tooluse_")
    pieces = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e]
    assert len(pieces) > 1 and "".join(pieces) == ARGS_TEXT
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"
    assert events[-1]["metadata"]["usage"]["outputTokens"] == len(pieces) + 1


# --- failover from an OpenAI-format primary, through the router --------------------------------


PROVIDERS = list(MODELS)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_failover_answer_is_the_fallbacks_tool_call(
    fp: FakeProvider, tmp_path: Path, provider: str, stream: bool
) -> None:
    from llmfailover import OpenAI, route_info

    model = MODELS[provider]
    fp.set_default("m-a", Fault.unavailable())
    fp.set_tool_call(model, TOOL, ARGS_TEXT)
    with OpenAI(config=failover_config(fp, provider, tmp_path)) as client:
        kw: dict[str, Any] = {"model": "smart", "messages": ASK, "tools": [WEATHER_TOOL]}
        if stream:
            s = client.chat.completions.create(**kw, stream=True, stream_options={"include_usage": True})
            chunks = list(s)
            [call] = accumulate(chunks).values()
            name, arguments, call_id, call_type = call["name"], call["arguments"], call["id"], call["type"]
            finish, usage, info = finishes(chunks), chunks[-1].usage, route_info(s)
            content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            if provider not in ("gemini", "vertex"):  # Gemini streams a call whole, in one chunk
                assert arguments == ARGS_TEXT and call["deltas"] > 1
        else:
            result = client.chat.completions.create(**kw)
            message = result.choices[0].message
            [tool_call] = message.tool_calls
            name, arguments = tool_call.function.name, tool_call.function.arguments
            call_id, call_type = tool_call.id, tool_call.type
            finish, usage, info, content = [result.choices[0].finish_reason], result.usage, route_info(result), ""
            assert not message.content
    assert name == TOOL and json.loads(arguments) == ARGS
    assert call_id and call_type == "function"
    assert finish == ["tool_calls"] and content == ""
    assert usage is not None and usage.completion_tokens >= 2
    assert info is not None and [(a.deployment, a.decision) for a in info.attempts] == [
        ("a", "failover"),
        ("b", "served"),
    ]
    assert [r.outcome for r in fp.attempts("m-a")] == ["status:503"]
    [rec] = fp.attempts(model)
    assert (rec.stream, rec.outcome) == (stream, "ok")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_turn_after_the_tool_result_answers_text(fp: FakeProvider, tmp_path: Path, provider: str) -> None:
    """The agent loop across failover: the fallback calls the tool, gets its result, answers text."""
    from llmfailover import OpenAI

    model = MODELS[provider]
    fp.set_default("m-a", Fault.unavailable())
    fp.set_tool_call(model, TOOL, ARGS)
    fp.script(model, [Fault.ok(), Fault(content="It is 18C in Paris.")])  # attempt 2: text
    with OpenAI(config=failover_config(fp, provider, tmp_path)) as client:
        first = client.chat.completions.create(model="smart", messages=ASK, tools=[WEATHER_TOOL])
        call = first.choices[0].message.tool_calls[0]
        history = ASK + [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.function.name, "arguments": call.function.arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": "18C"},
        ]
        second = client.chat.completions.create(model="smart", messages=history, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "It is 18C in Paris."
    assert second.choices[0].finish_reason == "stop" and not second.choices[0].message.tool_calls
    assert "18C" in json.dumps(fp.attempts(model)[1].json())  # the tool result reached it, in its dialect


@pytest.mark.parametrize("provider", ["anthropic", "bedrock", "cohere"])
def test_a_tool_call_stream_cut_inside_its_arguments_is_interrupted(
    fp: FakeProvider, tmp_path: Path, provider: str
) -> None:
    """Half a tool call is never a success: the caller gets StreamInterrupted, not a finish."""
    from llmfailover import OpenAI, StreamInterrupted

    model = MODELS[provider]
    fp.set_tool_call(model, TOOL, ARGS_TEXT)
    fp.set_default(model, Fault.cut_after(5))  # after the call's start and a piece or two of its arguments
    config = {
        "groups": {
            "smart": {"deployments": [{**fallback_deployment(fp, provider, tmp_path), "priority": 0}], "policy": POLICY}
        }
    }
    got: list[Any] = []
    with OpenAI(config=config) as client:
        stream = client.chat.completions.create(model="smart", messages=ASK, tools=[WEATHER_TOOL], stream=True)
        with pytest.raises(StreamInterrupted):
            for chunk in stream:
                got.append(chunk)
    [call] = accumulate(got).values()
    assert call["name"] == TOOL and call["arguments"] and call["arguments"] != ARGS_TEXT
    assert finishes(got) == []
    assert fp.attempts(model)[0].outcome == "cut:5"
