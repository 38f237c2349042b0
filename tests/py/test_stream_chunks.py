"""The typed chunk of a stream, built through the model's validator directly (``_streaming.py``):
the same classes, the same tolerant fallback and the same strict error as ``parse_model``, for
chunks that validate, chunks that do not, look-alikes of the fast path's checks and odd data."""

from __future__ import annotations

from typing import Any

import pytest
from llmfailover._compat import response_types
from llmfailover._exchange import Exchange
from llmfailover._http import Request
from llmfailover._routing import FinishedCall
from llmfailover._streaming import Stream
from llmfailover.errors import APIError, APIResponseValidationError

CHUNK = response_types()["ChatCompletionChunk"]
GOOD = (
    b'{"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
    b'"choices":[{"index":0,"delta":{"content":"hi \\"there\\" \\u00e9"},"finish_reason":null}]}'
)


def stream(datas: list[bytes], *, strict: bool = False, cast_to: Any = CHUNK) -> Stream[Any]:
    events: list[Any] = [("sse", "", d, "") for d in datas] + [("end",)]
    ex = Exchange(Request("POST", "http://upstream/v1/chat/completions"))
    ex.feed([("head", 200, [("content-type", "text/event-stream")])])
    return Stream(call=FinishedCall(events), exchange=ex, cast_to=cast_to, strict=strict)


def test_a_valid_chunk_is_the_model_class_with_its_fields() -> None:
    items = list(stream([GOOD, b"[DONE]"]))
    assert len(items) == 1 and type(items[0]) is CHUNK
    assert items[0].choices[0].delta.content == 'hi "there" é'
    assert items[0].model_dump(exclude_unset=True) == CHUNK.model_validate_json(GOOD).model_dump(exclude_unset=True)


def test_a_chunk_that_does_not_validate_is_tolerated_or_refused_when_strict() -> None:
    bad = b'{"id":"c","object":"chat.completion.chunk","created":"not a time","model":"m","choices":"x"}'
    item = next(iter(stream([bad])))
    assert item.choices == "x"  # built without validation, as parse_model does
    with pytest.raises(APIResponseValidationError):
        next(iter(stream([bad], strict=True)))


def test_look_alikes_and_odd_data_take_the_full_path() -> None:
    # "error" inside a string is no error event; blank data is skipped; a non-object is refused.
    quoted = GOOD.replace(b'"hi', b'"\\"error\\": hi')
    items = list(stream([b"  ", quoted, b"\n"]))
    assert [i.choices[0].delta.content for i in items] == ['"error": hi "there" é']
    with pytest.raises(APIError):
        list(stream([b'{"error":{"message":"boom","type":"server_error"}}']))
    with pytest.raises(APIResponseValidationError):
        list(stream([b"[1, 2]"], strict=True))
    with pytest.raises(APIResponseValidationError):
        list(stream([b"{not json"], strict=True))


def test_a_class_with_its_own_model_validate_json_is_called() -> None:
    calls: list[bytes] = []

    class Own(CHUNK):  # type: ignore[misc, valid-type]
        @classmethod
        def model_validate_json(cls, data: Any, **kw: Any) -> Any:
            calls.append(data)
            return super().model_validate_json(data, **kw)

    items = list(stream([GOOD, GOOD], cast_to=Own))
    assert len(items) == 2 and calls == [GOOD, GOOD] and all(type(i) is Own for i in items)
