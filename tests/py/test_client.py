"""The sync client: request building, configuration, results, streams, raw responses.

Every test runs the real engine against ``llmfailover.testing.FakeProvider``. The first part
scripts the fake's exact answers (conftest.py ``ok``/``sse``) and reads what was sent from its log
and from ``record_sends`` (what the client handed the native router); the second asserts conduct
from the fake's log.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any, Iterator

import llmfailover
import pytest
from conftest import SendLog, ok, record_sends, sse
from llmfailover import NOT_GIVEN, OpenAI
from llmfailover.testing import Fault

KEY = "sk-test-secret-0123456789"


def completion(content: str = "hi", finish_reason: str = "stop") -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [
                {"index": 0, "finish_reason": finish_reason, "message": {"role": "assistant", "content": content}}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()


def chunk(content: str | None, *, usage: bool = False) -> bytes:
    choices = [] if content is None else [{"index": 0, "delta": {"content": content}, "finish_reason": None}]
    body: dict[str, Any] = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": choices,
    }
    if usage:
        body["usage"] = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    return json.dumps(body).encode()


@pytest.fixture
def client(fp: Any) -> Iterator[OpenAI]:
    c = OpenAI(api_key=KEY, base_url=fp.base_url)
    record_sends(c)
    yield c
    c.close()


def log(client: OpenAI) -> SendLog:
    return client._engine.router  # type: ignore[no-any-return]


def sent(client: OpenAI, i: int = -1) -> dict[str, Any]:
    return log(client).sent[i]


def script(fp: Any, *faults: Any, model: str = "m") -> None:
    """The next attempts of ``model`` get these answers ("" is the model of a GET /models)."""
    fp.script(model, faults)


def headers_of(attempt: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in attempt.headers}


# --- requests -------------------------------------------------------------------------------


def test_every_given_argument_is_forwarded_verbatim(fp: Any, client: OpenAI) -> None:
    if llmfailover._compat.HAS_OPENAI:
        import openai

        theirs = {"seed": openai.NOT_GIVEN, "user": openai.omit, "n": openai.not_given}
    else:
        theirs = {"seed": NOT_GIVEN, "user": llmfailover.omit, "n": llmfailover.not_given}
    script(fp, ok(completion()))
    client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "hé"}],
        temperature=0.5,
        top_p=NOT_GIVEN,
        **theirs,  # a parameter openai lacks goes in extra_body (else TypeError)
        stop=None,
        extra_body={"temperature": 0.1, "vendor": True, "brand_new_param": {"nested": [1, 2]}},
        extra_headers={"X-Trace": "t1", "X-Skip": NOT_GIVEN},
        extra_query={"q": "1"},
        timeout=7.5,
    )
    s = sent(client)
    assert (s["method"], s["path"], s["model"]) == ("POST", "/chat/completions", "m")
    (att,) = fp.attempts("m")
    assert (att.method, att.target) == ("POST", "/v1/chat/completions?q=1")
    assert att.json() == {
        "model": "m",
        "messages": [{"role": "user", "content": "hé"}],
        "temperature": 0.1,
        "brand_new_param": {"nested": [1, 2]},
        "stop": None,
        "vendor": True,
    }
    assert att.header("x-trace") == "t1" and att.header("x-skip") is None
    assert ("X-Trace", "t1") in s["headers"] and all(k != "X-Skip" for k, _ in s["headers"])
    assert s["query"] == [("q", "1")]
    t = s["timeouts"]
    assert (t.connect, t.first_byte, t.idle, t.total) == (7.5, 7.5, 7.5, None)
    assert s["max_retries"] == 2


def test_pydantic_messages_are_serialised(fp: Any, client: OpenAI) -> None:
    script(fp, ok(completion("one")), ok(completion("two")))
    first = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}])
    client.chat.completions.create(model="m", messages=[first.choices[0].message])
    assert fp.attempts("m")[-1].json()["messages"] == [{"role": "assistant", "content": "one"}]


def test_missing_required_arguments_raise_type_error(client: OpenAI) -> None:
    with pytest.raises(TypeError):
        client.chat.completions.create(model="m")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "timeout, expected",
    [
        (NOT_GIVEN, (5.0, 600.0, 600.0, None)),  # openai's Timeout(600, connect=5)
        (30, (30.0, 30.0, 30.0, None)),
        (llmfailover.Timeout(20, connect=2), (2.0, 20.0, 20.0, None)),
        (llmfailover.Timeout(connect=1, read=9, write=3, pool=4), (1.0, 9.0, 9.0, None)),
        (None, (5.0, None, None, None)),
    ],
)
def test_client_timeouts_map_to_native(fp: Any, timeout: Any, expected: tuple) -> None:
    with OpenAI(api_key=KEY, base_url=fp.base_url, timeout=timeout) as c:
        record_sends(c)
        c.models.list()
        t = sent(c)["timeouts"]
    assert (t.connect, t.first_byte, t.idle, t.total) == expected


def test_environment_and_defaults(fp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fp.base_url)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-1")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-1")
    with OpenAI(default_headers={"X-App": "a"}, default_query={"tenant": "t"}) as c:
        assert (c.api_key, c.base_url, c.organization, c.project) == (KEY, fp.base_url + "/", "org-1", "proj-1")
        assert c._upstream.base_url == fp.base_url
        c.models.list()
    (att,) = fp.attempts()
    h = headers_of(att)
    assert h["authorization"] == f"Bearer {KEY}"
    assert (h["openai-organization"], h["openai-project"], h["x-app"]) == ("org-1", "proj-1", "a")
    assert att.target == "/v1/models?tenant=t"
    with OpenAI(base_url="http://x/v1/") as other:
        assert other.base_url == "http://x/v1/"
    monkeypatch.delenv("OPENAI_BASE_URL")
    with OpenAI() as default:
        assert default.base_url == "https://api.openai.com/v1/"


def test_missing_key_raises_openai_error() -> None:
    with pytest.raises(llmfailover.OpenAIError, match="api_key client option must be set"):
        OpenAI()


def test_callable_api_key_is_sent_per_request(fp: Any) -> None:
    keys = iter(["k1", "k2"])
    with OpenAI(api_key=lambda: next(keys), base_url=fp.base_url) as c:
        c.models.list()
        c.models.list()
    # one Authorization per request, the callable's: the client's upstream holds no key of its own
    auth = [[v for k, v in a.headers if k.lower() == "authorization"] for a in fp.attempts()]
    assert auth == [["Bearer k1"], ["Bearer k2"]]


def test_key_never_in_repr(client: OpenAI) -> None:
    for text in (repr(client), str(client), repr(client.with_options(max_retries=1))):
        assert KEY not in text


def test_http_client_is_ignored_with_a_warning() -> None:
    with pytest.warns(llmfailover.LlmFailoverWarning, match="http_client"):
        OpenAI(api_key=KEY, http_client=object()).close()


def test_with_options_shares_the_engine(fp: Any, client: OpenAI) -> None:
    other = client.with_options(timeout=3, max_retries=0, default_headers={"X-B": "b"})
    assert other._engine is client._engine and other is not client
    assert (other.timeout, other.max_retries, client.max_retries) == (3, 0, 2)
    assert other.api_key == KEY and other.base_url == client.base_url
    other.models.list()
    assert sent(client)["max_retries"] == 0
    assert fp.attempts()[-1].header("x-b") == "b"
    other.close()
    assert log(client).closes == 0 and not client._engine.router.closed  # a copy never closes the shared engine
    with client as c:
        assert c is client
    client.close()
    assert log(client).closes == 1 and client._engine.router.closed  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        other.models.list()


def test_public_surface() -> None:
    expected = {
        "OpenAI",
        "AsyncOpenAI",
        "AzureOpenAI",
        "AsyncAzureOpenAI",
        "Stream",
        "AsyncStream",
        "Timeout",
        "NOT_GIVEN",
        "NotGiven",
        "not_given",
        "Omit",
        "omit",
        "__version__",
        "OpenAIError",
        "APIError",
        "APIStatusError",
        "APIConnectionError",
        "APITimeoutError",
        "APIResponseValidationError",
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "ConflictError",
        "UnprocessableEntityError",
        "RateLimitError",
        "InternalServerError",
        "LlmFailoverError",
    }
    assert expected <= set(llmfailover.__all__)
    assert len(set(llmfailover.__all__)) == len(llmfailover.__all__)
    assert all(hasattr(llmfailover, name) for name in llmfailover.__all__)
    public = {n for n in vars(llmfailover) if not n.startswith("_") and n not in ("annotations", "errors", "config")}
    assert public - {"types", "testing", "scorecard"} <= set(llmfailover.__all__)  # subpackages


def cancelled(call: Any) -> bool:
    """The native call ended because the caller cancelled it (its last event says so)."""
    events = call.wait(timeout=5, until_end=True)
    return bool(call.finished and events and events[-1][:2] == ("error", "cancelled"))


def test_garbage_collected_stream_cancels_the_call(fp: Any, client: OpenAI) -> None:
    import gc

    script(fp, Fault.stall(1))  # one chunk, then the upstream holds the stream open
    stream = client.chat.completions.create(model="m", messages=[], stream=True)
    next(stream)
    del stream
    gc.collect()
    assert cancelled(log(client).calls[-1])


# --- results ---------------------------------------------------------------------------------


def test_completion_result_and_request_id(fp: Any, client: OpenAI) -> None:
    script(fp, ok(completion("hello"), [("content-type", "application/json"), ("X-Request-Id", "req_7")]))
    r = client.chat.completions.create(model="m", messages=[])
    assert isinstance(r, llmfailover.types.ChatCompletion)
    assert r.choices[0].message.content == "hello" and r._request_id == "req_7"


@pytest.mark.parametrize(
    "status, cls",
    [
        (400, "BadRequestError"),
        (401, "AuthenticationError"),
        (404, "NotFoundError"),
        (429, "RateLimitError"),
        (500, "InternalServerError"),
    ],
)
def test_error_statuses(fp: Any, client: OpenAI, status: int, cls: str) -> None:
    script(fp, ok(b'{"error":{"message":"no","code":"c"}}', status=status))
    with pytest.raises(getattr(llmfailover, cls)) as info:
        client.with_options(max_retries=0).chat.completions.create(model="m", messages=[])
    assert info.value.status_code == status and info.value.code == "c"
    assert len(fp.attempts("m")) == 1


def test_transport_errors(fp: Any, client: OpenAI) -> None:
    script(fp, Fault.no_response(), Fault.reset())  # no head ever; then a TCP RST
    once = client.with_options(max_retries=0)
    with pytest.raises(llmfailover.APITimeoutError) as timed_out:
        once.chat.completions.create(model="m", messages=[], timeout=0.2)
    assert timed_out.value.__cause__.errc == "first_byte_timeout"
    with pytest.raises(llmfailover.APIConnectionError) as info:
        once.chat.completions.create(model="m", messages=[])
    assert info.value.__cause__.errc == "connection_reset"


def test_embeddings_default_to_base64(fp: Any, client: OpenAI) -> None:
    vec = base64.b64encode(struct.pack("<3f", 0.5, -1.0, 2.0)).decode()
    body = {
        "object": "list",
        "model": "e",
        "usage": {"prompt_tokens": 1, "total_tokens": 1},
        "data": [{"object": "embedding", "index": 0, "embedding": vec}],
    }
    script(fp, ok(json.dumps(body).encode()), model="e")
    r = client.embeddings.create(model="e", input="x")
    assert fp.attempts("e")[-1].json()["encoding_format"] == "base64"
    assert r.data[0].embedding == [0.5, -1.0, 2.0]
    body["data"][0]["embedding"] = [0.25]
    script(fp, ok(json.dumps(body).encode()), model="e")
    r = client.embeddings.create(model="e", input="x", encoding_format="float")
    assert fp.attempts("e")[-1].json()["encoding_format"] == "float" and r.data[0].embedding == [0.25]


def test_models_list_page(fp: Any, client: OpenAI) -> None:
    body = {
        "object": "list",
        "data": [
            {"id": "a", "object": "model", "created": 1, "owned_by": "o"},
            {"id": "b", "object": "model", "created": 2, "owned_by": "o"},
        ],
    }
    script(fp, ok(json.dumps(body).encode()), model="")
    page = client.models.list()
    assert sent(client)["method"] == "GET" and sent(client)["body"] is None
    (att,) = fp.attempts()
    assert (att.method, att.target, att.body) == ("GET", "/v1/models", b"")
    assert [m.id for m in page] == ["a", "b"] and page.data[1].created == 2
    assert isinstance(page.data[0], llmfailover.types.Model)


# --- streams and raw responses -----------------------------------------------------------------


def test_stream_with_usage_chunk(fp: Any, client: OpenAI) -> None:
    script(fp, sse(chunk("a"), chunk("b"), chunk(None, usage=True), b"[DONE]"))
    stream = client.chat.completions.create(model="m", messages=[], stream=True, stream_options={"include_usage": True})
    assert isinstance(stream, llmfailover.Stream)
    assert ("Accept", "text/event-stream") in sent(client)["headers"]
    assert fp.attempts("m")[-1].header("accept") == "text/event-stream"
    out, usage = [], None
    for c in stream:
        if not c.choices:
            usage = c.usage
            continue
        out.append(c.choices[0].delta.content)
    assert out == ["a", "b"] and usage.total_tokens == 3


def test_stream_without_done_just_ends(fp: Any, client: OpenAI) -> None:
    script(fp, sse(chunk("a")))
    assert [
        c.choices[0].delta.content for c in client.chat.completions.create(model="m", messages=[], stream=True)
    ] == ["a"]


def test_stream_error_data_raises_api_error(fp: Any, client: OpenAI) -> None:
    script(fp, sse(chunk("a"), b'{"error":{"message":"overloaded","type":"server_error"}}'))
    stream = client.chat.completions.create(model="m", messages=[], stream=True)
    assert next(stream).choices[0].delta.content == "a"
    with pytest.raises(llmfailover.APIError, match="overloaded") as info:
        next(stream)
    assert not isinstance(info.value, llmfailover.APIStatusError)


def test_broken_stream_raises_after_the_chunks(fp: Any, client: OpenAI) -> None:
    fp.set_reply("m", "a b")
    # the first chunk, then silence: the idle limit ends the stream (1 s: room for the first chunk
    # on a slow sanitizer build, where 0.2 s could time out before it)
    script(fp, Fault.stall(1))
    stream = client.chat.completions.create(model="m", messages=[], stream=True, timeout=1.0)
    assert next(stream).choices[0].delta.content == "a"
    with pytest.raises(llmfailover.APITimeoutError) as info:
        next(stream)
    assert info.value.__cause__.errc == "idle_timeout"


def test_stream_status_error_raises_at_create(fp: Any, client: OpenAI) -> None:
    script(fp, ok(b'{"error":{"message":"slow down"}}', status=429))
    with pytest.raises(llmfailover.RateLimitError, match="slow down"):
        client.with_options(max_retries=0).chat.completions.create(model="m", messages=[], stream=True)


def test_closing_a_stream_cancels_the_call(fp: Any, client: OpenAI) -> None:
    script(fp, Fault.stall(1))  # one chunk, then the upstream holds the stream open
    with client.chat.completions.create(model="m", messages=[], stream=True) as stream:
        next(stream)
    assert cancelled(log(client).calls[-1])
    assert list(stream) == []


def test_raw_response_langchain_style(fp: Any, client: OpenAI) -> None:
    script(
        fp,
        ok(
            completion("raw"),
            [("Content-Type", "application/json"), ("X-Request-ID", "req_r"), ("x-ratelimit-remaining-requests", "9")],
        ),
    )
    completions = client.chat.completions
    raw = completions.with_raw_response.create(**{"model": "m", "messages": [], "n": 1})
    assert raw.status_code == 200 and raw.request_id == "req_r" and raw.retries_taken == 0
    assert raw.headers["X-RateLimit-Remaining-Requests"] == "9" and dict(raw.headers)["x-request-id"] == "req_r"
    parsed = raw.parse()
    assert parsed is raw.parse() and parsed.choices[0].message.content == "raw"
    assert raw.json()["id"] == "chatcmpl-1" and "raw" in raw.text
    assert raw.http_request.url == fp.base_url + "/chat/completions"


def test_client_level_raw_and_streaming_response(fp: Any, client: OpenAI) -> None:
    script(fp, ok(completion("x")), sse(chunk("s"), b"[DONE]"))
    raw = client.with_raw_response.chat.completions.create(model="m", messages=[])
    assert raw.parse().choices[0].message.content == "x"
    with client.chat.completions.with_streaming_response.create(model="m", messages=[], stream=True) as resp:
        assert [c.choices[0].delta.content for c in resp.parse()] == ["s"]
    assert client.beta.chat.completions.create is not None


def test_azure_client(fp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    with llmfailover.AzureOpenAI(azure_endpoint=fp.root_url + "/", azure_deployment="dep") as c:
        assert c.base_url == fp.root_url + "/openai/deployments/dep/"
        assert c._upstream.provider == "azure"
        c.chat.completions.create(model="gpt", messages=MSG)
    att = fp.attempts()[-1]
    assert att.target == "/openai/deployments/dep/chat/completions?api-version=2024-10-21"
    assert att.header("api-key") == KEY and att.header("authorization") is None
    with pytest.raises(ValueError, match="api_version"):
        monkeypatch.delenv("OPENAI_API_VERSION")
        llmfailover.AzureOpenAI(azure_endpoint="https://r")
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    with llmfailover.AzureOpenAI(
        api_version="v", azure_endpoint=fp.root_url, azure_ad_token_provider=lambda: "tok"
    ) as t:
        record_sends(t)
        t.with_options(max_retries=1).models.list()
        assert ("authorization", "Bearer tok") in [(k.lower(), v) for k, v in sent(t)["headers"]]
    att = fp.attempts()[-1]
    assert att.target == "/openai/models?api-version=v"
    # the token provider's token, and no key: the client's upstream holds none
    assert att.header("authorization") == "Bearer tok" and att.header("api-key") is None


# --- against the real engine and the FakeProvider ---------------------------------------------

MSG = [{"role": "user", "content": "hi"}]


@pytest.fixture
def live(fp: Any) -> Any:
    with OpenAI(api_key=KEY, base_url=fp.base_url, max_retries=0) as c:
        yield c


def test_live_chat_forwards_the_body_unchanged(fp: Any, live: OpenAI) -> None:
    r = live.chat.completions.create(
        model="m1",
        messages=MSG,
        temperature=NOT_GIVEN,
        extra_body={"vendor_flag": True, "brand_new": {"a": [1]}},
        extra_headers={"X-Trace": "t"},
        extra_query={"q": "1"},
    )
    assert r.choices[0].message.content and r.model
    (att,) = fp.attempts("m1")
    assert att.json() == {"messages": MSG, "model": "m1", "brand_new": {"a": [1]}, "vendor_flag": True}
    assert att.header("authorization") == f"Bearer {KEY}" and att.header("x-trace") == "t"
    assert att.target.endswith("/chat/completions?q=1")


def test_live_stream_with_usage(fp: Any, live: OpenAI) -> None:
    text, usage = [], None
    with live.chat.completions.create(
        model="m", messages=MSG, stream=True, stream_options={"include_usage": True}
    ) as stream:
        for c in stream:
            if not c.choices:
                usage = c.usage
                continue
            text.append(c.choices[0].delta.content or "")
    assert "".join(text) == live.chat.completions.create(model="m", messages=MSG).choices[0].message.content
    assert usage is not None and usage.total_tokens > 0
    assert fp.attempts("m")[0].stream


def test_live_embeddings_base64_and_float(fp: Any, live: OpenAI) -> None:
    b64 = live.embeddings.create(model="e", input=["a", "b"])
    flt = live.embeddings.create(model="e", input=["a", "b"], encoding_format="float")
    assert [a.json()["encoding_format"] for a in fp.attempts("e")] == ["base64", "float"]
    assert len(b64.data) == 2 and all(isinstance(x, float) for x in b64.data[0].embedding)
    for a, b in zip(b64.data, flt.data):
        assert a.embedding == pytest.approx(b.embedding, rel=1e-6)


def test_live_models_list(live: OpenAI) -> None:
    page = live.models.list()
    assert page.data and [m.id for m in page] == [m.id for m in page.data]


def test_live_raw_response_langchain_style(fp: Any, live: OpenAI) -> None:
    payload = {"model": "m", "messages": MSG, "n": 1}
    raw = live.chat.completions.with_raw_response.create(**payload)
    assert raw.status_code == 200 and raw.headers.get("Content-Type", "").startswith("application/json")
    assert raw.parse().choices[0].message.content and raw.retries_taken == 0
    if raw.request_id is not None:
        assert raw.parse()._request_id == raw.request_id


@pytest.mark.parametrize(
    "status, cls",
    [
        (400, "BadRequestError"),
        (401, "AuthenticationError"),
        (404, "NotFoundError"),
        (429, "RateLimitError"),
        (500, "InternalServerError"),
    ],
)
def test_live_error_classes(fp: Any, live: OpenAI, status: int, cls: str) -> None:
    fp.script("m", [Fault.status(status, error_message=f"nope {KEY}")])
    with pytest.raises(getattr(llmfailover, cls)) as info:
        live.chat.completions.create(model="m", messages=MSG)
    assert info.value.status_code == status
    assert KEY not in str(info.value) and KEY not in repr(info.value.body)


def test_live_retries_honour_max_retries(fp: Any, live: OpenAI) -> None:
    fp.script("m", [Fault.rate_limited(retry_after=0.01)] * 5)
    with pytest.raises(llmfailover.RateLimitError):
        live.with_options(max_retries=2).chat.completions.create(model="m", messages=MSG)
    assert [a.status for a in fp.attempts("m")] == [429, 429, 429]
    fp.reset()
    fp.script("m", [Fault.server_error(503), Fault.ok()])
    raw = live.with_options(max_retries=1).chat.completions.with_raw_response.create(model="m", messages=MSG)
    assert raw.retries_taken == 1 and len(fp.attempts("m")) == 2
    fp.reset()
    fp.script("m", [Fault.server_error(500)] * 2)
    with pytest.raises(llmfailover.InternalServerError):
        live.chat.completions.create(model="m", messages=MSG)  # max_retries=0
    assert len(fp.attempts("m")) == 1


def test_live_timeouts_and_resets(fp: Any, live: OpenAI) -> None:
    fp.script("m", [Fault.no_response(), Fault.slow_headers(2.0), Fault.reset()])
    with pytest.raises(llmfailover.APITimeoutError):
        live.chat.completions.create(model="m", messages=MSG, timeout=0.3)
    with pytest.raises(llmfailover.APITimeoutError):
        live.with_options(timeout=0.3).chat.completions.create(model="m", messages=MSG)
    with pytest.raises(llmfailover.APIConnectionError) as info:
        live.chat.completions.create(model="m", messages=MSG)
    assert not isinstance(info.value, llmfailover.APITimeoutError)


def test_live_broken_stream(fp: Any, live: OpenAI) -> None:
    fp.script("m", [Fault.cut_after(2), Fault.error_event_at(1)])
    stream = live.chat.completions.create(model="m", messages=MSG, stream=True)
    with pytest.raises(llmfailover.APIConnectionError):
        for _ in stream:
            pass
    stream = live.chat.completions.create(model="m", messages=MSG, stream=True)
    assert next(stream).choices is not None
    with pytest.raises(llmfailover.APIError):
        next(stream)


def test_live_environment(fp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fp.base_url + "/")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-9")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-9")
    with OpenAI() as c:
        c.chat.completions.create(model="m", messages=MSG)
    (att,) = fp.attempts("m")
    assert att.header("OpenAI-Organization") == "org-9" and att.header("OpenAI-Project") == "proj-9"
    assert att.target.startswith("/v1/chat/completions")


def test_live_openai_types_and_exceptions(fp: Any, live: OpenAI) -> None:
    openai = pytest.importorskip("openai")
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    assert isinstance(live.chat.completions.create(model="m", messages=MSG), ChatCompletion)
    assert all(
        isinstance(c, ChatCompletionChunk) for c in live.chat.completions.create(model="m", messages=MSG, stream=True)
    )
    fp.script("m2", [Fault.rate_limited(retry_after=0.01)])
    try:
        live.chat.completions.create(model="m2", messages=MSG)
    except openai.RateLimitError as exc:
        assert exc.status_code == 429 and isinstance(exc, llmfailover.LlmFailoverError)
    else:
        pytest.fail("no RateLimitError")


def test_live_azure(fp: Any) -> None:
    c = llmfailover.AzureOpenAI(api_key=KEY, api_version="2024-10-21", azure_endpoint=fp.root_url, max_retries=0)
    assert c.chat.completions.create(model="dep1", messages=MSG).choices
    (att,) = fp.attempts()[-1:]
    assert att.target.startswith("/openai/deployments/dep1/chat/completions?api-version=2024-10-21")
    assert att.header("api-key") == KEY and att.header("authorization") is None
    c.close()
