"""The exception tree and the one mapping from engine outcomes to exceptions."""

from __future__ import annotations

import llmfailover
import pytest
from llmfailover import errors
from llmfailover._http import Headers, Request

REQ = Request("POST", "http://127.0.0.1:1/v1/chat/completions")


def _status(status: int, body: bytes = b'{"error":{"message":"m","type":"t","code":"c","param":"p"}}') -> Exception:
    return errors.make_error(REQ, status=status, headers=Headers([("X-Request-ID", "req_1")]), content=body)


@pytest.mark.parametrize(
    "status, cls",
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (422, errors.UnprocessableEntityError),
        (429, errors.RateLimitError),
        (500, errors.InternalServerError),
        (503, errors.InternalServerError),
        (529, errors.InternalServerError),
        (418, errors.APIStatusError),
    ],
)
def test_status_classes(status: int, cls: type) -> None:
    exc = _status(status)
    assert type(exc) is cls
    assert isinstance(exc, errors.APIStatusError) and isinstance(exc, llmfailover.LlmFailoverError)
    assert exc.status_code == status and exc.response.status_code == status
    assert exc.request_id == "req_1"
    assert exc.body == {"message": "m", "type": "t", "code": "c", "param": "p"}
    assert (exc.code, exc.type, exc.param) == ("c", "t", "p")
    assert exc.message == str(exc) == f"Error code: {status} - m"
    assert exc.request is REQ and exc.response.request is REQ


def test_non_json_body_is_kept_as_text() -> None:
    exc = _status(502, b"<html>bad gateway</html>")
    assert exc.body == "<html>bad gateway</html>" and str(exc) == "Error code: 502"
    assert exc.code is None and exc.type is None


@pytest.mark.parametrize("errc", ["connect_timeout", "first_byte_timeout", "idle_timeout", "deadline_exceeded"])
def test_timeouts(errc: str) -> None:
    exc = errors.make_error(REQ, errc=errc, detail="slow")
    assert type(exc) is errors.APITimeoutError and isinstance(exc, errors.APIConnectionError)
    assert str(exc) == "Request timed out."
    assert isinstance(exc.__cause__, errors.TransportError) and exc.__cause__.errc == errc


@pytest.mark.parametrize("errc", ["connect_refused", "connection_reset", "tls_failed", "protocol_error"])
def test_connection_errors(errc: str) -> None:
    exc = errors.make_error(REQ, errc=errc, detail="x")
    assert type(exc) is errors.APIConnectionError and str(exc) == "Connection error."
    assert exc.body is None and exc.request is REQ


def test_secrets_are_scrubbed() -> None:
    key = "sk-very-secret-123"
    exc = errors.make_error(
        REQ, status=401, content=f'{{"error":{{"message":"bad key {key}"}}}}'.encode(), secrets=[key]
    )
    assert key not in str(exc) and key not in repr(exc.body) and key not in exc.response.text
    exc = errors.make_error(REQ, errc="tls_failed", detail=f"for {key}", secrets=[key])
    assert key not in str(exc.__cause__)


LONG_KEY = "sk-live-0123456789"


SCRUB_CASES = [
    # A short key is masked only as a whole token: ordinary words stay readable.
    ("TLS handshake with k.example.com failed", "k", "TLS handshake with k.example.com failed"),
    ("kk k_1 k-2 a.k", "k", "kk k_1 k-2 a.k"),
    ("Authorization: Bearer k", "k", "Authorization: Bearer ***"),
    ("bad key 'k'. Try k", "k", "bad key '***'. Try ***"),
    ("GET /v1?key=k&alt=sse", "k", "GET /v1?key=***&alt=sse"),
    # A long key is masked everywhere, inside a longer token too.
    (f"GET /v1?key={LONG_KEY}&alt=sse", LONG_KEY, "GET /v1?key=***&alt=sse"),
    (f"x-api-key: {LONG_KEY}", LONG_KEY, "x-api-key: ***"),
    (f"prefix_{LONG_KEY}_suffix", LONG_KEY, "prefix_***_suffix"),
]


@pytest.mark.parametrize("text, key, scrubbed", SCRUB_CASES)
def test_scrub_masks_whole_tokens_of_short_keys_and_long_keys_everywhere(text: str, key: str, scrubbed: str) -> None:
    assert errors._scrub(text, [key]) == scrubbed


# One rule: errors._scrub calls the router's C++ scrubber (_core.scrub_text); the pure-Python copy
# (for a source tree without the built module) must agree with it on every case, hostile ones too.
AGREE_CASES = [
    *((text, [key]) for text, key, _ in SCRUB_CASES),
    ("Bearer k, key k.", ["k", LONG_KEY]),
    (f"{LONG_KEY}{LONG_KEY[:5]} sk-live", [LONG_KEY, LONG_KEY[:5], "sk"]),  # overlapping, longest first
    ('{"error":{"message":"token k refused for kafka","code":null,"k":1}}', ["k", "null"]),
    ("ünïcødé k ключ k", ["k", "ключ"]),
    ("k" * 50, ["k", "kk", "kkkkkkkk"]),
    ("a.k. k-k _k_ .k .k.", ["k"]),
    ("no secret here", ["absent"]),
    ("", ["k"]),
]


@pytest.mark.parametrize("text, secrets", AGREE_CASES)
def test_python_fallback_and_native_scrubber_agree(text: str, secrets: list[str]) -> None:
    core = pytest.importorskip("llmfailover._core")
    native = core.scrub_text(text, secrets)
    assert errors._scrub_python(text, secrets) == native
    assert errors._scrub(text, secrets) == native


def test_scrub_uses_the_native_scrubber_when_built() -> None:
    core = pytest.importorskip("llmfailover._core")
    assert errors._scrubber() is core.scrub_text
    # A lone surrogate cannot cross to C++ (no UTF-8 form): the Python rule masks it instead.
    assert errors._scrub("bad key k \udc80", ["k"]) == "bad key *** \udc80"


def test_a_one_letter_key_leaves_messages_readable_and_never_prints() -> None:
    exc = errors.make_error(REQ, errc="tls_failed", detail="TLS handshake with k.example.com: bad key k", secrets=["k"])
    assert str(exc.__cause__) == "tls_failed: TLS handshake with k.example.com: bad key ***"
    body = b'{"error":{"message":"token k refused for kafka","code":null,"k":1}}'
    exc = errors.make_error(REQ, status=401, content=body, secrets=["k", "null"])
    assert str(exc) == "Error code: 401 - token *** refused for kafka"
    # Parsed before scrubbing: a key spelled like a JSON value leaves the body a mapping.
    assert exc.body == {"message": "token *** refused for kafka", "code": "***", "***": 1}
    assert exc.response.text == '{"error":{"message":"token *** refused for kafka","code":"***","***":1}}'


def test_stream_error_is_api_error() -> None:
    exc = errors.make_stream_error({"error": {"message": "overloaded", "type": "server_error"}}, REQ)
    assert type(exc) is errors.APIError and str(exc) == "overloaded" and exc.type == "server_error"
    assert str(errors.make_stream_error({"error": "x"}, REQ)) == "An error occurred during streaming"


def test_caught_as_openai_exceptions() -> None:
    openai = pytest.importorskip("openai")
    exc = _status(429)
    with pytest.raises(openai.RateLimitError) as info:
        raise exc
    assert info.value.request_id == "req_1" and info.value.status_code == 429
    assert isinstance(exc, openai.APIStatusError) and isinstance(exc, openai.OpenAIError)
    timeout = errors.make_error(REQ, errc="idle_timeout")
    assert isinstance(timeout, openai.APITimeoutError) and isinstance(timeout, openai.APIConnectionError)
    for name in ("BadRequestError", "AuthenticationError", "NotFoundError", "InternalServerError", "APIError"):
        assert issubclass(getattr(llmfailover, name), getattr(openai, name))


def test_own_tree_without_openai() -> None:
    assert issubclass(errors.RateLimitError, errors.APIStatusError)
    assert issubclass(errors.APIStatusError, errors.APIError)
    assert issubclass(errors.APITimeoutError, errors.APIConnectionError)
    assert issubclass(errors.APIError, errors.OpenAIError)
    assert issubclass(errors.OpenAIError, errors.LlmFailoverError)
    assert not issubclass(errors.TransportError, errors.OpenAIError)


# --- bodies nested too deeply for json.loads (issue 10 item 2): the API error, never RecursionError


DEEP = b'{"error": ' * 50_000 + b"1" + b"}" * 50_000


def test_deeply_nested_error_body_is_the_status_error_with_the_text() -> None:
    exc = _status(500, DEEP)
    assert type(exc) is errors.InternalServerError and str(exc) == "Error code: 500"
    assert exc.body == DEEP.decode() and exc.response.content == DEEP


def test_deeply_nested_body_scrubs_the_key_in_the_text() -> None:
    body = b"[" * 50_000 + b'"sk-deep-secret"' + b"]" * 50_000
    exc = errors.make_error(REQ, status=401, content=body, secrets=["sk-deep-secret"])
    assert type(exc) is errors.AuthenticationError
    assert "sk-deep-secret" not in str(exc.body) and "sk-deep-secret" not in exc.response.text


def test_response_json_of_a_deep_body_raises_value_error() -> None:
    from llmfailover._http import Response

    with pytest.raises(ValueError, match="nested too deeply"):
        Response(200, Headers(), REQ, DEEP).json()


def test_deep_result_body_is_a_validation_error() -> None:
    import pydantic
    from llmfailover._http import Response
    from llmfailover._response import parse_model

    class M(pydantic.BaseModel):
        id: str

    with pytest.raises(errors.APIResponseValidationError) as info:
        parse_model(M, DEEP, Response(200, Headers(), REQ, DEEP))
    assert info.value.body == DEEP.decode()


def test_deep_stream_chunk_is_a_validation_error_not_recursion() -> None:
    import pydantic
    from llmfailover._exchange import Exchange
    from llmfailover._streaming import Stream

    class Chunk(pydantic.BaseModel):
        id: str

    class Done:
        retries_taken, finished = 0, True

        def poll(self) -> list:
            return []

        def cancel(self) -> None:
            pass

    ex = Exchange(REQ)
    ex.feed([("head", 200, []), ("sse", "", b'{"error": ' + DEEP[10:]), ("end",)])
    with pytest.raises(errors.APIResponseValidationError):
        next(Stream(call=Done(), exchange=ex, cast_to=Chunk, strict=False))
