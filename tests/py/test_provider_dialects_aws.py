"""FakeProvider's Bedrock and Cohere dialects, parsed by the official SDKs, and our SigV4 and
event-stream fixtures re-checked against the installed botocore.

* boto3's ``bedrock-runtime`` client (``converse``, ``converse_stream``, ``invoke_model``) and
  ``cohere.ClientV2`` (``chat``, ``chat_stream``, ``embed``) accept what the fake sends, errors
  included; the C++ tests (tests/cpp/providers/{bedrock,cohere}_test.cpp) prove our adapters
  agree with the fake.
* The binary frames the fake streams come from our encoder (cpp/src/providers/eventstream.cpp),
  so botocore decoding them proves our encoder; the C++ tests decode hand-built frames.
* tests/cpp/fixtures/providers/bedrock/{sigv4_vectors,eventstream_frames}.jsonl are recomputed
  here with botocore (the C++ tests compare our signer and decoder against those files), so a
  botocore change that would alter them fails here. The binding exposes no signing function, so
  our signer is also checked end to end: the Authorization header of the request the router
  actually sent to the fake is recomputed with botocore from that request's method, path,
  headers and body.

Each SDK's tests skip cleanly when it is not importable (and fail under
``LLMFAILOVER_REQUIRE_SDKS=1``).
"""

from __future__ import annotations

import datetime
import http.client
import json
import pathlib
import re
import sys
import urllib.parse
from typing import Any, Iterator

import pytest
from llmfailover.testing import FakeProvider, Fault

try:
    import boto3
    import botocore.eventstream
    from botocore.exceptions import ClientError, EventStreamError
except ImportError:  # pragma: no cover - depends on the environment
    boto3 = None

try:
    import cohere
except ImportError:  # pragma: no cover - depends on the environment
    cohere = None

# Skip when the SDK is not importable, fail under LLMFAILOVER_REQUIRE_SDKS=1 (conftest.py).
needs_boto3 = pytest.mark.needs_sdk("boto3", "botocore.eventstream", "botocore.config", "botocore.exceptions")
needs_cohere = pytest.mark.needs_sdk("cohere")

FIXTURES = pathlib.Path(__file__).parents[1] / "cpp" / "fixtures" / "providers" / "bedrock"
CLAUDE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
COMMAND = "command-a-03-2025"


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


# --- fixtures recomputed with botocore -----------------------------------------------------------


def load_generator() -> Any:
    sys.path.insert(0, str(FIXTURES))
    try:
        import make_vectors  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    return make_vectors


def jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line]


@needs_boto3
def test_sigv4_vectors_still_match_botocore() -> None:
    gen = load_generator()
    stored = jsonl("sigv4_vectors.jsonl")
    assert len(stored) >= 9
    for case in stored:
        assert gen.sign(case) == case["expected"], case["name"]
    assert any("%253A" in c["expected"]["canonical_request"] for c in stored)  # the double encoding


@needs_boto3
def test_eventstream_frames_still_decode_the_same_in_botocore() -> None:
    gen = load_generator()
    stored = jsonl("eventstream_frames.jsonl")
    for case in stored:
        assert gen.decode_with_botocore(bytes.fromhex(case["hex"])) == case["expected"], case["name"]
    assert {c["expected"].get("error") for c in stored} >= {None, "ChecksumMismatch"}


# --- Bedrock -------------------------------------------------------------------------------------


def converse_args(**kw: Any) -> dict:
    return {
        "modelId": CLAUDE,
        "system": [{"text": "Be brief"}],
        "messages": [{"role": "user", "content": [{"text": "Say hello"}]}],
        **kw,
    }


@needs_boto3
def test_bedrock_converse(fp: FakeProvider, bedrock: Any) -> None:
    r = bedrock.converse(**converse_args(inferenceConfig={"maxTokens": 64}))
    assert r["output"]["message"]["content"] == [{"text": f"Hello from {CLAUDE}."}]
    assert r["stopReason"] == "end_turn"
    assert r["usage"] == {"inputTokens": 4, "outputTokens": 3, "totalTokens": 7}
    [rec] = fp.attempts(CLAUDE)  # the model id is percent-decoded from the path
    assert rec.target == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    auth = rec.header("authorization") or ""
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "SignedHeaders=content-type;host;x-amz-date," in auth  # what our signer signs too


@needs_boto3
def test_bedrock_converse_stream(fp: FakeProvider, bedrock: Any) -> None:
    r = bedrock.converse_stream(**converse_args())
    events = list(r["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == f"Hello from {CLAUDE}."
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 3
    assert fp.attempts(CLAUDE)[0].target.endswith("/converse-stream")


@needs_boto3
def test_bedrock_exception_frame_inside_the_stream(fp: FakeProvider, bedrock: Any) -> None:
    fp.script(CLAUDE, [Fault.error_event(1)])
    r = bedrock.converse_stream(**converse_args())
    with pytest.raises(EventStreamError) as info:
        try:
            list(r["stream"])
        finally:
            r["stream"].close()  # the SDK leaves the connection open after an exception event
    assert info.value.response["Error"]["Code"] == "modelStreamErrorException"
    assert fp.attempts(CLAUDE)[0].outcome == "error_event:1"


@needs_boto3
def test_bedrock_malformed_frame_fails_its_crc(fp: FakeProvider, bedrock: Any) -> None:
    fp.script(CLAUDE, [Fault.malformed(2)])
    r = bedrock.converse_stream(**converse_args())
    with pytest.raises(botocore.eventstream.ChecksumMismatch):
        try:
            list(r["stream"])
        finally:
            r["stream"].close()


@needs_boto3
@pytest.mark.parametrize(
    "fault, code, status",
    [
        (Fault.rate_limited(), "ThrottlingException", 429),
        (Fault.unavailable(), "ServiceUnavailableException", 503),
        (Fault.context_length_exceeded(), "ValidationException", 400),
        (Fault.unauthorized(), "UnrecognizedClientException", 401),
        (Fault.server_error(500), "InternalServerException", 500),
    ],
)
def test_bedrock_error_bodies(fp: FakeProvider, bedrock: Any, fault: Fault, code: str, status: int) -> None:
    fp.script(CLAUDE, [fault])
    with pytest.raises(ClientError) as info:
        bedrock.converse(**converse_args())
    err = info.value.response
    assert err["Error"]["Code"] == code
    assert err["ResponseMetadata"]["HTTPStatusCode"] == status
    if code == "ValidationException":
        assert "too long" in err["Error"]["Message"]


@needs_boto3
def test_bedrock_invoke_model_embeddings(fp: FakeProvider, bedrock: Any) -> None:
    r = bedrock.invoke_model(
        modelId="amazon.titan-embed-text-v2:0", body=json.dumps({"inputText": "hi there", "dimensions": 4})
    )
    doc = json.loads(r["body"].read())
    assert len(doc["embedding"]) == 4 and doc["inputTextTokenCount"] == 2


@needs_boto3
def test_our_encoder_frames_decode_in_botocore(fp: FakeProvider) -> None:
    """The fake's stream bytes come from eventstream::encode; botocore must read every frame."""
    url = urllib.parse.urlsplit(fp.root_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "Say hello"}]}]})
    conn.request("POST", "/model/m%3A1/converse-stream", body, {"Content-Type": "application/json"})
    res = conn.getresponse()
    assert res.status == 200
    assert res.getheader("content-type") == "application/vnd.amazon.eventstream"
    buf = botocore.eventstream.EventStreamBuffer()
    buf.add_data(res.read())
    conn.close()
    messages = list(buf)
    assert [m.headers[":event-type"] for m in messages][0] == "messageStart"
    assert all(
        m.headers[":message-type"] == "event" and m.headers[":content-type"] == "application/json" for m in messages
    )
    assert json.loads(messages[-1].payload)["usage"]["totalTokens"] == 5  # "Say hello" + "Hello from m:1."


# --- Cohere --------------------------------------------------------------------------------------


@pytest.fixture
def co(fp: FakeProvider) -> Iterator[Any]:
    import httpx

    with httpx.Client(timeout=5) as http_client:
        yield cohere.ClientV2(api_key="test-key", base_url=fp.root_url, httpx_client=http_client)


def chat_args() -> dict:
    return {
        "model": COMMAND,
        "messages": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Say hello"}],
    }


@needs_cohere
def test_cohere_chat(fp: FakeProvider, co: Any) -> None:
    r = co.chat(**chat_args())
    assert r.finish_reason == "COMPLETE"
    assert r.message.content[0].text == f"Hello from {COMMAND}."
    assert r.usage.tokens.input_tokens == 4 and r.usage.tokens.output_tokens == 3
    [rec] = fp.attempts(COMMAND)
    assert rec.target == "/v2/chat"
    assert rec.header("authorization") == "Bearer test-key"


@needs_cohere
def test_cohere_chat_stream(co: Any) -> None:
    events = list(co.chat_stream(**chat_args()))
    types = [e.type for e in events]
    assert types[0] == "message-start" and types[-1] == "message-end"
    text = "".join(e.delta.message.content.text for e in events if e.type == "content-delta")
    assert text == f"Hello from {COMMAND}."
    assert events[-1].delta.finish_reason == "COMPLETE"
    assert events[-1].delta.usage.tokens.output_tokens == 3


@needs_cohere
def test_cohere_error_finish_inside_the_stream(fp: FakeProvider, co: Any) -> None:
    fp.script(COMMAND, [Fault.error_event(1)])
    events = list(co.chat_stream(**chat_args()))
    assert [e.type for e in events] == ["message-start", "message-end"]
    assert events[-1].delta.finish_reason == "ERROR"


@needs_cohere
@pytest.mark.parametrize(
    "fault, error",
    [
        (Fault.rate_limited(), "TooManyRequestsError"),
        (Fault.unauthorized(), "UnauthorizedError"),
        (Fault.context_length_exceeded(), "BadRequestError"),
        (Fault.server_error(500), "InternalServerError"),
        (Fault.unavailable(), "ServiceUnavailableError"),
    ],
)
def test_cohere_error_bodies(fp: FakeProvider, co: Any, fault: Fault, error: str) -> None:
    fp.script(COMMAND, [fault])
    expected = getattr(cohere, error, cohere.core.api_error.ApiError)
    with pytest.raises(expected) as info:
        co.chat(**chat_args(), request_options={"max_retries": 0})
    assert info.value.body["message"]


@needs_cohere
def test_cohere_rejects_stream_options_like_the_real_api(fp: FakeProvider) -> None:
    url = urllib.parse.urlsplit(fp.root_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    body = json.dumps({**chat_args(), "stream": True, "stream_options": {"include_usage": True}})
    conn.request("POST", "/v2/chat", body, {"Content-Type": "application/json"})
    res = conn.getresponse()
    assert res.status == 400 and "stream_options" in json.loads(res.read())["message"]
    conn.close()


@needs_cohere
def test_cohere_embed(co: Any) -> None:
    r = co.embed(
        model="embed-v4.0", texts=["hello there", "bye"], input_type="search_document", embedding_types=["float"]
    )
    assert len(r.embeddings.float_) == 2
    assert r.meta.billed_units.input_tokens == 3


# --- failover from an OpenAI-format primary, through the router --------------------------------


def failover_config(fp: FakeProvider, provider: str, model: str, **extra: Any) -> dict[str, Any]:
    policy = {
        "timeouts": {"first_token": "2s", "idle": "2s", "deadline": "5s"},
        "retry": {"backoff_base": "10ms", "backoff_cap": "50ms"},
    }
    primary = {"id": "a", "model": "m-a", "base_url": fp.base_url, "api_key": "key-a", "priority": 0}
    fallback = {"id": "b", "provider": provider, "model": model, "base_url": fp.root_url, "priority": 1, **extra}
    return {"groups": {"smart": {"deployments": [primary, fallback], "policy": policy}}}


@pytest.mark.parametrize(
    "provider, model, extra",
    [
        ("bedrock", CLAUDE, {"region": "us-east-1"}),
        ("cohere", COMMAND, {"api_key": "co-key"}),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_openai_primary_fails_over(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch, provider: str, model: str, extra: dict, stream: bool
) -> None:
    from llmfailover import OpenAI, route_info

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")  # Bedrock signs with SigV4 from the environment
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    fp.set_default("m-a", Fault.unavailable())
    messages = [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Say hello"}]
    with OpenAI(config=failover_config(fp, provider, model, **extra)) as client:
        if stream:
            chunks = list(
                client.chat.completions.create(
                    model="smart", messages=messages, stream=True, stream_options={"include_usage": True}
                )
            )
            text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            usage = chunks[-1].usage
        else:
            result = client.chat.completions.create(model="smart", messages=messages)
            text, usage = result.choices[0].message.content, result.usage
            info = route_info(result)
            assert info.served is not None and info.served.provider == provider
    assert text == f"Hello from {model}."
    assert usage is not None and usage.completion_tokens == 3
    [rec] = fp.attempts(model)
    if provider == "bedrock":
        assert rec.target.endswith("/converse-stream" if stream else "/converse")
        assert (rec.header("authorization") or "").startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    else:
        assert "stream_options" not in rec.json()  # Cohere rejects it; the fake would answer 400
    assert "Be brief" in json.dumps(rec.json())  # the system prompt reached the fallback in its dialect


ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20240620-v1:0"
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(?P<date>\d{8})/us-east-1/bedrock/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


@needs_boto3
@pytest.mark.parametrize("session_token", [None, "FQoGZXIvYXdzE+token/with=="], ids=["keys", "session_token"])
@pytest.mark.parametrize("stream", [False, True], ids=["converse", "converse_stream"])
@pytest.mark.parametrize("model", [CLAUDE, ARN], ids=["model_id", "arn"])
def test_the_routers_sigv4_signature_is_botocores(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch, model: str, stream: bool, session_token: Any
) -> None:
    """The request the router sent, re-signed by botocore at the same instant, carries the same
    Authorization header: canonical path (``:`` and ``/`` of the model id double-encoded),
    headers, body hash and key derivation all agree, not just the fixture vectors."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    if session_token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", session_token)
    else:
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    config = {
        "groups": {
            "smart": {
                "deployments": [{"provider": "bedrock", "model": model, "base_url": fp.root_url, "region": "us-east-1"}]
            }
        }
    }
    messages = [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Grüße, say hello"}]
    from llmfailover import OpenAI

    with OpenAI(config=config) as client:
        if stream:
            list(client.chat.completions.create(model="smart", messages=messages, stream=True))
        else:
            client.chat.completions.create(model="smart", messages=messages)

    [rec] = fp.attempts(model)  # the fake percent-decodes the model id from the path
    assert rec.method == "POST"
    assert rec.target == f"/model/{urllib.parse.quote(model, safe='')}/{'converse-stream' if stream else 'converse'}"
    sent = rec.header("authorization") or ""
    match = AUTHORIZATION.fullmatch(sent)
    assert match, sent
    signed = match["signed"].split(";")
    assert signed == ["content-type", "host", "x-amz-date"] + (["x-amz-security-token"] if session_token else [])
    assert rec.header("x-amz-security-token") == session_token
    amz_date = rec.header("x-amz-date") or ""
    assert amz_date.startswith(match["date"])

    # botocore signs the headers the router signed, with the router's values (the Host it sent).
    headers = {name: rec.header(name) for name in signed}
    request = AWSRequest(
        method=rec.method, url=f"http://{rec.header('host')}{rec.target}", data=rec.body, headers=headers
    )
    when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")  # SigV4Auth.add_auth signs "now"
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *args, **kw: when)
    signer = SigV4Auth(Credentials("AKIDEXAMPLE", "secret", session_token), "bedrock", "us-east-1")
    signer.add_auth(request)
    assert request.headers["X-Amz-Date"] == amz_date
    canonical = signer.canonical_request(request).split("\n")
    assert canonical[1] == rec.target.replace("%", "%25")  # each segment encoded twice, as AWS wants outside S3
    assert request.headers["Authorization"] == sent


def test_a_corrupt_event_stream_after_the_first_token_is_interrupted_not_a_success(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Bedrock frame that fails its CRC cannot be resynchronised: the stream is broken there."""
    from llmfailover import OpenAI, StreamInterrupted

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    fp.set_reply(CLAUDE, "one two three four five")
    fp.set_default(CLAUDE, Fault.malformed(3))
    config = {
        "groups": {
            "smart": {
                "deployments": [
                    {"provider": "bedrock", "model": CLAUDE, "base_url": fp.root_url, "region": "us-east-1"}
                ]
            }
        }
    }
    text = ""
    with OpenAI(config=config) as client:
        stream = client.chat.completions.create(
            model="smart", messages=[{"role": "user", "content": "count"}], stream=True
        )
        with pytest.raises(StreamInterrupted) as info:
            for chunk in stream:
                text += chunk.choices[0].delta.content or "" if chunk.choices else ""
    assert text and "five" not in text  # some text arrived, never the whole answer
    assert "event stream is corrupt" in str(info.value)
