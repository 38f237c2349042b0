"""llmfailover.tracing with the OpenTelemetry SDK's InMemorySpanExporter: one span per routed
call, a child span per attempt with the attempt's own times, GenAI attributes, decisions as
events, the W3C traceparent sent upstream, no content unless opted in, no header when off."""

from __future__ import annotations

from typing import Any, Iterator

import llmfailover
import pytest
from llmfailover import OpenAI, route_info, tracing
from llmfailover.testing import FakeProvider, Fault

pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

MESSAGES = [{"role": "user", "content": "a secret prompt"}]


def config(fp: FakeProvider) -> dict[str, Any]:
    def dep(id_: str, model: str, **kw: Any) -> dict[str, Any]:
        return {"id": id_, "model": model, "base_url": fp.base_url, "api_key": f"key-{id_}", **kw}

    policy = {"timeouts": {"first_token": "300ms", "deadline": "3s"}, "retry": {"backoff_base": "10ms"}}
    return {
        "groups": {
            "traced": {"deployments": [dep("a", "m-a", priority=0), dep("b", "m-b", priority=1)], "policy": policy}
        }
    }


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(tracer_provider=provider)
    yield exporter
    tracing.disable()
    provider.shutdown()


def test_a_failover_is_one_call_span_with_an_attempt_span_each(fp: FakeProvider, spans: Any) -> None:
    fp.set_default("m-a", Fault.unavailable())
    with OpenAI(config=config(fp)) as client:
        r = client.chat.completions.create(model="traced", messages=MESSAGES, temperature=0.5)
    info = route_info(r)
    done = spans.get_finished_spans()
    (call,) = [s for s in done if s.parent is None]
    attempts = sorted((s for s in done if s.parent is not None), key=lambda s: s.start_time)
    assert call.name == "chat traced"
    assert [s.attributes["gen_ai.request.model"] for s in attempts] == ["m-a", "m-b"]
    assert all(s.parent.span_id == call.context.span_id for s in attempts)
    assert all(s.context.trace_id == call.context.trace_id for s in attempts)
    a, b = attempts
    assert a.attributes["error.type"] and a.attributes["http.response.status_code"] == 503
    assert a.attributes["llmfailover.decision"] == "failover" and b.attributes["llmfailover.decision"] == "served"
    # Real times from the route log: each attempt inside the call, in order, as long as it took.
    assert call.start_time <= a.start_time <= a.end_time <= b.start_time <= b.end_time <= call.end_time
    assert (a.end_time - a.start_time) / 1e6 == pytest.approx(info.attempts[0].elapsed_ms, abs=1)
    attrs = call.attributes
    assert attrs["gen_ai.system"] == "openai" and attrs["gen_ai.response.model"] == "m-b"
    assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.request.temperature"] == 0.5
    assert attrs["gen_ai.usage.input_tokens"] == r.usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == r.usage.completion_tokens
    assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("stop",)
    assert [e.name for e in call.events] == ["failover"]
    # W3C Trace Context: both attempts carried the call span's context upstream.
    for model in ("m-a", "m-b"):
        (seen,) = fp.attempts(model)
        version, trace_id, parent_id, flags = seen.header("traceparent").split("-")
        assert (version, int(trace_id, 16), int(parent_id, 16)) == ("00", call.context.trace_id, call.context.span_id)
    # No prompt or answer unless opted in.
    text = repr([(s.attributes, [e.attributes for e in s.events]) for s in done])
    assert "secret prompt" not in text and "Hello from" not in text


def test_content_is_recorded_only_when_opted_in(fp: FakeProvider) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(tracer_provider=provider, record_content=True)
    try:
        with OpenAI(config=config(fp)) as client:
            client.chat.completions.create(model="traced", messages=MESSAGES)
    finally:
        tracing.disable()
    (call,) = [s for s in exporter.get_finished_spans() if s.parent is None]
    events = {e.name: dict(e.attributes) for e in call.events}
    assert "secret prompt" in events["gen_ai.content.prompt"]["gen_ai.prompt"]
    assert "Hello from m-a" in events["gen_ai.content.completion"]["gen_ai.completion"]


def test_a_stream_and_an_error_end_their_spans(fp: FakeProvider, spans: Any) -> None:
    with OpenAI(config=config(fp)) as client:
        chunks = list(client.chat.completions.create(model="traced", messages=MESSAGES, stream=True))
        assert chunks
        fp.set_default("m-a", Fault.http_status(400))
        with pytest.raises(llmfailover.BadRequestError):
            client.chat.completions.create(model="traced", messages=MESSAGES)
    calls = [s for s in spans.get_finished_spans() if s.parent is None]
    assert len(calls) == 2
    stream, failed = sorted(calls, key=lambda s: s.start_time)
    assert stream.attributes["gen_ai.response.model"] == "m-a"
    assert failed.status.status_code.name == "ERROR" and failed.attributes["error.type"] == "BadRequestError"


def test_genai_histograms_recorded_per_call(fp: FakeProvider) -> None:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    tracing.enable(tracer_provider=TracerProvider(), meter_provider=meters)
    try:
        with OpenAI(config=config(fp)) as client:
            client.chat.completions.create(model="traced", messages=MESSAGES)
    finally:
        tracing.disable()
    names = {
        m.name: m for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    (duration,) = names["gen_ai.client.operation.duration"].data.data_points
    assert duration.count == 1 and duration.attributes["gen_ai.request.model"] == "traced"
    types = {p.attributes["gen_ai.token.type"] for p in names["gen_ai.client.token.usage"].data.data_points}
    assert types == {"input", "output"}
    meters.shutdown()


def test_off_means_no_header_and_no_span(fp: FakeProvider) -> None:
    tracing.disable()
    assert not tracing.enabled()
    with OpenAI(config=config(fp)) as client:
        client.chat.completions.create(model="traced", messages=MESSAGES)
    (seen,) = fp.attempts("m-a")
    assert seen.header("traceparent") is None


def test_without_opentelemetry_nothing_is_imported_and_no_header(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    for name in [m for m in sys.modules if m == "opentelemetry" or m.startswith("opentelemetry.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # import opentelemetry -> ImportError
    monkeypatch.setattr(tracing, "_state", None)
    monkeypatch.setattr(tracing, "_resolved", False)  # the automatic set-up runs again, and fails
    with OpenAI(config=config(fp)) as client:
        r = client.chat.completions.create(model="traced", messages=MESSAGES)
    assert route_info(r).served is not None and not tracing.enabled()
    (seen,) = fp.attempts("m-a")
    assert seen.header("traceparent") is None


def _global_tracing(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The automatic set-up (global providers), with opentelemetry-api's global provider unset and
    restored after the test (the API lets a process set it only once)."""
    from opentelemetry import trace
    from opentelemetry.util._once import Once

    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.delenv("OTEL_PYTHON_TRACER_PROVIDER", raising=False)
    monkeypatch.setattr(tracing, "_state", None)
    monkeypatch.setattr(tracing, "_resolved", False)
    return trace


def test_a_global_provider_set_after_the_client_traces_the_next_call(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = _global_tracing(monkeypatch)
    with OpenAI(config=config(fp)) as client:
        client.chat.completions.create(model="traced", messages=MESSAGES)  # nothing set: no span
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        client.chat.completions.create(model="traced", messages=MESSAGES)
    first, second = fp.attempts("m-a")
    assert first.header("traceparent") is None
    assert second.header("traceparent") is not None
    assert [s.name for s in exporter.get_finished_spans() if s.parent is None] == ["chat traced"]
    provider.shutdown()


def test_a_provider_named_in_the_environment_after_the_client_traces_the_next_call(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = _global_tracing(monkeypatch)
    with OpenAI(config=config(fp)) as client:
        client.chat.completions.create(model="traced", messages=MESSAGES)
        # opentelemetry-sdk's entry point (opentelemetry_tracer_provider group), loaded by the API
        monkeypatch.setenv("OTEL_PYTHON_TRACER_PROVIDER", "sdk_tracer_provider")
        client.chat.completions.create(model="traced", messages=MESSAGES)
    first, second = fp.attempts("m-a")
    assert first.header("traceparent") is None
    assert second.header("traceparent") is not None
    assert isinstance(trace.get_tracer_provider(), TracerProvider)
