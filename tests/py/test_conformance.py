"""Conformance: the requests llmfailover.OpenAI sends are valid for the official OpenAI spec.

Steady (tests/py/_servers.py) mocks the unmodified spec and validates each request: an invalid
one gets a 400 (the client raises) and a log entry with error diagnostics. Each test makes its
calls inside ``steady_checks``, which asserts that Steady logged the expected number of requests,
none with an error diagnostic, so a test also fails if the client silently sent nothing.
``test_validator_rejects_*`` prove the validator is live. Steady's bodies are random data from
the spec's schemas, so the tests check shapes, not values.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import llmfailover
import pytest
from _servers import OPENAI_SPEC, Steady, start_steady

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def steady(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steady]:
    server = start_steady(tmp_path_factory.mktemp("steady"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(steady: Steady) -> Iterator[Any]:
    c = llmfailover.OpenAI(base_url=steady.base_url, api_key="My API Key", max_retries=0)
    try:
        yield c
    finally:
        c.close()


def _errors(entry: dict[str, Any]) -> list[str]:
    return [
        f"{d.get('code')} {d.get('requestPath')}: {d.get('message')}"
        for d in entry.get("diagnostics", [])
        if d.get("severity") == "error"
    ]


@contextlib.contextmanager
def steady_checks(steady: Steady, method: str, path: str, count: int = 1) -> Iterator[None]:
    """Asserts the block sent ``count`` requests to ``method path``, all valid for the spec."""
    before = len(steady.requests())
    yield
    new = steady.requests_since(before, expect=count)
    seen = [(e["request"]["method"], e["request"]["path"]) for e in new]
    assert seen == [(method, path)] * count, f"Steady saw {seen}"
    for entry in new:
        assert not _errors(entry), f"invalid request: {_errors(entry)}"
        assert entry["response"]["status"] == 200


def test_models_list(steady: Steady, client: Any) -> None:
    with steady_checks(steady, "GET", "/models"):
        models = list(client.models.list())
    assert all(m.object == "model" and isinstance(m.id, str) for m in models)


def test_chat_minimal(steady: Steady, client: Any) -> None:
    with steady_checks(steady, "POST", "/chat/completions"):
        completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert completion.object == "chat.completion"
    assert isinstance(completion.id, str)


def test_chat_many_params(steady: Steady, client: Any) -> None:
    with steady_checks(steady, "POST", "/chat/completions"):
        completion = client.chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "developer", "content": "Answer in JSON."},
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 21}'},
            ],
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Current weather for a city.",
                        "strict": True,
                        "parameters": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"],
                            "additionalProperties": False,
                        },
                    },
                }
            ],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            parallel_tool_calls=False,
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "weather",
                    "strict": True,
                    "schema": {
                        "type": "object",
                        "properties": {"summary": {"type": "string"}},
                        "required": ["summary"],
                        "additionalProperties": False,
                    },
                },
            },
            temperature=0.2,
            top_p=0.9,
            max_completion_tokens=64,
            n=1,
            stop=["\n\n"],
            seed=7,
            presence_penalty=0.1,
            frequency_penalty=0.1,
            logit_bias={"50256": -100},
            logprobs=True,
            top_logprobs=2,
            user="conformance-test",
            metadata={"suite": "steady"},
            store=False,
            service_tier="auto",
            reasoning_effort="low",
            extra_headers={"X-Request-Tag": "conformance"},
        )
    assert completion.object == "chat.completion"


def test_chat_stream(steady: Steady, client: Any) -> None:
    with steady_checks(steady, "POST", "/chat/completions"):
        # Steady picks SSE only when asked; it ends with `event: done` / `data: {}`, not [DONE].
        stream = client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={"Accept": "text/event-stream"},
        )
        chunks = [c for c in stream if getattr(c, "id", None)]
    assert chunks, "no chunks streamed"
    assert all(c.object == "chat.completion.chunk" for c in chunks)


def test_embeddings(steady: Steady, client: Any) -> None:
    with steady_checks(steady, "POST", "/embeddings", count=2):
        one = client.embeddings.create(model="text-embedding-3-small", input="hello")
        many = client.embeddings.create(
            model="text-embedding-3-small", input=["a", "b"], encoding_format="float", dimensions=256, user="u"
        )
    for result in (one, many):
        assert result.object == "list"
        assert all(e.object == "embedding" for e in result.data)


def test_validator_rejects_invalid_body(steady: Steady) -> None:
    """A raw invalid request, not through llmfailover: proves Steady really validates."""
    body = {"model": MODEL, "messages": MESSAGES, "temperature": "hot"}
    req = urllib.request.Request(
        f"{steady.base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    before = len(steady.requests())
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    info.value.close()  # the error holds the response open
    assert info.value.code == 400
    assert info.value.headers["x-steady-request-valid"] == "false"
    (entry,) = steady.requests_since(before)
    assert any("temperature" in e for e in _errors(entry)), _errors(entry)


def test_validator_rejects_through_client(steady: Steady, client: Any) -> None:
    """The same invalid field through the client surfaces as BadRequestError (400)."""
    before = len(steady.requests())
    with pytest.raises(llmfailover.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_body={"temperature": "hot"})
    assert info.value.status_code == 400
    (entry,) = steady.requests_since(before)
    assert _errors(entry)


def test_spec_is_the_official_openai_spec() -> None:
    head = OPENAI_SPEC.read_text(encoding="utf-8")[:400]
    assert head.startswith("openapi: 3.1.0") and "title: OpenAI API" in head
