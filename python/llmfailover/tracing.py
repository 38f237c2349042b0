"""OpenTelemetry tracing of routed calls (optional: needs ``opentelemetry-api``; an SDK to export).

With opentelemetry-api installed and a recording tracer provider set, each routed call is one
span (``chat smart``: the operation and the group asked for), with a child span per attempt
whose start and end are the attempt's own (from the native route log), GenAI semantic-convention
attributes (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/: gen_ai.system,
gen_ai.operation.name, gen_ai.request.model, gen_ai.response.model, gen_ai.usage.*_tokens,
gen_ai.response.finish_reasons), the router's decisions as span events (retry, failover,
next_group, recover, breaker changes), and the call span's context sent upstream as a W3C
``traceparent`` header (https://www.w3.org/TR/trace-context/) on every attempt.

Prompts and answers are not recorded unless ``enable(record_content=True)``. Without
opentelemetry-api nothing is imported and each call pays one global check; with the API but no
tracer provider set (in code or through ``OTEL_PYTHON_TRACER_PROVIDER``) a call pays two
look-ups, and one set any time later is used from the next call on.

    from llmfailover import tracing
    tracing.enable(tracer_provider=provider, meter_provider=meters)  # or the global ones
    tracing.disable()
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any, Optional

__all__ = ["enable", "disable", "enabled", "CallTrace", "begin"]

_log = logging.getLogger("llmfailover")

_OPERATIONS = {"/chat/completions": "chat", "/embeddings": "embeddings", "/completions": "text_completion"}
_EVENT_DECISIONS = frozenset(
    {
        "retry",
        "retry_transparent",
        "retry_after",
        "failover",
        "next_group",
        "budget_exhausted",
        "context_window_fallback",
        "content_policy_fallback",
        "recover",
        "interrupted",
        "to_hedge",
        "hedge_cancelled",
        "hedge_failed",
    }
)
_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
}


class _Tracing:
    def __init__(self, tracer_provider: Any, meter_provider: Any, record_content: bool) -> None:
        from opentelemetry import propagate, trace

        self.trace, self.propagate = trace, propagate
        self.provider = tracer_provider  # None: the global one, looked up per call (set any time)
        self.tracer: Any = tracer_provider.get_tracer("llmfailover") if tracer_provider is not None else None
        self.record_content = record_content
        self.global_provider: Any = None  # the global provider self.tracer came from
        # get_tracer_provider() (opentelemetry-api trace/__init__.py) answers its proxy provider
        # when its module global _TRACER_PROVIDER is None and OTEL_PYTHON_TRACER_PROVIDER is not
        # in os.environ; it tests the latter with `in os.environ`, which raises and catches a
        # KeyError per call (~1 us). begin() asks the same two things directly: the global, and
        # the key in os.environ's own dict (encoded as os.environ encodes it). An API without that
        # global (or a replaced os.environ) takes the API's own path.
        self.has_global = hasattr(trace, "_TRACER_PROVIDER")
        encode = getattr(os.environ, "encodekey", None)
        self.env_key: Any = encode(_PROVIDER_ENV) if callable(encode) else None
        self.duration: Any = None
        self.tokens: Any = None
        if meter_provider is not None:
            meter = meter_provider.get_meter("llmfailover")
            self.duration = meter.create_histogram(
                "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration"
            )
            self.tokens = meter.create_histogram(
                "gen_ai.client.token.usage",
                unit="{token}",
                description="Measures number of input and output tokens used",
            )


_PROVIDER_ENV = "OTEL_PYTHON_TRACER_PROVIDER"  # opentelemetry.environment_variables
_state: Optional[_Tracing] = None
_resolved = False  # whether the automatic set-up (global providers) was tried


def enable(*, tracer_provider: Any = None, meter_provider: Any = None, record_content: bool = False) -> None:
    """Traces routed calls with ``tracer_provider`` (the global one when None); with a
    ``meter_provider``, also records the GenAI histograms per call. ``record_content`` adds the
    prompt and the answer as span events (off by default: they may hold personal data)."""
    global _state, _resolved
    _state, _resolved = _Tracing(tracer_provider, meter_provider, record_content), True


def disable() -> None:
    """No spans from now on (until ``enable()``)."""
    global _state, _resolved
    _state, _resolved = None, True


def enabled() -> bool:
    return _current() is not None


def _current() -> Optional[_Tracing]:
    global _state, _resolved
    if not _resolved:  # on by default when opentelemetry-api is there (its global providers)
        _resolved = True
        try:
            _state = _Tracing(None, None, False)
        except ImportError:
            _state = None
    return _state


def begin(
    method: str, path: str, model: str, params: Optional[dict[str, Any]], headers: list[tuple[str, str]]
) -> Optional["CallTrace"]:
    """Starts a routed call's span and appends its ``traceparent`` to ``headers``; None when not
    tracing (no opentelemetry-api, disabled, or a non-recording tracer)."""
    st = _state if _resolved else _current()
    if st is None:
        return None
    if st.provider is None:
        if st.has_global and st.trace._TRACER_PROVIDER is None:  # get_tracer_provider()'s own test, cheaper
            data = getattr(os.environ, "_data", None)
            if st.env_key is None or type(data) is not dict:
                if _PROVIDER_ENV not in os.environ:
                    return None
            elif st.env_key not in data:
                return None
        if not _global_tracer(st):
            return None
    try:
        return CallTrace(st, path, model, params, headers)
    except _NotRecording:
        return None
    except Exception:  # tracing must never break a call
        _log.exception("llmfailover: could not start a trace span; the call goes on untraced")
        return None


def _global_tracer(st: _Tracing) -> bool:
    """Whether a tracer provider was set globally (the API's proxy and no-op ones record nothing:
    a call then pays this check, not a span)."""
    provider = st.trace.get_tracer_provider()
    if isinstance(provider, (st.trace.ProxyTracerProvider, st.trace.NoOpTracerProvider)):
        return False
    if st.tracer is None or st.global_provider is not provider:
        st.tracer, st.global_provider = provider.get_tracer("llmfailover"), provider
    return True


class CallTrace:
    """One routed call's span; ``end()`` adds the attempts' spans and closes it, once."""

    __slots__ = ("_st", "span", "start_ns", "operation", "model", "params", "_ended")

    def __init__(
        self, st: _Tracing, path: str, model: str, params: Optional[dict[str, Any]], headers: list[tuple[str, str]]
    ) -> None:
        self._st, self.model, self.params, self._ended = st, model, params, False
        self.operation = _OPERATIONS.get(path, path.strip("/").replace("/", "."))
        self.start_ns = time.time_ns()
        attrs: dict[str, Any] = {"gen_ai.operation.name": self.operation, "gen_ai.request.model": model}
        for key, name in _PARAMS.items():
            v = (params or {}).get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                attrs[name] = v
        kind = st.trace.SpanKind.CLIENT
        self.span = st.tracer.start_span(
            f"{self.operation} {model}", kind=kind, attributes=attrs, start_time=self.start_ns
        )
        if not self.span.is_recording():
            self.span.end()
            raise _NotRecording
        if not any(k.lower() == "traceparent" for k, _ in headers):  # the caller's own wins
            carrier: dict[str, str] = {}
            st.propagate.inject(carrier, context=st.trace.set_span_in_context(self.span))
            headers.extend(carrier.items())
        if st.record_content and params and "messages" in params:
            self.span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": _dumps(params["messages"])})

    def breaker(self, events: list[dict[str, Any]]) -> None:
        """Breaker and probe changes drained while the call ran, as span events."""
        if self._ended:
            return
        for e in events:
            self.span.add_event(
                f"{e.get('kind', 'breaker')}_{e.get('to', '')}",
                {
                    "llmfailover.target": e.get("target", ""),
                    "llmfailover.from": e.get("from", ""),
                    "llmfailover.reason": e.get("reason", ""),
                },
            )

    def end(
        self, info: Any, *, error: Optional[BaseException] = None, result: Any = None, stream: bool = False
    ) -> None:
        """Closes the call's span with the route ``info`` (a RouteInfo, or None)."""
        if self._ended:
            return
        self._ended = True
        try:
            self._end(info, error, result, stream)
        except Exception:
            _log.exception("llmfailover: could not finish a trace span")
            self.span.end()

    def _end(self, info: Any, error: Optional[BaseException], result: Any, stream: bool) -> None:
        st, span = self._st, self.span
        now = time.time_ns()
        attempts = list(getattr(info, "attempts", None) or [])
        served = getattr(info, "served", None)
        for a in attempts:
            start = self.start_ns + int(a.started_ms * 1e6)
            end = start + int(a.elapsed_ms * 1e6)
            if stream and a.decision in ("served", "served_recovered"):
                end = now  # a stream's attempt ran until the stream's end
            attrs: dict[str, Any] = {
                "gen_ai.operation.name": self.operation,
                "gen_ai.system": a.provider,
                "gen_ai.request.model": a.model,
                "llmfailover.group": a.group,
                "llmfailover.target": a.target,
                "llmfailover.deployment": a.deployment,
                "llmfailover.attempt": a.attempt,
                "llmfailover.decision": a.decision,
            }
            if a.status:
                attrs["http.response.status_code"] = a.status
            if a.error_class and a.error_class != "none":
                attrs["error.type"] = a.reason or a.error or a.error_class
            child = st.tracer.start_span(
                f"{self.operation} {a.model}",
                context=st.trace.set_span_in_context(span),
                kind=st.trace.SpanKind.CLIENT,
                attributes=attrs,
                start_time=start,
            )
            if "error.type" in attrs:
                child.set_status(st.trace.Status(st.trace.StatusCode.ERROR, a.message[:256]))
            child.end(end_time=max(end, start))
            if a.decision in _EVENT_DECISIONS:
                span.add_event(
                    a.decision,
                    {
                        "llmfailover.target": a.target,
                        "llmfailover.reason": a.reason,
                        "http.response.status_code": a.status,
                    },
                    timestamp=max(end, start),
                )
        cost = getattr(info, "cost", None)
        attrs = {"llmfailover.attempts": len(attempts), "llmfailover.degraded": bool(getattr(info, "degraded", False))}
        if served is not None:
            attrs.update({"gen_ai.system": served.provider, "gen_ai.response.model": served.model})
            attrs["llmfailover.deployment"] = served.deployment
        if cost is not None and served is not None:
            attrs["gen_ai.usage.input_tokens"] = cost.input_tokens
            attrs["gen_ai.usage.output_tokens"] = cost.output_tokens
            if cost.usd is not None:
                attrs["llmfailover.cost_usd"] = cost.usd
        reasons = _finish_reasons(result)
        if reasons:
            attrs["gen_ai.response.finish_reasons"] = reasons
        rid = getattr(result, "id", None)
        if isinstance(rid, str):
            attrs["gen_ai.response.id"] = rid
        span.set_attributes(attrs)
        if self._st.record_content and result is not None:
            span.add_event("gen_ai.content.completion", {"gen_ai.completion": _dumps(_contents(result))})
        if error is not None:
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(st.trace.Status(st.trace.StatusCode.ERROR, str(error)[:256]))
        span.end(end_time=now)
        self._record_metrics(attrs, now, error)

    def _record_metrics(self, attrs: dict[str, Any], now: int, error: Optional[BaseException]) -> None:
        st = self._st
        if st.duration is None or st.tokens is None:
            return
        base = {"gen_ai.operation.name": self.operation, "gen_ai.request.model": self.model}
        for k in ("gen_ai.system", "gen_ai.response.model"):
            if k in attrs:
                base[k] = attrs[k]
        if error is not None:
            base["error.type"] = type(error).__name__
        st.duration.record((now - self.start_ns) / 1e9, base)
        for kind, key in (("input", "gen_ai.usage.input_tokens"), ("output", "gen_ai.usage.output_tokens")):
            if key in attrs:
                st.tokens.record(attrs[key], {**base, "gen_ai.token.type": kind})


class _NotRecording(Exception):
    pass


def _finish_reasons(result: Any) -> list[str]:
    out = []
    for choice in getattr(result, "choices", None) or ():
        reason = getattr(choice, "finish_reason", None)
        if isinstance(reason, str):
            out.append(reason)
    return out


def _contents(result: Any) -> list[Any]:
    out = []
    for choice in getattr(result, "choices", None) or ():
        message = getattr(choice, "message", None)
        out.append(getattr(message, "content", None))
    return out


def _dumps(obj: Any) -> str:
    try:
        return json.dumps(obj, default=str)[:65536]
    except (TypeError, ValueError):
        return str(obj)[:65536]
