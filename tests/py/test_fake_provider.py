"""llmfailover.testing: the Fault value, the FakeProvider wrapper, and the official openai SDK
as a client against the fake (so its replies are known to parse as the real API's)."""

from __future__ import annotations

import base64
import dataclasses
import http.client
import json
import struct
import threading
import time
from typing import Any, Iterator

import llmfailover
import llmfailover.testing as lt
import pytest
from llmfailover.testing import AttemptRecord, FakeProvider, Fault

try:
    import openai
except ImportError:  # LLMFAILOVER_HIDE_OPENAI=1: the SDK tests skip, the rest still run
    openai = None

needs_openai = pytest.mark.skipif(openai is None, reason="the openai SDK is not importable")

MESSAGES = [{"role": "user", "content": "Say hello to me"}]


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def client(fp: FakeProvider) -> Iterator[Any]:
    with openai.OpenAI(base_url=fp.base_url, api_key="k", max_retries=0, timeout=5.0) as c:
        yield c


def raw(fp: FakeProvider, method: str, path: str, body: Any = None, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", fp.port, timeout=timeout)
    try:
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        conn.request(method, path, body=data, headers={"content-type": "application/json"})
        res = conn.getresponse()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
    finally:
        conn.close()


# --- the public surface ------------------------------------------------------------------------


def test_all_is_explicit() -> None:
    assert sorted(lt.__all__) == ["AttemptRecord", "FakeProvider", "Fault"]
    for name in lt.__all__:
        assert getattr(lt, name) is not None


def test_fault_is_a_value_with_factories() -> None:
    assert Fault() == Fault.ok() and Fault().status == 200
    f = Fault.status(429, retry_after=1.5)
    assert f.status == 429 and f.headers == (("Retry-After", "1.5"),)
    assert Fault.rate_limited(retry_after=None, retry_after_ms=250).headers == (("retry-after-ms", "250"),)
    assert Fault.rate_limited().headers == (("Retry-After", "1"),)
    assert Fault.cut_after(2).cut_after == 2 and Fault().cut_after is None
    assert Fault.stall_after(1).stall_after == 1
    assert Fault.malformed_at(0).malformed_at == 0
    assert Fault.error_event_at(3).error_event_at == 3
    assert Fault.no_done().omit_done
    assert Fault.cut(1) == Fault.cut_after(1) and Fault.stall(1) == Fault.stall_after(1)
    assert Fault.malformed(2) == Fault.malformed_at(2) and Fault.error_event(0) == Fault.error_event_at(0)
    assert Fault.http_status(404) == Fault.status(404) == Fault(status=404)
    assert (Fault.reset().action, Fault.close().action, Fault.no_response().action) == ("reset", "close", "no_response")
    assert Fault.overloaded().status == 529 and Fault.unauthorized().status == 401
    assert Fault.server_error().status == 500 and Fault.server_error(502).status == 502
    assert Fault.context_length_exceeded().error_code == "context_length_exceeded"
    assert Fault.content_policy().error_code == "content_policy_violation"
    assert Fault.slow_headers(0.1).delay_before_headers == 0.1
    assert Fault.slow_first_token(0.2).first_token_delay == 0.2
    combined = Fault.cut_after(2).replace(chunk_delay=0.05)
    assert combined == Fault(cut_after=2, chunk_delay=0.05)
    assert Fault(headers={"a": "b"}).headers == (("a", "b"),)
    assert hash(Fault(headers={"a": "b"})) == hash(Fault(headers=[("a", "b")]))
    assert dataclasses.fields(Fault)[0].default == 200
    with pytest.raises(ValueError):
        Fault(action="explode")
    with pytest.raises(ValueError):
        Fault(chunk_delay=-1)


def test_fault_converts_to_core() -> None:
    from llmfailover import _core

    core = Fault.rate_limited(retry_after=2).replace(chunk_delay=0.25, content="x")._to_core(_core)
    assert core.status == 429 and core.headers == [("Retry-After", "2")]
    assert core.chunk_delay == 0.25 and core.cut_after == -1 and core.content == "x"
    assert "status=429" in repr(core)


def test_provider_lifecycle_and_records(fp: FakeProvider) -> None:
    assert fp.base_url == f"http://127.0.0.1:{fp.port}/v1" and fp.root_url + "/v1" == fp.base_url
    status, headers, body = raw(fp, "POST", "/v1/chat/completions?q=1", {"model": "m", "messages": MESSAGES})
    assert status == 200 and headers["x-request-id"]
    (rec,) = fp.attempts()
    assert isinstance(rec, AttemptRecord)
    assert (rec.model, rec.attempt, rec.method, rec.target) == ("m", 1, "POST", "/v1/chat/completions?q=1")
    assert rec.json()["messages"] == MESSAGES and rec.header("Content-Type") == "application/json"
    assert rec.request_id == headers["x-request-id"] and rec.status == 200 and rec.outcome == "ok"
    assert rec.time >= 0 and "outcome='ok'" in repr(rec)
    assert fp.attempts("other") == []
    fp.reset()
    assert fp.attempts() == []
    fp.close()
    fp.close()  # idempotent
    assert fp.closed and "closed" in repr(fp)
    with pytest.raises(OSError):
        raw(fp, "GET", "/v1/models", timeout=1.0)


def test_keep_alive_and_bad_requests(fp: FakeProvider) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fp.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("POST", "/chat/completions", body=json.dumps({"model": "m", "messages": []}))
            res = conn.getresponse()
            assert res.status == 200 and json.loads(res.read())["model"] == "m"
        conn.request("POST", "/v1/chat/completions", body="{not json")
        res = conn.getresponse()
        err = json.loads(res.read())["error"]
        assert res.status == 400 and err["type"] == "invalid_request_error" and err["param"] is None
    finally:
        conn.close()
    assert raw(fp, "GET", "/nope")[0] == 404


def test_script_per_attempt_default_and_wildcard(fp: FakeProvider) -> None:
    fp.script("a", [Fault.server_error(), Fault.status(503), Fault.ok(content="third")])
    fp.set_default("*", Fault.status(502))
    body = {"model": "a", "messages": MESSAGES}
    statuses = [raw(fp, "POST", "/v1/chat/completions", body)[0] for _ in range(4)]
    assert statuses == [500, 503, 200, 502]
    assert raw(fp, "POST", "/v1/chat/completions", {"model": "b", "messages": []})[0] == 502
    assert [r.attempt for r in fp.attempts("a")] == [1, 2, 3, 4]
    assert [r.outcome for r in fp.attempts("a")] == ["status:500", "status:503", "ok", "status:502"]
    with pytest.raises(TypeError):
        fp.script("a", ["not a fault"])  # type: ignore[list-item]


def test_a_second_script_counts_from_the_next_attempt(fp: FakeProvider) -> None:
    body = {"model": "a", "messages": MESSAGES}
    fp.script("a", [Fault.status(503)])
    assert [raw(fp, "POST", "/v1/chat/completions", body)[0] for _ in range(2)] == [503, 200]
    fp.script("a", [Fault.status(429), Fault.status(500)])  # the first script is used up
    assert [raw(fp, "POST", "/v1/chat/completions", body)[0] for _ in range(3)] == [429, 500, 200]
    fp.script("a", [Fault.status(502), Fault.status(503)])
    assert raw(fp, "POST", "/v1/chat/completions", body)[0] == 502
    fp.script("a", [Fault.status(501)])  # replaces the rest of a script not used up
    assert [raw(fp, "POST", "/v1/chat/completions", body)[0] for _ in range(2)] == [501, 200]
    fp.script("*", [Fault.status(504)])  # "*" too counts each model from its next attempt
    assert [raw(fp, "POST", "/v1/chat/completions", body)[0] for _ in range(2)] == [504, 200]
    assert [r.attempt for r in fp.attempts("a")] == list(range(1, 11))  # the log keeps counting


def test_outage_window(fp: FakeProvider) -> None:
    fp.outage("m", 0.15)
    body = {"model": "m", "messages": MESSAGES}
    assert raw(fp, "POST", "/v1/chat/completions", body)[0] == 503
    assert raw(fp, "POST", "/v1/chat/completions", {"model": "n", "messages": []})[0] == 200
    time.sleep(0.2)
    assert raw(fp, "POST", "/v1/chat/completions", body)[0] == 200
    fp.outage("m", 1.0, Fault.overloaded())
    assert raw(fp, "POST", "/v1/chat/completions", body)[0] == 529


def test_set_tool_call_scripts_the_answer(fp: FakeProvider) -> None:
    """The OpenAI-dialect shape; the other dialects are in test_fake_tool_calls.py and
    test_provider_dialects.py (and the C++ fake_tool_call_test.cpp)."""

    def chat(model: str) -> dict:
        status, _, data = raw(fp, "POST", "/v1/chat/completions", {"model": model, "messages": MESSAGES})
        assert status == 200
        return json.loads(data)["choices"][0]

    fp.set_tool_call("m", "get_weather", {"city": "Paris"})  # a mapping is sent as json.dumps of it
    fp.set_tool_call("*", "lookup", '{"q": "x"}')
    choice = chat("m")
    assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
    [call] = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert chat("other")["message"]["tool_calls"][0]["function"]["name"] == "lookup"
    fp.script("m", [Fault(content="It is sunny.")])  # the next attempt of m: text
    assert chat("m")["message"] == {"role": "assistant", "content": "It is sunny.", "refusal": None, "annotations": []}
    fp.reset()
    assert chat("m")["message"]["content"] == "Hello from m."
    for name, arguments in [("", "{}"), ("f", "[1, 2]"), ("f", "{not json")]:
        with pytest.raises(ValueError):
            fp.set_tool_call("m", name, arguments)
    with pytest.raises(TypeError):
        fp.set_tool_call("m", "f", [1, 2])  # type: ignore[arg-type]


def test_concurrent_clients_on_several_io_threads() -> None:
    with FakeProvider(threads=2, reply_words=5) as fp:
        fp.set_default("slow", Fault.slow_headers(0.1))
        results: list[int] = []

        def call() -> None:
            results.append(raw(fp, "POST", "/v1/chat/completions", {"model": "slow", "messages": []})[0])

        threads = [threading.Thread(target=call) for _ in range(8)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [200] * 8 and time.monotonic() - start < 0.8  # delays overlap
        assert sorted(r.attempt for r in fp.attempts("slow")) == list(range(1, 9))


def test_close_is_prompt_with_hanging_connections() -> None:
    fp = FakeProvider()
    fp.set_default("m", Fault.no_response())
    conn = http.client.HTTPConnection("127.0.0.1", fp.port, timeout=5)
    conn.request("POST", "/v1/chat/completions", body=json.dumps({"model": "m", "messages": []}))
    while not fp.attempts():
        time.sleep(0.005)
    start = time.monotonic()
    fp.close()
    assert time.monotonic() - start < 0.5
    with pytest.raises((http.client.HTTPException, OSError)):
        conn.getresponse()
    conn.close()


# --- the official openai SDK as the client ----------------------------------------------------


@needs_openai
def test_openai_chat_completion(client: Any, fp: FakeProvider) -> None:
    raw_response = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    assert raw_response.headers["x-request-id"]
    parsed = openai.types.chat.ChatCompletion.model_validate_json(raw_response.text)
    completion = raw_response.parse()
    assert completion == parsed
    assert completion.model == "gpt-4o" and completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Hello from gpt-4o."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens == 4 and completion.usage.completion_tokens == 3
    two = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, n=2)
    assert [c.index for c in two.choices] == [0, 1]


@needs_openai
def test_openai_stream_with_usage(client: Any, fp: FakeProvider) -> None:
    fp.set_reply("gpt-4o", "one two three four")
    with client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ) as stream:
        chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content for c in chunks if c.choices) == "one two three four"
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None, None, None, "stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 4
    assert all(c.usage is None for c in chunks[:-1])
    assert fp.attempts()[0].stream


@needs_openai
def test_openai_embeddings_base64_and_float(client: Any, fp: FakeProvider) -> None:
    b64 = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])  # base64 on the wire
    assert fp.attempts()[0].json()["encoding_format"] == "base64"
    floats = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"], encoding_format="float")
    assert [len(d.embedding) for d in b64.data] == [8, 8]
    assert [list(d.embedding) for d in b64.data] == [d.embedding for d in floats.data]
    assert b64.data[0].embedding != b64.data[1].embedding and b64.usage.prompt_tokens == 2
    assert len(client.embeddings.create(model="e", input="x", dimensions=4).data[0].embedding) == 4
    _, _, body = raw(fp, "POST", "/v1/embeddings", {"model": "e", "input": "a", "encoding_format": "base64"})
    packed = base64.b64decode(json.loads(body)["data"][0]["embedding"])
    assert list(struct.unpack("<8f", packed)) == list(b64.data[0].embedding)


@needs_openai
def test_openai_models_list(client: Any, fp: FakeProvider) -> None:
    fp.set_reply("my-model", "hi")
    ids = [m.id for m in client.models.list()]
    assert ids[:3] == ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"] and "my-model" in ids


@needs_openai
def test_openai_rate_limit_error_and_retry(client: Any, fp: FakeProvider) -> None:
    fp.script("gpt-4o", [Fault.rate_limited(retry_after=7)])
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert info.value.response.headers["retry-after"] == "7"
    assert info.value.code == "rate_limit_exceeded"
    # With retries, the SDK honours retry-after-ms and succeeds on attempt 2.
    fp.reset()
    fp.script("gpt-4o", [Fault.rate_limited(retry_after=None, retry_after_ms=50)])
    retrying = client.with_options(max_retries=1)
    assert retrying.chat.completions.create(model="gpt-4o", messages=MESSAGES).choices[0].message.content
    log = fp.attempts("gpt-4o")
    assert [r.outcome for r in log] == ["status:429", "ok"]
    assert log[1].header("x-stainless-retry-count") == "1" and log[1].time - log[0].time >= 0.045


@needs_openai
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.server_error(), "InternalServerError"),
        (Fault.unauthorized(), "AuthenticationError"),
        (Fault.context_length_exceeded(), "BadRequestError"),
        (Fault.reset(), "APIConnectionError"),
        (Fault.close(), "APIConnectionError"),
        (Fault.no_response(), "APITimeoutError"),
        (Fault.slow_headers(1.0), "APITimeoutError"),
        (Fault.cut_after(0), "APIConnectionError"),
    ],
)
def test_openai_sees_each_fault(client: Any, fp: FakeProvider, fault: Fault, error: str) -> None:
    fp.script("m", [fault])
    with pytest.raises(getattr(openai, error)):
        client.with_options(timeout=0.2).chat.completions.create(model="m", messages=MESSAGES)


@needs_openai
def test_openai_stream_faults(client: Any, fp: FakeProvider) -> None:
    fp.script(
        "m", [Fault.cut_after(1), Fault.error_event_at(1), Fault.malformed_at(1), Fault.no_done(), Fault.stall_after(1)]
    )

    def run(timeout: float = 2.0) -> list[str]:
        out: list[str] = []
        with client.with_options(timeout=timeout).chat.completions.create(
            model="m", messages=MESSAGES, stream=True
        ) as stream:
            for chunk in stream:
                out.append(chunk.choices[0].delta.content)
        return out

    with pytest.raises(openai.APIConnectionError):
        run()
    with pytest.raises(openai.APIError, match="server had an error"):
        run()
    with pytest.raises(json.JSONDecodeError):
        run()
    assert run() == ["Hello", " from", " m."]  # without [DONE] the SDK just ends
    with pytest.raises(openai.APITimeoutError):
        run(timeout=0.2)
    assert [r.outcome for r in fp.attempts("m")] == ["cut:1", "error_event:1", "malformed:1", "no_done", "stall:1"]


@needs_openai
def test_openai_slow_first_token(client: Any, fp: FakeProvider) -> None:
    fp.script("m", [Fault.slow_first_token(0.15).replace(chunk_delay=0.02)])
    start = time.monotonic()
    with client.chat.completions.create(model="m", messages=MESSAGES, stream=True) as stream:
        first = next(iter(stream))
        first_at = time.monotonic() - start
        rest = list(stream)
    assert first.choices[0].delta.content == "Hello" and len(rest) == 2
    assert first_at >= 0.14


@needs_openai
def test_azure_client(fp: FakeProvider) -> None:
    with openai.AzureOpenAI(azure_endpoint=fp.root_url, api_version="2024-06-01", api_key="k", max_retries=0) as az:
        completion = az.chat.completions.create(model="my-deployment", messages=MESSAGES)
        vectors = az.embeddings.create(model="emb-deployment", input="x")
    assert completion.model == "my-deployment" and len(vectors.data[0].embedding) == 8
    (rec,) = fp.attempts("my-deployment")
    assert rec.target.startswith("/openai/deployments/my-deployment/chat/completions?api-version=")


def test_routed_azure_deployment_gets_the_openai_path_and_its_key_variable_from_the_registry(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The router compares no provider names: the registry completes the resource URL with /openai
    # (as openai's AzureOpenAI does) and reads AZURE_OPENAI_API_KEY for a deployment without a key.
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-env-key")
    deployment = {"provider": "azure", "model": "my-deployment", "base_url": fp.root_url, "api_version": "2024-06-01"}
    with llmfailover.OpenAI(config={"groups": {"g": {"deployments": [deployment]}}}) as c:
        assert c.chat.completions.create(model="g", messages=MESSAGES).choices[0].message.content
    (rec,) = fp.attempts("my-deployment")
    assert rec.target.startswith("/openai/deployments/my-deployment/chat/completions?api-version=2024-06-01")
    assert rec.header("api-key") == "az-env-key"
