"""Routed streams: before the first content token every failure fails over invisibly; after it the
stream is committed, and with ``stream_recovery: error`` (the opt-out of the default rescue) a cut
or stall raises ``StreamInterrupted`` with the text so far — never a truncated success. Config and
helpers as in ``test_router``."""

from __future__ import annotations

import time
from typing import Any, Iterator

import llmfailover
import pytest
from llmfailover import APIError, OpenAI, StreamInterrupted, route_info
from llmfailover.testing import FakeProvider, Fault
from test_router import MESSAGES, decisions, healthy, make_config, outcomes


@pytest.fixture
def client(fp: FakeProvider) -> Iterator[OpenAI]:
    with OpenAI(config=make_config(fp, stream_recovery="error")) as c:
        yield c


def stream(client: OpenAI, model: str = "smart", **kw: Any) -> Any:
    return client.chat.completions.create(model=model, messages=MESSAGES, stream=True, **kw)


def text_of(chunks: Any) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_healthy_stream_reports_its_route(client: OpenAI, fp: FakeProvider) -> None:
    s = stream(client)
    info = route_info(s)
    assert info is not None and info.served.model == "m-a"  # type: ignore[union-attr]
    assert s.response.headers["x-llmfailover-target"] == "a"
    chunks = list(s)
    assert text_of(chunks) == "Hello from m-a." and chunks[-1].choices[0].finish_reason == "stop"
    assert decisions(route_info(s)) == [("a", "served")]
    assert fp.attempts("m-a")[0].stream


@pytest.mark.parametrize(
    "fault, reason",
    [
        (Fault.slow_first_token(1.0), "first_token_timeout"),
        (Fault.error_event(0), "stream_error_event"),
        (Fault.malformed(0), "malformed_chunk"),
        (Fault.status(503), "server_error"),
        (Fault.reset(), "connection_reset"),
    ],
    ids=["slow_first_token", "error_event_first", "malformed_first", "503", "reset"],
)
def test_failure_before_the_first_token_fails_over_invisibly(
    client: OpenAI, fp: FakeProvider, fault: Fault, reason: str
) -> None:
    fp.script("m-a", [fault])
    started = time.monotonic()
    s = stream(client)
    chunks = list(s)
    assert text_of(chunks) == "Hello from m-b."  # only the secondary's text, from its start
    assert decisions(route_info(s)) == [("a", "failover"), ("b", "served")]
    assert route_info(s).attempts[0].reason == reason  # type: ignore[union-attr]
    if reason == "first_token_timeout":
        assert 0.28 <= time.monotonic() - started < 0.9
        assert fp.attempts("m-b")[0].time - fp.attempts("m-a")[0].time >= 0.28
    assert len(fp.attempts("m-a")) == 1
    assert text_of(stream(client)) == "Hello from m-a."  # healthy right after


@pytest.mark.parametrize("fault", [Fault.cut(2), Fault.stall(2)], ids=["cut", "stall"])
def test_break_after_commit_raises_stream_interrupted_with_the_partial_text(
    client: OpenAI, fp: FakeProvider, fault: Fault
) -> None:
    fp.script("m-a", [fault])
    s = stream(client)
    received: list[Any] = []
    started = time.monotonic()
    with pytest.raises(StreamInterrupted) as err:
        for chunk in s:
            received.append(chunk)
    exc = err.value
    assert text_of(received) == exc.partial == "Hello from"
    assert isinstance(exc, APIError) and isinstance(exc, llmfailover.OpenAIError)
    if llmfailover._compat.HAS_OPENAI:
        import openai

        assert isinstance(exc, openai.APIError)
    assert exc.cause is not None and exc.cause.errc == "stream_interrupted"
    assert ("idle_timeout" if fault.stall_after is not None else "connection_closed") in exc.cause.detail
    assert decisions(exc.route) == [("a", "interrupted")]
    assert route_info(s) is exc.route
    assert received[-1].choices[0].finish_reason is None  # never a finished answer
    if fault.stall_after is not None:
        assert 0.35 <= time.monotonic() - started < 1.0  # the idle limit (0.4 s), not the deadline
    assert outcomes(fp) == [("m-a", f"{'cut' if fault.cut_after is not None else 'stall'}:2")]
    assert text_of(stream(client)) == "Hello from m-a."


def test_malformed_chunk_mid_stream_interrupts_the_stream(fp: FakeProvider) -> None:
    # Skipped, its text (" from") would be lost from an answer that still ends "stop".
    fp.script("m-a", [Fault.malformed(1)])
    with OpenAI(config=make_config(fp, stream_recovery="error")) as client:
        received: list[Any] = []
        with pytest.raises(StreamInterrupted) as err:
            for chunk in stream(client):
                received.append(chunk)
    assert text_of(received) == err.value.partial == "Hello"
    assert all(c.choices[0].finish_reason is None for c in received if c.choices)
    assert outcomes(fp) == [("m-a", "malformed:1")]


def test_stream_without_done_is_finalised(client: OpenAI, fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.no_done()])
    s = stream(client)
    assert text_of(s) == "Hello from m-a."
    assert decisions(route_info(s)) == [("a", "served")]
    assert outcomes(fp) == [("m-a", "no_done")]


def test_raw_stream_headers_and_route(client: OpenAI, fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.error_event(0)])
    raw = client.chat.completions.with_raw_response.create(model="smart", messages=MESSAGES, stream=True)
    assert raw.headers["x-llmfailover-model"] == "m-b" and raw.headers["x-llmfailover-attempts"] == "2"
    assert text_of(raw.parse()) == "Hello from m-b."
    assert decisions(route_info(raw)) == [("a", "failover"), ("b", "served")]


def test_stream_callbacks(fp: FakeProvider) -> None:
    seen: list[tuple[str, str]] = []
    client = OpenAI(
        config=make_config(fp, stream_recovery="error"), on_attempt=lambda a: seen.append((a.target, a.decision))
    )
    fp.script("m-a", [Fault.malformed(0), Fault.cut(2).replace(chunk_delay=0.1)])
    s = stream(client)
    assert seen == [("a", "failover"), ("b", "served")]  # told at the commit
    assert text_of(s) == "Hello from m-b."
    s2 = stream(client)
    with pytest.raises(StreamInterrupted):
        list(s2)
    assert seen[2:] == [("a", "served"), ("a", "interrupted")]  # the serving attempt, then its end
    client.close()


def test_degraded_callable_answers_a_failed_stream(fp: FakeProvider) -> None:
    client = OpenAI(config=make_config(fp), degraded=lambda error, request: "Busy, sorry.")
    fp.set_default("m-s", Fault.status(503))
    s = stream(client, "solo")
    assert text_of(s) == "Busy, sorry."
    assert route_info(s).degraded  # type: ignore[union-attr]
    client.close()


def test_config_degraded_answer_streams(fp: FakeProvider) -> None:
    client = OpenAI(config=make_config(fp, degraded_answer="We are busy."))
    fp.set_default("m-s", Fault.error_event(0))
    s = stream(client, "solo")
    assert text_of(s) == "We are busy."
    assert route_info(s).degraded and route_info(s).served is None  # type: ignore[union-attr]
    client.close()


def test_closing_a_routed_stream_early_frees_the_target(client: OpenAI, fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.ok().replace(chunk_delay=0.2)])
    with stream(client) as s:
        next(s)
    deadline = time.monotonic() + 1
    while state_in_flight(client) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert state_in_flight(client) == 0
    assert healthy(client)


def state_in_flight(client: OpenAI) -> int:
    return sum(s["in_flight"] for s in client.router_snapshot())
