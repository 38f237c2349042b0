"""The route report is built lazily (issue 14): a routed call whose report nobody reads does not
build it; reading it (``route_info``, ``._llmfailover``, an error's ``.route``) gives the same
report as before, and clients with callbacks still hear every outcome at once."""

from __future__ import annotations

import copy
import pickle
from typing import Any, Iterator

import pytest
from llmfailover import BadRequestError, OpenAI, RouteInfo, _routing, route_info
from llmfailover.testing import FakeProvider, Fault
from test_router import MESSAGES, ask, decisions, make_config


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts route builds: each one converts the native route log into Python objects."""
    count = [0]
    real = _routing._route_of

    def counted(native: Any, degraded: bool) -> RouteInfo:
        count[0] += 1
        return real(native, degraded)

    monkeypatch.setattr(_routing, "_route_of", counted)
    return count


@pytest.fixture
def client(fp: FakeProvider) -> Iterator[OpenAI]:
    with OpenAI(config=make_config(fp)) as c:
        yield c


def test_an_unread_report_is_never_built(client: OpenAI, builds: list[int]) -> None:
    for _ in range(3):
        ask(client)
    assert builds[0] == 0  # eagerly: one per call
    for _chunk in client.chat.completions.create(model="smart", messages=MESSAGES, stream=True):
        pass
    assert builds[0] == 0  # eagerly: three per stream (at its head, twice, and at its end)


def test_a_read_report_is_built_once_and_is_the_same(client: OpenAI, builds: list[int]) -> None:
    result = ask(client)
    info = route_info(result)
    assert isinstance(info, RouteInfo) and info is result._llmfailover
    assert decisions(info) == [("a", "served")] and info.group == "smart" and not info.degraded
    assert info.served is not None and info.served.model == "m-a"
    assert builds[0] == 1
    assert info == RouteInfo(served=info.served, attempts=info.attempts, degraded=False, cost=info.cost)
    assert info.cost is not None and info.cost.output_tokens == 3  # the lazy report carries the cost
    assert builds[0] == 1
    assert "served" in str(info) and "served" in repr(info)
    assert pickle.loads(pickle.dumps(info)) == info and copy.deepcopy(info) == info
    unread = route_info(ask(client))
    assert copy.copy(unread).attempts == unread.attempts  # a copy of an unread one reads it first


def test_a_stream_report_reads_the_final_route(client: OpenAI) -> None:
    stream = client.chat.completions.create(model="smart", messages=MESSAGES, stream=True)
    for _ in stream:
        pass
    info = route_info(stream)
    assert info is not None and decisions(info) == [("a", "served")]


def test_callbacks_still_hear_each_outcome_at_once(fp: FakeProvider) -> None:
    heard: list[Any] = []
    with OpenAI(config=make_config(fp), on_attempt=heard.append) as c:
        ask(c)
        assert [a.decision for a in heard] == ["served"]  # before anything read the report


def test_a_failed_calls_route_is_on_the_error(fp: FakeProvider) -> None:
    fp.script("m-s", [Fault.status(400)])
    with OpenAI(config=make_config(fp)) as c:
        with pytest.raises(BadRequestError) as caught:
            ask(c, model="solo")
    route = caught.value.route
    assert isinstance(route, RouteInfo) and decisions(route) == [("s", "give_up")]
    assert route.attempts[0].status == 400


def test_an_answer_keeps_no_reference_to_the_native_call(client: OpenAI) -> None:
    """A lazy report of an ended call holds a copy of its route, not the call (whose request,
    parsed body and router would otherwise live as long as the answer)."""
    import gc

    from llmfailover import _native

    routed_call = _native.core().RoutedCall
    result = ask(client)
    seen, todo = set(), [result._llmfailover]
    for _ in range(4):  # a few levels: info -> source -> its attributes -> ...
        nxt = []
        for obj in todo:
            for ref in gc.get_referents(obj):
                if id(ref) not in seen and not isinstance(ref, type):
                    seen.add(id(ref))
                    assert not isinstance(ref, routed_call), "the answer keeps the native call alive"
                    nxt.append(ref)
        todo = nxt
    assert decisions(route_info(result)) == [("a", "served")]


def test_an_answer_nobody_is_told_about_skips_the_report_and_keeps_its_route(
    client: OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A routed answer with no callback, span or tag takes no CallReport (issue 14: its cost per
    call), and carries the same lazy route as one that did."""
    made: list[Any] = []
    real = _routing.CallReport.__init__

    def counted(self: Any, *args: Any) -> None:
        made.append(self)
        real(self, *args)

    monkeypatch.setattr(_routing.CallReport, "__init__", counted)
    result = ask(client)
    assert made == []
    info = route_info(result)
    assert info is not None and decisions(info) == [("a", "served")] and not info.degraded
    assert info.cost is not None and info.cost.output_tokens == 3
    raw = client.chat.completions.with_raw_response.create(model="smart", messages=MESSAGES)
    assert decisions(route_info(raw)) == [("a", "served")]


def test_a_callback_added_after_the_first_call_hears_the_next(client: OpenAI) -> None:
    ask(client)  # no callbacks: no report
    heard: list[Any] = []
    failovers: list[Any] = []
    told = client.with_options(on_attempt=heard.append, on_failover=lambda a, b: failovers.append((a, b)))
    ask(told)
    assert [a.decision for a in heard] == ["served"]
    ask(client)  # the first client still has none
    assert len(heard) == 1 and failovers == []


def test_a_tag_on_a_later_call_is_totalled(client: OpenAI) -> None:
    from llmfailover import metrics

    ask(client)
    before = metrics.tag_totals().get(("smart", "skip-test"), {}).get("calls", 0)
    ask(client, extra_body={"llmfailover": {"tag": "skip-test"}})
    ask(client)
    assert metrics.tag_totals()[("smart", "skip-test")]["calls"] == before + 1


def test_tracing_enabled_after_the_first_call_traces_the_next(client: OpenAI, fp: FakeProvider) -> None:
    pytest.importorskip("opentelemetry.sdk.trace")
    from llmfailover import tracing
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    ask(client)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(tracer_provider=provider)
    try:
        result = ask(client)
    finally:
        tracing.disable()
        provider.shutdown()
    (call_span,) = [s for s in exporter.get_finished_spans() if s.parent is None]
    assert call_span.name == "chat smart" and decisions(route_info(result)) == [("a", "served")]
    first, second = fp.attempts("m-a")
    assert first.header("traceparent") is None and second.header("traceparent") is not None


def test_an_ended_calls_capture_is_its_route_frozen_at_the_end(client: OpenAI) -> None:
    """RoutedCall.capture() of an ended call is the route as it ended (taken before the answer was
    handed over, so reading it never waits for the io thread): the same value each time, equal to
    the call's own route_log, served, degraded and cost."""
    c: Any = getattr(client, "_native", client)
    call = c._engine.router.send("smart", "POST", "/chat/completions", b'{"model":"smart","messages":[]}')
    events = call.wait(5.0, True)
    while events[-1][0] not in ("end", "error"):
        events += call.wait(5.0, True)
    assert call.finished
    first, second = call.capture(), call.capture()
    assert first is second  # one frozen value, not a copy per read
    assert [a.decision for a in first.route_log] == [a.decision for a in call.route_log] == ["served"]
    assert first.served is not None and first.served.target == call.served.target == "a"
    assert first.degraded is call.degraded is False
    assert first.cost.usage_known and call.cost.usage_known and first.cost.target == call.cost.target == "a"
