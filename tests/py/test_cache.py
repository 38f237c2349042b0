"""The exact answer cache (``cache:`` in the config; README "Caching"): a second identical call
makes no upstream attempt and says so (``route_info(r).cache_hit``), another caller's key or
``user`` never sees the answer, ``extra_body={"llmfailover": {"cache": False}}`` opts out, a
cached stream replays as a stream, and an interrupted stream or an error is never stored.
Upstream attempts are counted on the FakeProvider."""

from __future__ import annotations

from typing import Any

import pytest
from llmfailover import BadRequestError, OpenAI, StreamInterrupted, route_info
from llmfailover.config import ConfigError
from llmfailover.testing import FakeProvider, Fault
from test_router import MESSAGES, make_config

CACHE = {"type": "memory", "ttl": "10m", "max_bytes": "1MiB"}


def client(fp: FakeProvider, api_key: str = "tenant-1", **top: Any) -> OpenAI:
    return OpenAI(config=make_config(fp, cache=CACHE, stream_recovery="error", **top), api_key=api_key)


def ask(c: OpenAI, **kw: Any) -> Any:
    return c.chat.completions.create(model="smart", messages=MESSAGES, **{"temperature": 0, **kw})


def text_of(chunks: Any) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_second_identical_call_is_served_from_the_cache(fp: FakeProvider) -> None:
    with client(fp) as c:
        first = ask(c)
        assert route_info(first).cache_hit is False  # type: ignore[union-attr]
        assert len(fp.attempts()) == 1
        second = ask(c, user=None)  # fields that do not change the answer are not in the key
        assert len(fp.attempts()) == 1  # no upstream attempt
        info = route_info(second)
        assert info is not None and info.cache_hit is True
        assert [a.decision for a in info.attempts] == ["cache_hit"]
        assert "cache hit" in str(info)
        assert second.choices[0].message.content == first.choices[0].message.content
        assert second.id == first.id  # the answer as it was
        raw = c.chat.completions.with_raw_response.create(model="smart", messages=MESSAGES, temperature=0)
        assert raw.headers["x-llmfailover-cache"] == "hit"
        ask(c, temperature=0.5)  # another request: a miss
        assert len(fp.attempts()) == 2


def test_namespaces_keep_tenants_apart(fp: FakeProvider) -> None:
    config = make_config(fp, cache=CACHE)
    with OpenAI(config=config, api_key="tenant-1") as one, OpenAI(config=config, api_key="tenant-2") as two:
        # Two clients from one config build two routers; the same router with two keys is below.
        ask(one)
        ask(two)
        assert len(fp.attempts()) == 2
    with client(fp, api_key="tenant-1") as c:
        before = len(fp.attempts())
        ask(c)
        ask(c.with_options(api_key="tenant-2"))  # shares c's router and cache
        assert len(fp.attempts()) == before + 2
        ask(c, user="alice")
        ask(c, user="bob")  # the user tag is part of the namespace
        assert len(fp.attempts()) == before + 4
        assert route_info(ask(c, user="alice")).cache_hit  # type: ignore[union-attr]
        assert len(fp.attempts()) == before + 4


def test_per_request_opt_out(fp: FakeProvider) -> None:
    with client(fp) as c:
        ask(c)
        off = ask(c, extra_body={"llmfailover": {"cache": False}})
        assert route_info(off).cache_hit is False  # type: ignore[union-attr]
        assert len(fp.attempts()) == 2
        with pytest.raises(TypeError, match="cache"):
            ask(c, extra_body={"llmfailover": {"cache": "no"}})


def test_a_group_without_a_cache_is_not_cached(fp: FakeProvider) -> None:
    with OpenAI(config=make_config(fp)) as c:
        ask(c)
        assert route_info(ask(c)).cache_hit is False  # type: ignore[union-attr]
        assert len(fp.attempts()) == 2


def test_stream_is_stored_as_chunks_and_replayed_as_a_stream(fp: FakeProvider) -> None:
    with client(fp) as c:
        first = list(ask(c, stream=True))
        s = ask(c, stream=True)
        assert route_info(s).cache_hit is True  # type: ignore[union-attr]
        replay = list(s)
        assert len(fp.attempts()) == 1
        assert text_of(replay) == text_of(first) == "Hello from m-a."
        assert len(replay) == len(first) and replay[-1].choices[0].finish_reason == "stop"
        # A whole answer is stored apart from the stream: the first plain call is a miss.
        assert route_info(ask(c)).cache_hit is False  # type: ignore[union-attr]


def test_an_interrupted_stream_is_never_stored(fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.cut(2)])
    with client(fp) as c:
        with pytest.raises(StreamInterrupted):
            list(ask(c, stream=True))
        s = ask(c, stream=True)
        assert route_info(s).cache_hit is False  # type: ignore[union-attr]
        assert text_of(s) == "Hello from m-a."
        assert len(fp.attempts()) == 2


def test_errors_are_never_stored(fp: FakeProvider) -> None:
    fp.set_default("m-s", Fault.status(400))
    with client(fp) as c:
        for _ in range(2):
            with pytest.raises(BadRequestError):
                c.chat.completions.create(model="solo", messages=MESSAGES)
        assert len(fp.attempts("m-s")) == 2


def test_a_degraded_answer_is_never_stored(fp: FakeProvider) -> None:
    fp.set_default("m-s", Fault.status(503))
    with client(fp, degraded_answer="Busy, try later.") as c:
        for _ in range(2):
            r = c.chat.completions.create(model="solo", messages=MESSAGES)
            assert r.choices[0].message.content == "Busy, try later."
            assert route_info(r).cache_hit is False  # type: ignore[union-attr]
        assert len(fp.attempts("m-s")) >= 2


def test_embeddings_are_cached(fp: FakeProvider) -> None:
    with client(fp) as c:
        first = c.embeddings.create(model="solo", input="hello")
        second = c.embeddings.create(model="solo", input="hello")
        assert route_info(second).cache_hit is True  # type: ignore[union-attr]
        assert second.data[0].embedding == first.data[0].embedding
        assert len(fp.attempts("m-s")) == 1


@pytest.mark.parametrize(
    "cache, match",
    [
        ({"type": "disk"}, "cache.type"),
        ({"max_bytes": "lots"}, "max_bytes"),
        ({"ttl": "soon"}, "ttl"),
    ],
)
def test_bad_cache_config_is_refused_naming_the_key(fp: FakeProvider, cache: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        OpenAI(config=make_config(fp, cache=cache))
