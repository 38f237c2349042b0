"""
llmfailover native core (private: use the llmfailover package).

Events returned by ``Call.wait``/``Call.poll`` are tuples, in this order for one call:
  ("head", status: int, headers: list[tuple[str, str]])      exactly once, first
  ("body", data: bytes)                                        non-streaming: the whole body
  ("sse", event: str, data: bytes, id: str)                    text/event-stream: one per event
  ("end",)  or  ("error", code: str, message: str)            exactly one, last
A call that fails before any response has no "head": just ("error", code, message).
Error codes are the C++ ``Errc`` names: bad_url, resolve_failed, connect_refused, connect_failed,
connect_timeout, tls_failed, write_failed, connection_reset, connection_closed,
first_byte_timeout, idle_timeout, deadline_exceeded, cancelled, protocol_error, body_too_large,
stream_error; from a ``Router`` also stream_interrupted (a committed stream broke: never a
success) and no_target (nothing available; the message says why).
"""

from __future__ import annotations

import collections.abc
import typing

import llmfailover._enums

__all__: list[str] = [
    "Attempt",
    "AttemptRecord",
    "BREAKER_STATES",
    "BudgetMetrics",
    "CALL_OUTCOMES",
    "CacheMetrics",
    "CacheSettings",
    "Call",
    "CallCost",
    "Config",
    "ConfigError",
    "CostBreakdown",
    "Decision",
    "ERROR_CLASSES",
    "Errc",
    "ErrorClass",
    "FakeProvider",
    "Fault",
    "GroupMetrics",
    "HistogramSnapshot",
    "MetricsSnapshot",
    "Notifier",
    "Prices",
    "ProxyOptions",
    "RouteCapture",
    "RoutedCall",
    "Router",
    "TargetLabels",
    "TargetMetrics",
    "TargetSnapshot",
    "Timeouts",
    "TokenUsage",
    "Upstream",
    "check_base_url",
    "check_proxy_url",
    "check_seconds",
    "check_url_characters",
    "checked_max_retries",
    "header_problem",
    "max_json_depth",
    "parse_cache_config",
    "parse_config",
    "scrub_text",
    "set_max_json_depth",
]

class ProxyOptions:
    def __init__(self, *, http: str = "", https: str = "", no_proxy: str = "", ca_pem: str = "") -> None: ...

class Timeouts:
    """
    Per-attempt limits in seconds; None means no limit (connect always has one). Values of
    1e9 s or more (inf included) saturate to no limit (connect: ~31.7 years); NaN, zero and
    negatives raise ValueError naming the limit.
    """
    def __eq__(self, other: typing.Any) -> bool: ...
    def __hash__(self) -> int: ...
    def __init__(
        self,
        connect: typing.SupportsFloat | typing.SupportsIndex = 5.0,
        first_byte: typing.SupportsFloat | typing.SupportsIndex | None = None,
        idle: typing.SupportsFloat | typing.SupportsIndex | None = None,
        total: typing.SupportsFloat | typing.SupportsIndex | None = None,
    ) -> None: ...
    def __repr__(self) -> str: ...
    @property
    def connect(self) -> float: ...
    @property
    def first_byte(self) -> float | None: ...
    @property
    def idle(self) -> float | None: ...
    @property
    def total(self) -> float | None: ...

class Upstream:
    """
    One OpenAI-compatible endpoint (provider "openai" or "azure") with its credentials.
    The key never appears in repr.
    """
    def __init__(
        self,
        *,
        provider: str = "openai",
        base_url: str,
        api_key: str = "",
        organization: str = "",
        project: str = "",
        api_version: str = "",
        azure_deployment: str = "",
        default_headers: collections.abc.Sequence[tuple[str, str]] = [],
        default_query: collections.abc.Sequence[tuple[str, str]] = [],
    ) -> None: ...
    def __repr__(self) -> str: ...
    def url_for(self, path: str, query: collections.abc.Sequence[tuple[str, str]] = [], model: str = "") -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def provider(self) -> str: ...

class Notifier:
    """
    An eventfd an event loop watches; drain() returns the tokens of calls with new events.
    """
    def __init__(self) -> None: ...
    def close(self) -> None: ...
    def drain(self) -> list[int]: ...
    def fileno(self) -> int: ...

class Call:
    """
    One request in flight; its events in order (module docstring).
    """
    def cancel(self) -> None: ...
    def poll(
        self,
    ) -> list[
        tuple[str, int, list[tuple[str, str]]]
        | tuple[str, bytes]
        | tuple[str, str, bytes, str]
        | tuple[str]
        | tuple[str, str, str]
    ]:
        """
        The events that arrived, without waiting ([] if none).
        """
    def set_notify(self, notifier: Notifier, token: typing.SupportsInt | typing.SupportsIndex) -> None:
        """
        Posts `token` to `notifier` whenever events arrive.
        """
    def wait(
        self, timeout: typing.SupportsFloat | typing.SupportsIndex | None = None, until_end: bool = False
    ) -> list[
        tuple[str, int, list[tuple[str, str]]]
        | tuple[str, bytes]
        | tuple[str, str, bytes, str]
        | tuple[str]
        | tuple[str, str, str]
    ]:
        """
        Blocks (GIL released) until at least one event (with `until_end`: until the terminal
        event), or `timeout` seconds; returns what arrived ([] on time-out).
        """
    @property
    def attempts(self) -> list[dict[str, typing.Any]]:
        """
        One dict per attempt: attempt, url, status, error, error_message, error_class, started_ms,
        elapsed_ms, waited_ms (backoff before it), retry_after_ms (what the upstream asked).
        """
    @property
    def finished(self) -> bool: ...
    @property
    def retries_taken(self) -> int: ...

class Fault:
    """
    One attempt's fault (C++ value; use llmfailover.testing.Fault).
    """
    def __eq__(self, other: typing.Any) -> bool: ...
    def __hash__(self) -> int: ...
    def __init__(
        self,
        *,
        status: typing.SupportsInt | typing.SupportsIndex = 200,
        headers: collections.abc.Sequence[tuple[str, str]] = [],
        body: str = "",
        error_code: str = "",
        error_message: str = "",
        delay_before_headers: typing.SupportsFloat | typing.SupportsIndex = 0.0,
        action: str = "none",
        first_token_delay: typing.SupportsFloat | typing.SupportsIndex = 0.0,
        chunk_delay: typing.SupportsFloat | typing.SupportsIndex = 0.0,
        stall_after: typing.SupportsInt | typing.SupportsIndex = -1,
        cut_after: typing.SupportsInt | typing.SupportsIndex = -1,
        malformed_at: typing.SupportsInt | typing.SupportsIndex = -1,
        error_event_at: typing.SupportsInt | typing.SupportsIndex = -1,
        omit_done: bool = False,
        chunked: bool = True,
        content: str | None = None,
    ) -> None: ...
    def __repr__(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def body(self) -> bytes: ...
    @property
    def chunk_delay(self) -> float: ...
    @property
    def chunked(self) -> bool: ...
    @property
    def content(self) -> str | None: ...
    @property
    def cut_after(self) -> int: ...
    @property
    def delay_before_headers(self) -> float: ...
    @property
    def error_code(self) -> str: ...
    @property
    def error_event_at(self) -> int: ...
    @property
    def error_message(self) -> str: ...
    @property
    def first_token_delay(self) -> float: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...
    @property
    def malformed_at(self) -> int: ...
    @property
    def omit_done(self) -> bool: ...
    @property
    def stall_after(self) -> int: ...
    @property
    def status(self) -> int: ...

class AttemptRecord:
    """
    One request the fake provider received.
    """
    def __repr__(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def body(self) -> bytes: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...
    @property
    def method(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def request_id(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def stream(self) -> bool: ...
    @property
    def target(self) -> str: ...
    @property
    def time(self) -> float: ...

class FakeProvider:
    """
    The fault-injecting fake provider (use llmfailover.testing.FakeProvider).
    """
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: typing.SupportsInt | typing.SupportsIndex = 0,
        threads: typing.SupportsInt | typing.SupportsIndex = 1,
        reply_words: typing.SupportsInt | typing.SupportsIndex = 3,
        embedding_dimensions: typing.SupportsInt | typing.SupportsIndex = 8,
        models: collections.abc.Sequence[str] | None = None,
    ) -> None: ...
    def attempts(self, model: str | None = None) -> list[AttemptRecord]: ...
    def outage(
        self, model: str, seconds: typing.SupportsFloat | typing.SupportsIndex, fault: Fault | None = None
    ) -> None: ...
    def reset(self) -> None: ...
    def script(self, model: str, faults: collections.abc.Sequence[Fault]) -> None: ...
    def set_default(self, model: str, fault: Fault) -> None: ...
    def set_reply(self, model: str, content: str) -> None: ...
    def set_tool_call(self, model: str, name: str, arguments: str) -> None:
        """
        The model's chat answer becomes a call of tool `name` with `arguments` (JSON text of an
        object) in each dialect's shape; ValueError for an empty name or other JSON.
        """
    def stop(self) -> None: ...
    @property
    def base_url(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def root_url(self) -> str: ...

class ConfigError(ValueError):
    """
    A bad config (a ValueError); its ``path`` (str) names the place in the document.
    """

class Config:
    """
    A parsed router config (llmfailover schema; secrets redacted on output)
    """
    def __eq__(self, other: typing.Any) -> bool: ...
    def __hash__(self) -> int: ...
    def __repr__(self) -> str: ...
    def policy_for(self, group: str) -> dict[str, typing.Any]:
        """
        The group's policy (its own, else the defaults)
        """
    def to_json(self) -> str:
        """
        The config in llmfailover's schema, secrets redacted
        """
    @property
    def content_policy_fallbacks(self) -> dict[str, list[str]]: ...
    @property
    def context_window_fallbacks(self) -> dict[str, list[str]]: ...
    @property
    def default_fallbacks(self) -> list[str]: ...
    @property
    def degraded_answer(self) -> str | None: ...
    @property
    def deployments(self) -> list[dict[str, typing.Any]]:
        """
        One dict per deployment, its group included; no secret
        """
    @property
    def fallbacks(self) -> dict[str, list[str]]: ...
    @property
    def groups(self) -> list[str]: ...
    @property
    def routing_strategy(self) -> str: ...
    @property
    def stream_recovery(self) -> str: ...
    @property
    def warnings(self) -> list[str]: ...

class HistogramSnapshot:
    def __repr__(self) -> str: ...
    @property
    def bounds(self) -> list[float]: ...
    @property
    def buckets(self) -> list[int]:
        """
        per bucket (not cumulative); the last is +Inf
        """
    @property
    def count(self) -> int: ...
    @property
    def sum(self) -> float: ...

class Prices:
    def __eq__(self, other: typing.Any) -> bool: ...
    def __hash__(self) -> int: ...
    def __init__(
        self,
        *,
        input: typing.SupportsFloat | typing.SupportsIndex | None = None,
        output: typing.SupportsFloat | typing.SupportsIndex | None = None,
        cached_input: typing.SupportsFloat | typing.SupportsIndex | None = None,
        reasoning: typing.SupportsFloat | typing.SupportsIndex | None = None,
        source: str = "",
    ) -> None: ...
    @property
    def cached_input(self) -> float | None: ...
    @property
    def input(self) -> float | None: ...
    @property
    def output(self) -> float | None: ...
    @property
    def reasoning(self) -> float | None: ...
    @property
    def source(self) -> str: ...

class TokenUsage:
    @property
    def cached(self) -> int: ...
    @property
    def input(self) -> int: ...
    @property
    def output(self) -> int: ...
    @property
    def reasoning(self) -> int: ...

class CostBreakdown:
    @property
    def cached(self) -> float: ...
    @property
    def input(self) -> float: ...
    @property
    def output(self) -> float: ...
    @property
    def reasoning(self) -> float: ...
    @property
    def total(self) -> float: ...

class CallCost:
    @property
    def cost(self) -> CostBreakdown | None: ...
    @property
    def deployment(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def unknown_reason(self) -> str: ...
    @property
    def usage(self) -> TokenUsage: ...
    @property
    def usage_known(self) -> bool: ...
    @property
    def waste_usd(self) -> float: ...
    @property
    def wasted_attempts(self) -> int: ...

class TargetLabels:
    @property
    def deployment(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def target(self) -> str: ...

class TargetMetrics:
    @property
    def attempt_duration(self) -> HistogramSnapshot: ...
    @property
    def attempts(self) -> list[int]:
        """
        by error class, in ERROR_CLASSES order
        """
    @property
    def cost_usd(self) -> float: ...
    @property
    def in_flight(self) -> int: ...
    @property
    def input_tokens(self) -> HistogramSnapshot: ...
    @property
    def labels(self) -> TargetLabels: ...
    @property
    def output_tokens(self) -> HistogramSnapshot: ...
    @property
    def priced(self) -> int: ...
    @property
    def prices(self) -> Prices: ...
    @property
    def requests_left(self) -> int: ...
    @property
    def served(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def time_to_first_token(self) -> HistogramSnapshot: ...
    @property
    def tokens_cached(self) -> int: ...
    @property
    def tokens_input(self) -> int: ...
    @property
    def tokens_left(self) -> int: ...
    @property
    def tokens_output(self) -> int: ...
    @property
    def tokens_reasoning(self) -> int: ...
    @property
    def transitions(self) -> list[int]:
        """
        breaker transitions by the state entered, in BREAKER_STATES order
        """
    @property
    def unpriced(self) -> int: ...
    @property
    def waste_usd(self) -> float: ...

class GroupMetrics:
    @property
    def budget_exhausted(self) -> int: ...
    @property
    def cost_usd(self) -> float: ...
    @property
    def duration(self) -> list[HistogramSnapshot]:
        """
        by outcome, in CALL_OUTCOMES order
        """
    @property
    def failovers(self) -> int: ...
    @property
    def group(self) -> str: ...
    @property
    def hedges(self) -> int: ...
    @property
    def requests(self) -> list[int]:
        """
        by outcome, in CALL_OUTCOMES order
        """
    @property
    def retries(self) -> int: ...
    @property
    def retry_budget_left(self) -> float: ...
    @property
    def stream_recoveries(self) -> int: ...
    @property
    def waste_usd(self) -> float: ...

class BudgetMetrics:
    def __repr__(self) -> str: ...
    @property
    def limit_usd(self) -> float: ...
    @property
    def name(self) -> str: ...
    @property
    def period(self) -> str:
        """
        hour | day | month (calendar, UTC)
        """
    @property
    def period_start(self) -> str: ...
    @property
    def reached(self) -> bool: ...
    @property
    def resets_at(self) -> str: ...
    @property
    def scope(self) -> str:
        """
        group | key | tag
        """
    @property
    def spent_usd(self) -> float:
        """
        this period: priced answers plus waste
        """
    @property
    def unpriced(self) -> int:
        """
        calls this period whose price is unknown (not counted)
        """

class CacheMetrics:
    @property
    def backend(self) -> str:
        """
        memory | redis
        """
    @property
    def group(self) -> str: ...
    @property
    def hits(self) -> int: ...
    @property
    def misses(self) -> int: ...

class MetricsSnapshot:
    @property
    def budgets(self) -> list[BudgetMetrics]: ...
    @property
    def cache(self) -> list[CacheMetrics]:
        """
        exact cache lookups per group (empty without a cache)
        """
    @property
    def groups(self) -> list[GroupMetrics]: ...
    @property
    def state_fallbacks(self) -> int:
        """
        times `state: redis` fell back to local state (once per outage)
        """
    @property
    def targets(self) -> list[TargetMetrics]: ...

class Decision(llmfailover._enums.NativeStrEnum):
    """
    What the router did after an attempt (cpp/include/llmfailover/decision.hpp).
    Members are str: Decision.failover == 'failover'; pending == '' (no outcome yet).
    """

    pending = ""
    served = "served"
    retry = "retry"
    retry_transparent = "retry_transparent"
    retry_after = "retry_after"
    failover = "failover"
    next_group = "next_group"
    context_window_fallback = "context_window_fallback"
    content_policy_fallback = "content_policy_fallback"
    budget_exhausted = "budget_exhausted"
    restart_without_prefill = "restart_without_prefill"
    continuation_prompt = "continuation_prompt"
    interrupted = "interrupted"
    recover = "recover"
    served_recovered = "served_recovered"
    recovery_failed = "recovery_failed"
    give_up = "give_up"
    cancelled = "cancelled"
    skip = "skip"
    cache_hit = "cache_hit"
    to_hedge = "to_hedge"
    hedge_cancelled = "hedge_cancelled"
    hedge_failed = "hedge_failed"

class Errc(llmfailover._enums.NativeStrEnum):
    """
    A local-origin failure code (cpp/include/llmfailover/error.hpp Errc).
    """

    ok = "ok"
    bad_url = "bad_url"
    resolve_failed = "resolve_failed"
    connect_refused = "connect_refused"
    connect_failed = "connect_failed"
    connect_timeout = "connect_timeout"
    tls_failed = "tls_failed"
    write_failed = "write_failed"
    connection_reset = "connection_reset"
    connection_closed = "connection_closed"
    first_byte_timeout = "first_byte_timeout"
    idle_timeout = "idle_timeout"
    deadline_exceeded = "deadline_exceeded"
    cancelled = "cancelled"
    protocol_error = "protocol_error"
    body_too_large = "body_too_large"
    stream_error = "stream_error"
    stream_interrupted = "stream_interrupted"
    no_target = "no_target"
    bad_request = "bad_request"
    internal_error = "internal_error"

class ErrorClass(llmfailover._enums.NativeStrEnum):
    """
    The class the failover policy acts on (cpp/include/llmfailover/error.hpp).
    """

    none = "none"
    transparent = "transparent"
    retryable = "retryable"
    rate_limited = "rate_limited"
    fatal_target = "fatal_target"
    fatal_request = "fatal_request"
    ignored = "ignored"

class Attempt:
    """
    One attempt of a routed call (router.hpp RouteAttempt); times in ms since the
    call started, first_byte_ms and retry_after_ms -1 when absent.
    """

    FIELDS: typing.ClassVar[tuple] = (
        "attempt",
        "group",
        "target",
        "deployment",
        "provider",
        "model",
        "key_index",
        "status",
        "error",
        "error_class",
        "reason",
        "message",
        "decision",
        "started_ms",
        "first_byte_ms",
        "elapsed_ms",
        "waited_ms",
        "retry_after_ms",
        "pick",
        "skipped",
        "replayed",
    )
    def __getitem__(self, field: str) -> typing.Any:
        """
        record['field'] is record.field (KeyError for a name not in FIELDS).
        """
    def get(self, field: str, default: typing.Any = None) -> typing.Any:
        """
        record.field, or `default` for a name not in FIELDS.
        """
    @property
    def attempt(self) -> int: ...
    @property
    def decision(self) -> Decision: ...
    @property
    def deployment(self) -> str: ...
    @property
    def elapsed_ms(self) -> float: ...
    @property
    def error(self) -> Errc | None:
        """
        The local failure (None when the upstream answered).
        """
    @property
    def error_class(self) -> ErrorClass | None:
        """
        None until the attempt has an outcome.
        """
    @property
    def first_byte_ms(self) -> float: ...
    @property
    def group(self) -> str: ...
    @property
    def key_index(self) -> int: ...
    @property
    def message(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def pick(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def replayed(self) -> bool: ...
    @property
    def retry_after_ms(self) -> float: ...
    @property
    def skipped(self) -> str: ...
    @property
    def started_ms(self) -> float: ...
    @property
    def status(self) -> int: ...
    @property
    def target(self) -> str: ...
    @property
    def waited_ms(self) -> float: ...

class TargetSnapshot:
    """
    One target's state (router.hpp TargetSnapshot): probe is "" without active probes, else
    "unknown", "healthy" or "unhealthy"; cooling: open for a 429's cooldown; the balancing
    and quota fields are docs/balancing.md's.
    """

    FIELDS: typing.ClassVar[tuple] = (
        "target",
        "group",
        "deployment",
        "model",
        "provider",
        "key_index",
        "state",
        "probe",
        "ramp_step",
        "cooling",
        "share",
        "failure_rate",
        "slow_rate",
        "in_flight",
        "available_in_ms",
        "strategy",
        "balancer_share",
        "available",
        "weight",
        "priority",
        "pick_share",
        "blocked_for_ms",
        "ewma_ms",
        "cost",
        "balancer_in_flight",
        "header_share",
        "deployment_in_flight",
        "max_concurrency",
        "shed",
        "rpm",
        "tpm",
        "requests_left",
        "tokens_left",
        "key_rpm",
        "key_tpm",
        "key_requests_left",
        "key_tokens_left",
    )
    def __getitem__(self, field: str) -> typing.Any:
        """
        record['field'] is record.field (KeyError for a name not in FIELDS).
        """
    def get(self, field: str, default: typing.Any = None) -> typing.Any:
        """
        record.field, or `default` for a name not in FIELDS.
        """
    @property
    def available(self) -> bool: ...
    @property
    def available_in_ms(self) -> float: ...
    @property
    def balancer_in_flight(self) -> int: ...
    @property
    def balancer_share(self) -> float: ...
    @property
    def blocked_for_ms(self) -> float: ...
    @property
    def cooling(self) -> bool: ...
    @property
    def cost(self) -> float: ...
    @property
    def deployment(self) -> str: ...
    @property
    def deployment_in_flight(self) -> int: ...
    @property
    def ewma_ms(self) -> float: ...
    @property
    def failure_rate(self) -> float: ...
    @property
    def group(self) -> str: ...
    @property
    def header_share(self) -> float: ...
    @property
    def in_flight(self) -> int: ...
    @property
    def key_index(self) -> int: ...
    @property
    def key_requests_left(self) -> int: ...
    @property
    def key_rpm(self) -> int: ...
    @property
    def key_tokens_left(self) -> int: ...
    @property
    def key_tpm(self) -> int: ...
    @property
    def max_concurrency(self) -> int: ...
    @property
    def model(self) -> str: ...
    @property
    def pick_share(self) -> float: ...
    @property
    def priority(self) -> int: ...
    @property
    def probe(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def ramp_step(self) -> int: ...
    @property
    def requests_left(self) -> int: ...
    @property
    def rpm(self) -> int: ...
    @property
    def share(self) -> float: ...
    @property
    def shed(self) -> int: ...
    @property
    def slow_rate(self) -> float: ...
    @property
    def state(self) -> str: ...
    @property
    def strategy(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def tokens_left(self) -> int: ...
    @property
    def tpm(self) -> int: ...
    @property
    def weight(self) -> float: ...

class RouteCapture:
    """
    A finished call's route, copied out of it.
    """
    @property
    def cost(self) -> CallCost: ...
    @property
    def degraded(self) -> bool: ...
    @property
    def route_log(self) -> list[Attempt]: ...
    @property
    def served(self) -> Attempt | None: ...

class RoutedCall(Call):
    """
    A call through the Router; ``served`` and ``route_log`` are Attempt records. Successful heads
    carry x-llmfailover-target, -deployment, -model and -attempts headers.
    """
    def capture(self) -> RouteCapture:
        """
        The route of a finished call (what a lazy report holds), as it was when the call ended.
        """
    @property
    def cache_hit(self) -> bool:
        """
        The answer was replayed from the exact cache (no upstream attempt).
        """
    @property
    def cost(self) -> CallCost:
        """
        What the answer cost (bind_metrics.cpp).
        """
    @property
    def degraded(self) -> bool:
        """
        The answer is the config's degraded_answer.
        """
    @property
    def route_log(self) -> list[Attempt]:
        """
        Every attempt so far, in order.
        """
    @property
    def served(self) -> Attempt | None:
        """
        The attempt that answered (None until one did).
        """

class CacheSettings:
    @property
    def groups(self) -> list[str]: ...
    @property
    def semantic(self) -> dict:
        """
        The groups with `cache: {type: semantic}`: embeddings, threshold, ttl (s), max_entries, allow_tools.
        """

class Router:
    """
    The failover engine over a Config (cpp/include/llmfailover/router.hpp).
    Raises ConfigError (a ValueError) for an inconsistent config (unknown groups in
    chains), ValueError naming the argument for a bad io_threads or connection cap.
    """
    @staticmethod
    def plain(
        *,
        io_threads: typing.SupportsInt | typing.SupportsIndex = 1,
        verify: bool = True,
        ca_file: str = "",
        user_agent: str = "llmfailover/0.1.0",
        max_connections_per_origin: typing.SupportsInt | typing.SupportsIndex = 256,
        proxy: ProxyOptions = ...,
    ) -> Router:
        """
        A plain client's router (plain.hpp): one group of one deployment, openai-python's retries, no
        breaker; its calls are send_plain()'s.
        """
    def __init__(
        self,
        config: Config,
        *,
        io_threads: typing.SupportsInt | typing.SupportsIndex = 1,
        verify: bool = True,
        ca_file: str = "",
        user_agent: str = "llmfailover/0.1.0",
        max_connections_per_origin: typing.SupportsInt | typing.SupportsIndex = 256,
        proxy: ProxyOptions = ...,
        cache: CacheSettings | None = None,
    ) -> None: ...
    def abandon(self) -> None:
        """
        Forked child only: drops the router without destroying it (its threads are gone).
        """
    def close(self) -> None: ...
    def drain_events(self) -> list[dict[str, typing.Any]]:
        """
        Breaker state changes and active probe changes since the last drain: kind ("breaker" or
        "probe"), target, from, to, reason, time_ms.
        """
    def has_group(self, name: str) -> bool: ...
    def metrics(self) -> MetricsSnapshot: ...
    def pool_stats(self) -> dict[str, int]: ...
    def send(
        self,
        model: str,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: collections.abc.Sequence[tuple[str, str]] = [],
        query: collections.abc.Sequence[tuple[str, str]] = [],
        stream: bool = False,
        deadline: typing.SupportsFloat | typing.SupportsIndex | None = None,
        cache_namespace: str = "",
        *,
        fallbacks: collections.abc.Sequence[str] | None = None,
        first_token: typing.SupportsFloat | typing.SupportsIndex | None = None,
        idle: typing.SupportsFloat | typing.SupportsIndex | None = None,
        max_attempts: typing.SupportsInt | typing.SupportsIndex | None = None,
        cache: bool = True,
        tag: str = "",
    ) -> RoutedCall:
        """
        Starts a call to group `model` (times in seconds; max_attempts 1..5). Returns at once.
        """
    def send_plain(
        self,
        upstream: Upstream,
        *,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: collections.abc.Sequence[tuple[str, str]] = [],
        query: collections.abc.Sequence[tuple[str, str]] = [],
        model: str = "",
        timeouts: Timeouts = ...,
        max_retries: typing.SupportsInt | typing.SupportsIndex = 2,
        stream: bool = False,
    ) -> RoutedCall:
        """
        Starts a plain client's request in pass-through mode (router.hpp PassThrough): sent to `upstream`
        as given, the answer as it comes, with openai-python's retry rules (408/409/429/5xx, time-outs
        and connection errors; x-should-retry; retry-after-ms/retry-after within 60 s; otherwise
        min(0.5*2^n, 8)*(1-0.25*rand) s). Returns at once.
        """
    def set_prices(self, arg0: str, arg1: Prices) -> bool: ...
    def snapshot(self) -> list[TargetSnapshot]:
        """
        One TargetSnapshot per target (breaker state, probes, ramp, balancing and quota fields).
        """
    @property
    def closed(self) -> bool: ...

def check_base_url(field: str, url: str) -> None:
    """
    Raises ValueError for a URL with a control character or not http(s).
    """

def check_proxy_url(url: str, name: str) -> str: ...
def check_seconds(field: str, seconds: typing.SupportsFloat | typing.SupportsIndex) -> None:
    """
    Raises ValueError naming `field` for a NaN, zero or negative duration.
    """

def check_url_characters(field: str, url: str) -> None:
    """
    Raises ValueError naming `field` for a URL (part) with a control character (as httpx).
    """

def checked_max_retries(max_retries: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    max_retries itself, or ValueError when it is outside 0..1000000.
    """

def header_problem(name: str, value: str) -> str | None:
    """
    Why a header cannot be sent (names the header, never shows the value), or None (RFC 9110).
    """

def max_json_depth() -> int:
    """
    The nesting limit of every JSON document the core parses
    """

def parse_cache_config(json_text: str, env: collections.abc.Mapping[str, str] | None = None) -> CacheSettings:
    """
    The `cache` objects of a config parse_config accepted (cache/cache_config.hpp).
    """

def parse_config(json_text: str, env: collections.abc.Mapping[str, str] | None = None) -> Config:
    """
    Parse a config (llmfailover schema, or LiteLLM when it has model_list). `env` replaces the process environment for os.environ/NAME and ${NAME} references.
    """

def scrub_text(text: str, secrets: collections.abc.Sequence[str]) -> str:
    """
    ``text`` with each of ``secrets`` replaced by ``***``: one of 8 characters or more everywhere, a shorter one only where it stands as a whole token (the router's rule, llmfailover/secret_set.hpp).
    """

def set_max_json_depth(depth: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Set the nesting limit (1..10000) for parses that start afterwards; ValueError outside it
    """

BREAKER_STATES: tuple = ("closed", "open", "half_open")
CALL_OUTCOMES: tuple = ("ok", "error", "degraded", "cancelled")
ERROR_CLASSES: tuple = ("none", "transparent", "retryable", "rate_limited", "fatal_target", "fatal_request", "ignored")
__version__: str = "0.1.0"
