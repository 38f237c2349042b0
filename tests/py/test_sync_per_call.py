"""The plain sync client's per-call shortcuts (docs/performance.md, "The sync client, per call")
give the same request and the same result as the general path: the body built without the
per-request keys, the answer's ``_request_id`` set without pydantic's ``__setattr__`` look-up, and
``Headers.get`` answering by a scan before any index exists. Against the real engine
(``llmfailover.testing.FakeProvider``)."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any, Iterator, Optional

import llmfailover
import pydantic
import pytest
from llmfailover._compat import HAS_OPENAI, response_types
from llmfailover._http import Headers
from llmfailover._response import set_request_id
from llmfailover.testing import FakeProvider, Fault

MESSAGES = [{"role": "user", "content": "hé, say hello"}]


@pytest.fixture
def fp() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture
def client(fp: FakeProvider) -> Iterator[Any]:
    with llmfailover.OpenAI(base_url=fp.base_url, api_key="sk-fast-path", max_retries=0, timeout=5.0) as c:
        yield c


def sentinels() -> dict[str, Any]:
    if HAS_OPENAI:
        import openai

        return {"seed": openai.NOT_GIVEN, "user": openai.omit, "n": openai.not_given, "top_p": llmfailover.NOT_GIVEN}
    return {"seed": llmfailover.NOT_GIVEN, "user": llmfailover.omit, "n": llmfailover.not_given}


# --- the request ------------------------------------------------------------------------------


def test_the_common_call_sends_every_given_argument_and_drops_the_sentinels(client: Any, fp: FakeProvider) -> None:
    client.chat.completions.create(
        model="m",
        messages=MESSAGES,
        temperature=0.0,
        stop=None,  # an explicit None is sent (openai sends it too)
        logit_bias={"50256": -100},
        **sentinels(),
    )
    body = fp.attempts()[-1].json()
    assert body == {"model": "m", "messages": MESSAGES, "temperature": 0.0, "stop": None, "logit_bias": {"50256": -100}}


def test_the_common_call_and_the_general_path_send_the_same_bytes(client: Any, fp: FakeProvider) -> None:
    args: dict[str, Any] = {"model": "m", "messages": MESSAGES, "max_tokens": 5, "tools": [], "metadata": {"k": "v"}}
    client.chat.completions.create(**args)
    client.chat.completions.create(**args, extra_query={})  # a per-request key: the general path
    first, second = fp.attempts()[-2:]
    assert first.body == second.body
    assert first.header("accept") == second.header("accept")


def test_a_pydantic_value_and_a_sentinel_subclass_in_the_common_call(client: Any, fp: FakeProvider) -> None:
    class Msg(pydantic.BaseModel):
        role: str
        content: Optional[str] = None

    class Mine(type(llmfailover.NOT_GIVEN)):  # type: ignore[misc]
        pass

    client.chat.completions.create(model="m", messages=[Msg(role="user", content="x")], temperature=Mine())
    assert fp.attempts()[-1].json() == {"model": "m", "messages": [{"role": "user", "content": "x"}]}


def test_a_stream_flag_in_the_common_call_asks_for_an_event_stream(client: Any, fp: FakeProvider) -> None:
    chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert chunks and fp.attempts()[-1].header("accept") == "text/event-stream"
    client.chat.completions.create(model="m", messages=MESSAGES, stream=False)
    assert fp.attempts()[-1].header("accept") != "text/event-stream"


def test_an_unknown_argument_is_still_refused(client: Any) -> None:
    with pytest.raises(TypeError, match="temprature"):
        client.chat.completions.create(model="m", messages=MESSAGES, temprature=0.5)


def test_unserialisable_arguments_raise_type_error_and_send_nothing(client: Any, fp: FakeProvider) -> None:
    before = len(fp.attempts())
    with pytest.raises(TypeError, match="not JSON serializable"):
        client.chat.completions.create(model="m", messages=MESSAGES, metadata={"k": object()})
    with pytest.raises(ValueError):  # a cycle
        looped: list[Any] = []
        looped.append(looped)
        client.chat.completions.create(model="m", messages=looped)
    assert len(fp.attempts()) == before


# --- the answer -------------------------------------------------------------------------------


def test_the_answer_is_the_sdk_type_with_its_request_id(client: Any, fp: FakeProvider) -> None:
    fp.script("m", [Fault(headers=(("X-Request-Id", "req_fast"),))])
    r = client.chat.completions.create(model="m", messages=MESSAGES)
    cls = response_types()["ChatCompletion"]
    assert isinstance(r, cls) and r._request_id == "req_fast"
    if HAS_OPENAI:
        import openai

        assert isinstance(r, openai.types.chat.ChatCompletion)
    same = cls.model_validate_json(r.model_dump_json())
    set_request_id(same, "req_fast")  # llmfailover.types declare it private: pydantic's == compares it
    assert r == same and "_request_id" not in r.model_dump() and "_request_id" not in json.loads(r.model_dump_json())
    back = pickle.loads(pickle.dumps(r))
    assert back == r and back._request_id == "req_fast"
    assert copy.deepcopy(r)._request_id == "req_fast" and r.choices[0].message.role == "assistant"


def test_the_request_id_of_a_raw_response_and_of_its_parse_agree(client: Any, fp: FakeProvider) -> None:
    fp.script("m", [Fault(headers=(("X-REQUEST-ID", "b"),))] * 2)  # repeated names: the Headers test below
    r = client.chat.completions.create(model="m", messages=MESSAGES)
    assert r._request_id == "b"
    raw = client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    assert raw.parse()._request_id == raw.request_id == raw.headers.get("x-request-id")


def test_set_request_id_runs_a_models_own_setattr() -> None:
    seen: list[tuple[str, Any]] = []

    class Watched(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="allow")
        x: int = 0

        def __setattr__(self, name: str, value: Any) -> None:
            seen.append((name, value))
            super().__setattr__(name, value)

    class Declared(pydantic.BaseModel):
        _request_id: Optional[str] = None

    w, d = Watched(), Declared()
    set_request_id(w, "r1")
    set_request_id(d, "r2")
    set_request_id([1], "r3")  # not a model: ignored, as before
    assert seen == [("_request_id", "r1")] and w._request_id == "r1"
    assert d._request_id == "r2" and d.__pydantic_private__ == {"_request_id": "r2"}


@pytest.mark.parametrize(
    "items",
    [
        [],
        [("Content-Type", "application/json")],
        [("x-request-id", "a"), ("X-Request-Id", "b"), ("x-REQUEST-id", "")],
        [("K", "v%d" % i) for i in range(17)],  # past the scan's bound: the index
        [("k", "1"), ("K", "2"), ("k\u0130", "3")],  # a non-ASCII name lower-cases as str.lower does
    ],
)
def test_headers_get_by_scan_equals_the_index(items: list[tuple[str, str]]) -> None:
    names = {k for k, _ in items} | {"missing", "X-REQUEST-ID", "k", "ki\u0307"}
    for name in sorted(names):
        scanned = Headers(list(items)).get(name, "dflt")
        indexed = Headers(list(items))
        indexed._lookup()
        assert scanned == indexed.get(name, "dflt") == dict(indexed).get(name.lower(), "dflt"), name
