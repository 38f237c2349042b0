"""FakeProvider's Anthropic and Gemini dialects, parsed by the official SDKs; and its scripted tool
calls (``set_tool_call``) in the Anthropic, Gemini and Cohere dialects.

If ``anthropic``, ``google-genai`` and ``cohere`` (from PyPI) accept what the fake sends, plain and
streamed, errors and tool calls included, then the fake speaks the real dialects; the C++ tests
(tests/cpp/providers/dialects_test.cpp, tests/cpp/testing/fake_tool_call_test.cpp) prove our
adapters agree with the fake. Bedrock's tool calls (boto3), the OpenAI SDK's and the failover
ones are in test_fake_tool_calls.py. Each SDK's tests skip cleanly when it is not importable (and
fail under ``LLMFAILOVER_REQUIRE_SDKS=1``).
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from llmfailover.testing import FakeProvider, Fault

try:
    import anthropic
except ImportError:  # pragma: no cover - depends on the environment
    anthropic = None

try:
    from google import genai
    from google.genai import errors as genai_errors
    from google.genai import types as genai_types
except ImportError:  # pragma: no cover - depends on the environment
    genai = None

try:
    import cohere
except ImportError:  # pragma: no cover - depends on the environment
    cohere = None

# Skip when the SDK is not importable, fail under LLMFAILOVER_REQUIRE_SDKS=1 (conftest.py).
needs_anthropic = pytest.mark.needs_sdk("anthropic")
needs_genai = pytest.mark.needs_sdk("google.genai", "google.genai.errors", "google.genai.types")
needs_cohere = pytest.mark.needs_sdk("cohere")

CLAUDE = "claude-test"
GEMINI = "gemini-test"
COMMAND = "command-test"
TOOL = "get_weather"
ARGS = {"city": "Paris", "unit": "celsius", "days": [1, 2]}


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


# --- the SDK guard (conftest.py) ----------------------------------------------------------------


def test_a_missing_sdk_skips_but_fails_under_llmfailover_require_sdks(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """scripts/test.sh's first run sets LLMFAILOVER_REQUIRE_SDKS=1, so an environment without an SDK
    cannot pass there by skipping the checks that the fake speaks its dialect."""
    import json

    from conftest import pytest_runtest_setup, require_sdk

    missing = "llmfailover_no_such_sdk"
    monkeypatch.delenv("LLMFAILOVER_REQUIRE_SDKS", raising=False)
    with pytest.raises(pytest.skip.Exception, match=missing):
        require_sdk(missing)
    assert require_sdk("json") is json
    monkeypatch.setenv("LLMFAILOVER_REQUIRE_SDKS", "1")
    with pytest.raises(pytest.fail.Exception, match=f"{missing} is not importable.*LLMFAILOVER_REQUIRE_SDKS=1"):
        require_sdk(missing)
    assert require_sdk("json") is json
    # The marker goes through the same check, every module it names.
    request.node.add_marker(pytest.mark.needs_sdk("json", missing))
    with pytest.raises(pytest.fail.Exception, match=missing):
        pytest_runtest_setup(request.node)


# --- Anthropic ---------------------------------------------------------------------------------


@pytest.fixture
def claude(fp: FakeProvider) -> Iterator[Any]:
    client = anthropic.Anthropic(base_url=fp.root_url, api_key="test-key", max_retries=0, timeout=5.0)
    yield client
    client.close()


def ask_claude(client: Any, **kw: Any) -> Any:
    return client.messages.create(
        model=CLAUDE, max_tokens=64, system="Be brief", messages=[{"role": "user", "content": "Say hello"}], **kw
    )


@needs_anthropic
def test_anthropic_message(fp: FakeProvider, claude: Any) -> None:
    msg = ask_claude(claude)
    assert isinstance(msg, anthropic.types.Message)
    assert msg.content[0].type == "text"
    assert msg.content[0].text == "Hello from claude-test."
    assert msg.stop_reason == "end_turn"
    assert msg.model == CLAUDE
    assert msg.usage.input_tokens == 4 and msg.usage.output_tokens == 3
    [rec] = fp.attempts(CLAUDE)
    assert rec.target == "/v1/messages"
    # SDK 2.x authenticates with a Bearer header (1.x: x-api-key); our adapter sends x-api-key.
    assert "test-key" in (rec.header("x-api-key") or rec.header("authorization") or "")
    assert rec.header("anthropic-version")


@needs_anthropic
def test_anthropic_stream_helper(claude: Any) -> None:
    with claude.messages.stream(
        model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "Say hello"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello from claude-test."
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 3


@needs_anthropic
def test_anthropic_raw_stream_events_include_ping(claude: Any) -> None:
    events = [e.type for e in ask_claude(claude, stream=True)]
    assert events[0] == "message_start"
    assert "ping" not in events  # the SDK swallows ping, as the real API's pings are meant
    assert events[-2:] == ["message_delta", "message_stop"]
    assert events.count("content_block_delta") == 3


@needs_anthropic
def test_anthropic_error_event_inside_a_200_stream(fp: FakeProvider, claude: Any) -> None:
    fp.script(CLAUDE, [Fault.error_event(1)])
    with pytest.raises(anthropic.APIStatusError) as info:
        list(ask_claude(claude, stream=True))
    assert "overloaded_error" in str(info.value)
    assert fp.attempts(CLAUDE)[0].outcome == "error_event:1"


@needs_anthropic
@pytest.mark.parametrize(
    "fault, error",
    [
        (Fault.overloaded(), "OverloadedError"),
        (Fault.rate_limited(), "RateLimitError"),
        (Fault.unauthorized(), "AuthenticationError"),
        (Fault.context_length_exceeded(), "BadRequestError"),
        (Fault.server_error(500), "InternalServerError"),
    ],
)
def test_anthropic_error_bodies(fp: FakeProvider, claude: Any, fault: Fault, error: str) -> None:
    fp.script(CLAUDE, [fault])
    expected = getattr(anthropic, error, anthropic.APIStatusError)  # OverloadedError is recent
    with pytest.raises(expected) as info:
        ask_claude(claude)
    body = info.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] in {
        "overloaded_error",
        "rate_limit_error",
        "authentication_error",
        "invalid_request_error",
        "api_error",
    }
    if fault.status == 400:
        assert "prompt is too long" in body["error"]["message"]


@needs_anthropic
def test_anthropic_tool_use(fp: FakeProvider, claude: Any) -> None:
    fp.set_tool_call(CLAUDE, TOOL, ARGS)
    msg = ask_claude(claude)
    assert msg.stop_reason == "tool_use"
    [block] = msg.content
    assert isinstance(block, anthropic.types.ToolUseBlock)
    assert block.name == TOOL and block.input == ARGS and block.id.startswith("toolu_")
    assert msg.usage.output_tokens >= 2


@needs_anthropic
def test_anthropic_tool_use_streamed(fp: FakeProvider, claude: Any) -> None:
    fp.set_tool_call(CLAUDE, TOOL, json.dumps(ARGS))
    events = list(ask_claude(claude, stream=True))
    start = next(e for e in events if e.type == "content_block_start")
    assert start.content_block.type == "tool_use" and start.content_block.name == TOOL
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    assert {d.type for d in deltas} == {"input_json_delta"}
    assert len(deltas) > 1 and json.loads("".join(d.partial_json for d in deltas)) == ARGS
    assert [e.delta.stop_reason for e in events if e.type == "message_delta"] == ["tool_use"]
    with claude.messages.stream(  # the SDK's helper accumulates the input JSON itself
        model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "Weather?"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert final.content[0].name == TOOL and final.content[0].input == ARGS


# --- Gemini ------------------------------------------------------------------------------------


@pytest.fixture
def gemini(fp: FakeProvider) -> Iterator[Any]:
    client = genai.Client(
        api_key="test-key",
        # v1beta, as our adapter (some SDK versions default to v1; the fake serves both).
        http_options=genai_types.HttpOptions(base_url=fp.root_url, api_version="v1beta", timeout=5000),
    )
    yield client
    client.close()


def gemini_config() -> Any:
    return genai_types.GenerateContentConfig(system_instruction="Be brief", temperature=0.2)


@needs_genai
def test_gemini_generate_content(fp: FakeProvider, gemini: Any) -> None:
    res = gemini.models.generate_content(model=GEMINI, contents="Say hello", config=gemini_config())
    assert res.text == "Hello from gemini-test."
    assert res.candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert res.usage_metadata.prompt_token_count == 4
    assert res.usage_metadata.total_token_count == 7
    [rec] = fp.attempts(GEMINI)
    assert rec.target == "/v1beta/models/gemini-test:generateContent"
    assert rec.header("x-goog-api-key") == "test-key"
    assert rec.json()["systemInstruction"]["parts"][0]["text"] == "Be brief"


@needs_genai
def test_gemini_stream(fp: FakeProvider, gemini: Any) -> None:
    chunks = list(gemini.models.generate_content_stream(model=GEMINI, contents="Say hello"))
    assert "".join(c.text for c in chunks) == "Hello from gemini-test."
    assert chunks[-1].candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert chunks[-1].usage_metadata.candidates_token_count == 3
    assert fp.attempts(GEMINI)[0].target == "/v1beta/models/gemini-test:streamGenerateContent?alt=sse"


@needs_genai
def test_gemini_rate_limit_body_carries_retry_delay(fp: FakeProvider, gemini: Any) -> None:
    fp.set_default(GEMINI, Fault.rate_limited())
    with pytest.raises(genai_errors.ClientError) as info:
        gemini.models.generate_content(
            model=GEMINI,
            contents="hi",
            config=genai_types.GenerateContentConfig(http_options=genai_types.HttpOptions(retry_options=None)),
        )
    assert info.value.code == 429
    assert info.value.status == "RESOURCE_EXHAUSTED"
    details = info.value.details["error"]["details"]
    assert any(d.get("retryDelay") == "1s" for d in details)


@needs_genai
@pytest.mark.parametrize(
    "fault, error, status",
    [
        (Fault.unavailable(), "ServerError", "UNAVAILABLE"),
        (Fault.context_length_exceeded(), "ClientError", "INVALID_ARGUMENT"),
        (Fault.unauthorized(), "ClientError", "UNAUTHENTICATED"),
    ],
)
def test_gemini_error_bodies(fp: FakeProvider, gemini: Any, fault: Fault, error: str, status: str) -> None:
    fp.set_default(GEMINI, fault)
    with pytest.raises(getattr(genai_errors, error)) as info:
        gemini.models.generate_content(model=GEMINI, contents="hi")
    assert info.value.status == status


@needs_genai
def test_gemini_error_inside_the_stream(fp: FakeProvider, gemini: Any) -> None:
    fp.script(GEMINI, [Fault.error_event(1)])
    got = []
    with pytest.raises(genai_errors.APIError) as info:
        for chunk in gemini.models.generate_content_stream(model=GEMINI, contents="hi"):
            got.append(chunk.text)
    assert got == ["Hello"]
    assert info.value.code == 503


@needs_genai
def test_gemini_function_call(fp: FakeProvider, gemini: Any) -> None:
    fp.set_tool_call(GEMINI, TOOL, ARGS)
    res = gemini.models.generate_content(model=GEMINI, contents="Weather?")
    [call] = res.function_calls
    assert call.name == TOOL and call.args == ARGS
    assert res.candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert res.usage_metadata.candidates_token_count >= 2


@needs_genai
def test_gemini_function_call_streamed(fp: FakeProvider, gemini: Any) -> None:
    fp.set_tool_call(GEMINI, TOOL, ARGS)
    chunks = list(gemini.models.generate_content_stream(model=GEMINI, contents="Weather?"))
    calls = [c for chunk in chunks for c in (chunk.function_calls or [])]
    assert [(c.name, c.args) for c in calls] == [(TOOL, ARGS)]
    assert chunks[-1].candidates[0].finish_reason == genai_types.FinishReason.STOP


# --- Cohere (tool calls; its other checks are in test_provider_dialects_aws.py) -----------------


@pytest.fixture
def co(fp: FakeProvider) -> Iterator[Any]:
    import httpx

    with httpx.Client(timeout=5) as http_client:
        yield cohere.ClientV2(api_key="test-key", base_url=fp.root_url, httpx_client=http_client)


@needs_cohere
def test_cohere_tool_call(fp: FakeProvider, co: Any) -> None:
    fp.set_tool_call(COMMAND, TOOL, ARGS)
    r = co.chat(model=COMMAND, messages=[{"role": "user", "content": "Weather?"}])
    assert r.finish_reason == "TOOL_CALL"
    [call] = r.message.tool_calls
    assert call.type == "function" and call.id
    assert call.function.name == TOOL and json.loads(call.function.arguments) == ARGS


@needs_cohere
def test_cohere_tool_call_streamed(fp: FakeProvider, co: Any) -> None:
    fp.set_tool_call(COMMAND, TOOL, ARGS)
    events = list(co.chat_stream(model=COMMAND, messages=[{"role": "user", "content": "Weather?"}]))
    types = [e.type for e in events]
    assert types[:2] == ["message-start", "tool-call-start"] and types[-2:] == ["tool-call-end", "message-end"]
    start = events[1].delta.message.tool_calls
    assert start.function.name == TOOL and start.id
    pieces = [e.delta.message.tool_calls.function.arguments for e in events if e.type == "tool-call-delta"]
    assert len(pieces) > 1 and json.loads("".join(pieces)) == ARGS
    assert events[-1].delta.finish_reason == "TOOL_CALL"


# --- thinking: the SDKs parse the fake's thinking blocks and thought parts -----------------------

THOUGHT = "The user greets me; a short answer will do."  # the fake's thinking (its dialects' kThought)


@needs_anthropic
def test_anthropic_thinking_blocks_parse_plain_and_streamed(fp: FakeProvider, claude: Any) -> None:
    thinking = {"type": "enabled", "budget_tokens": 1024}
    msg = claude.messages.create(
        model=CLAUDE, max_tokens=2048, thinking=thinking, messages=[{"role": "user", "content": "Say hello"}]
    )
    assert [b.type for b in msg.content] == ["thinking", "text"]
    assert msg.content[0].thinking == THOUGHT and msg.content[0].signature
    assert msg.content[1].text == "Hello from claude-test."
    with claude.messages.stream(
        model=CLAUDE, max_tokens=2048, thinking=thinking, messages=[{"role": "user", "content": "Say hello"}]
    ) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == THOUGHT and final.content[0].signature
    assert final.content[1].text == "Hello from claude-test."


@needs_genai
def test_gemini_thought_parts_parse_plain_and_streamed(fp: FakeProvider, gemini: Any) -> None:
    config = genai_types.GenerateContentConfig(
        thinking_config=genai_types.ThinkingConfig(thinking_budget=1024, include_thoughts=True)
    )
    res = gemini.models.generate_content(model=GEMINI, contents="Say hello", config=config)
    parts = res.candidates[0].content.parts
    assert [bool(p.thought) for p in parts] == [True, False] and parts[0].text == THOUGHT
    assert res.text == "Hello from gemini-test."  # the SDK leaves thoughts out of .text
    assert res.usage_metadata.thoughts_token_count == len(THOUGHT.split())
    chunks = list(gemini.models.generate_content_stream(model=GEMINI, contents="Say hello", config=config))
    assert chunks[0].candidates[0].content.parts[0].thought and chunks[0].candidates[0].content.parts[0].text == THOUGHT
    assert "".join(c.text or "" for c in chunks[1:]) == "Hello from gemini-test."
