"""Cross-provider failover keeps the conversation: an OpenAI-format primary fails, and the fallback
of another provider gets the whole conversation in its own dialect (docs/providers.md).

One conversation carries everything that must survive the translation: a system prompt, a user
turn with a text and an image part (a data: URL), an assistant tool call, its tool result, a final
user turn, and the tool definition. What each fallback received is read back from the fake
provider's records (``fp.attempts(model)[0].json()``), plain and streamed; the answer must be the
fallback's (text, model, usage as the fake counts it in that dialect).

Then the caller's view through the Python client: whatever way the primary fails before its first
token (503, an error event at the start of the stream, a reset connection), the caller gets one
complete answer from the fallback and nothing of the failure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest
from _fallbacks import BEDROCK_MODEL, MODELS, failover_config, set_aws_keys
from llmfailover import OpenAI, RouteInfo, route_info
from llmfailover.testing import FakeProvider, Fault

PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="  # 1x1
IMAGE_URL = f"data:image/png;base64,{PNG_B64}"
PARAMETERS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "description": "The current weather in a city", "parameters": PARAMETERS},
}
CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief"},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": IMAGE_URL}},
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    {"role": "user", "content": "Thanks, and the weather?"},
]
# The fake counts the words of the text it got, in its dialect: "Be brief" + the two user texts
# (2 + 5 + 4). Cohere also counts the tool message's "18C"; the others carry it in a tool-result
# block they do not count. So these are the fallback's own usage numbers, not the client's.
PROMPT_TOKENS = {"anthropic": 11, "gemini": 11, "vertex": 11, "bedrock": 11, "cohere": 12}


@pytest.fixture(autouse=True)
def _aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    set_aws_keys(monkeypatch)


def decisions(info: Optional[RouteInfo]) -> list[tuple[str, str]]:
    assert info is not None
    return [(a.deployment, a.decision) for a in info.attempts]


def text_of(content: Any) -> str:
    """A string, or the text of a list of text blocks/parts (either form is valid in every dialect)."""
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content)


# --- what each fallback received, in its dialect ---------------------------------------------------


def check_anthropic(body: dict[str, Any]) -> None:
    assert text_of(body["system"]) == "Be brief"  # top level, never a message
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    first, call, last = (m["content"] for m in body["messages"])
    assert first == [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
    ]
    [tool_use] = [b for b in call if b["type"] == "tool_use"]
    assert (tool_use["name"], tool_use["input"]) == ("get_weather", {"city": "Paris"})
    # The tool result opens the next user turn (Anthropic requires it first), then the user's text.
    assert last[0]["type"] == "tool_result" and last[0]["tool_use_id"] == tool_use["id"]
    assert text_of(last[0]["content"]) == "18C"
    assert last[1:] == [{"type": "text", "text": "Thanks, and the weather?"}]
    assert body["tools"] == [
        {"name": "get_weather", "description": "The current weather in a city", "input_schema": PARAMETERS}
    ]
    assert body["max_tokens"] > 0  # required by Anthropic


def check_gemini(body: dict[str, Any]) -> None:
    assert [p["text"] for p in body["systemInstruction"]["parts"]] == ["Be brief"]
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    first, call, last = (c["parts"] for c in body["contents"])
    assert first == [{"text": "What is in this picture?"}, {"inlineData": {"mimeType": "image/png", "data": PNG_B64}}]
    [function_call] = [p["functionCall"] for p in call if "functionCall" in p]
    assert (function_call["name"], function_call["args"]) == ("get_weather", {"city": "Paris"})
    response = last[0]["functionResponse"]  # named from the call whose id the tool message gave
    assert response["name"] == "get_weather"
    assert isinstance(response["response"], dict) and "18C" in json.dumps(response["response"])
    assert last[1:] == [{"text": "Thanks, and the weather?"}]
    [declaration] = [d for t in body["tools"] for d in t.get("functionDeclarations", [])]
    assert declaration == {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parametersJsonSchema": PARAMETERS,
    }


def check_bedrock(body: dict[str, Any]) -> None:
    assert body["system"] == [{"text": "Be brief"}]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]  # Converse alternates
    first, call, last = (m["content"] for m in body["messages"])
    assert first == [
        {"text": "What is in this picture?"},
        {"image": {"format": "png", "source": {"bytes": PNG_B64}}},
    ]  # a blob is base64 in JSON
    [tool_use] = [b["toolUse"] for b in call if "toolUse" in b]
    assert (tool_use["name"], tool_use["input"]) == ("get_weather", {"city": "Paris"})
    result = last[0]["toolResult"]
    assert result["toolUseId"] == tool_use["toolUseId"]
    assert result["content"] == [{"text": "18C"}]
    assert last[1:] == [{"text": "Thanks, and the weather?"}]
    assert body["toolConfig"]["tools"] == [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "The current weather in a city",
                "inputSchema": {"json": PARAMETERS},
            }
        }
    ]


def check_cohere(body: dict[str, Any]) -> None:
    system, user, call, tool, last = body["messages"]
    assert system == {"role": "system", "content": "Be brief"}
    assert user["role"] == "user"
    assert user["content"] == [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": IMAGE_URL}},
    ]
    assert call["role"] == "assistant"
    [tool_call] = call["tool_calls"]
    assert (tool_call["id"], tool_call["type"], tool_call["function"]["name"]) == ("call_1", "function", "get_weather")
    assert json.loads(tool_call["function"]["arguments"]) == {"city": "Paris"}
    assert (tool["role"], tool["tool_call_id"], text_of(tool["content"])) == ("tool", "call_1", "18C")
    assert last == {"role": "user", "content": "Thanks, and the weather?"}
    assert body["tools"] == [WEATHER_TOOL]
    assert "stream_options" not in body  # Cohere rejects it


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "anthropic": check_anthropic,
    "gemini": check_gemini,
    "vertex": check_gemini,
    "bedrock": check_bedrock,
    "cohere": check_cohere,
}
TARGETS = {
    "anthropic": ("/v1/messages", "/v1/messages"),
    "gemini": ("/v1beta/models/gemini-x:generateContent", "/v1beta/models/gemini-x:streamGenerateContent?alt=sse"),
    "vertex": (
        "/v1/projects/proj-1/locations/us-central1/publishers/google/models/gemini-v:generateContent",
        "/v1/projects/proj-1/locations/us-central1/publishers/google/models/gemini-v:streamGenerateContent?alt=sse",
    ),
    "bedrock": (
        f"/model/{BEDROCK_MODEL.replace(':', '%3A')}/converse",
        f"/model/{BEDROCK_MODEL.replace(':', '%3A')}/converse-stream",
    ),
    "cohere": ("/v2/chat", "/v2/chat"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("provider", list(CHECKS))
def test_failover_to_another_provider_keeps_the_conversation(
    fp: FakeProvider, tmp_path: Path, provider: str, stream: bool
) -> None:
    """The 503 of the OpenAI primary fails over; the fallback gets system prompt, image, tool call,
    tool result and tools in its own dialect, and the answer (text, model, usage) is its own."""
    model = MODELS[provider]
    fp.set_default("m-a", Fault.unavailable())
    with OpenAI(config=failover_config(fp, provider, tmp_path)) as client:
        kw: dict[str, Any] = {"model": "smart", "messages": CONVERSATION, "tools": [WEATHER_TOOL]}
        if stream:
            s = client.chat.completions.create(**kw, stream=True, stream_options={"include_usage": True})
            chunks = list(s)
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
            usage, served_model, info = chunks[-1].usage, {c.model for c in chunks}, route_info(s)
        else:
            result = client.chat.completions.create(**kw)
            text, finishes = result.choices[0].message.content, [result.choices[0].finish_reason]
            usage, served_model, info = result.usage, {result.model}, route_info(result)
            assert info is not None and info.served is not None
            assert (info.served.provider, info.served.model) == (provider, model)

    assert text == f"Hello from {model}."
    assert finishes == ["stop"] and served_model == {model}
    assert usage is not None
    assert (usage.completion_tokens, usage.prompt_tokens) == (3, PROMPT_TOKENS[provider])
    assert decisions(info) == [("a", "failover"), ("b", "served")]

    [primary] = fp.attempts("m-a")
    assert primary.outcome == "status:503"
    assert [m["role"] for m in primary.json()["messages"]] == ["system", "user", "assistant", "tool", "user"]
    [rec] = fp.attempts(model)
    assert (rec.target, rec.stream, rec.outcome) == (TARGETS[provider][stream], stream, "ok")
    CHECKS[provider](rec.json())


# --- the caller sees one complete answer, never the failure ------------------------------------------

REPLY = "It is 18C and sunny in Paris."  # seven words: seven content chunks in a stream
FAILURES = [
    pytest.param(False, Fault.unavailable(), "status:503", "server_error", id="plain-503"),
    pytest.param(False, Fault.reset(), "reset", "connection_reset", id="plain-reset"),
    pytest.param(True, Fault.unavailable(), "status:503", "server_error", id="stream-503"),
    pytest.param(True, Fault.error_event(0), "error_event:0", "stream_error_event", id="stream-error_event_first"),
    pytest.param(True, Fault.reset(), "reset", "connection_reset", id="stream-reset"),
]


@pytest.fixture
def client_to(fp: FakeProvider, tmp_path: Path) -> Iterator[Callable[[str], OpenAI]]:
    clients: list[OpenAI] = []

    def make(provider: str) -> OpenAI:
        fp.set_reply(MODELS[provider], REPLY)
        clients.append(OpenAI(config=failover_config(fp, provider, tmp_path)))
        return clients[-1]

    yield make
    for c in clients:
        c.close()


@pytest.mark.parametrize("stream, fault, outcome, reason", FAILURES)
@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
def test_the_caller_sees_a_complete_answer_and_nothing_of_the_failure(
    fp: FakeProvider,
    client_to: Callable[[str], OpenAI],
    provider: str,
    stream: bool,
    fault: Fault,
    outcome: str,
    reason: str,
) -> None:
    """A primary failing before its first token is invisible: no error, no byte of the primary,
    one well-formed answer (role, content, one finish, usage) from the fallback."""
    model = MODELS[provider]
    fp.script("m-a", [fault])
    client = client_to(provider)
    messages = [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Weather in Paris?"}]
    if stream:
        s = client.chat.completions.create(
            model="smart", messages=messages, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(s)
        info = route_info(s)
        *content_chunks, usage_chunk = chunks
        assert all(len(c.choices) == 1 for c in content_chunks) and usage_chunk.choices == []
        deltas = [c.choices[0].delta for c in content_chunks]
        assert deltas[0].role == "assistant" and all(d.role is None for d in deltas[1:])
        assert "".join(d.content or "" for d in deltas) == REPLY
        assert [c.choices[0].finish_reason for c in content_chunks] == [None] * (len(content_chunks) - 1) + ["stop"]
        assert len({c.id for c in chunks}) == 1 and {c.model for c in chunks} == {model}
        usage = usage_chunk.usage
    else:
        result = client.chat.completions.create(model="smart", messages=messages)
        info = route_info(result)
        [choice] = result.choices
        assert (choice.message.role, choice.message.content, choice.finish_reason) == ("assistant", REPLY, "stop")
        assert not choice.message.tool_calls and result.model == model
        usage = result.usage
    assert usage is not None and usage.completion_tokens == 7

    assert info is not None
    assert decisions(info) == [("a", "failover"), ("b", "served")]
    assert info.attempts[0].reason == reason
    assert [(a.model, a.outcome) for a in fp.attempts()] == [("m-a", outcome), (model, "ok")]
    assert fp.attempts(model)[0].stream == stream
