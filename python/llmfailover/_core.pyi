"""Type stubs for the native extension ``llmfailover._core`` (private; use the public API).

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

from typing import Any, Mapping, Optional, Sequence, Tuple, Union

__version__: str

Event = Union[
    Tuple[str, int, list[tuple[str, str]]],
    Tuple[str, bytes],
    Tuple[str, str, bytes, str],
    Tuple[str],
    Tuple[str, str, str],
]

class Timeouts:
    """Per-attempt limits in seconds; None means no limit (connect always has one). Values of
    1e9 s or more (inf included) saturate to no limit (connect: ~31.7 years); NaN, zero and
    negatives raise ValueError naming the limit."""

    connect: float
    first_byte: Optional[float]
    idle: Optional[float]
    total: Optional[float]
    def __init__(
        self,
        connect: float = 5.0,
        first_byte: Optional[float] = None,
        idle: Optional[float] = None,
        total: Optional[float] = None,
    ) -> None: ...

class Upstream:
    """One OpenAI-compatible endpoint with its credentials. The key never appears in repr."""

    provider: str  # "openai" or "azure"
    base_url: str
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
        default_headers: Sequence[tuple[str, str]] = (),
        default_query: Sequence[tuple[str, str]] = (),
    ) -> None: ...
    def url_for(self, path: str, query: Sequence[tuple[str, str]] = (), model: str = "") -> str: ...

class Notifier:
    """An eventfd an event loop watches; drain() returns the tokens of calls with new events."""

    def __init__(self) -> None: ...
    def fileno(self) -> int: ...
    def drain(self) -> list[int]: ...
    def close(self) -> None: ...

class Call:
    def wait(self, timeout: Optional[float] = None, until_end: bool = False) -> list[Event]:
        """Blocks (GIL released) until at least one event (with `until_end`: until the terminal
        event), or `timeout` seconds; returns what arrived ([] on time-out)."""
    def poll(self) -> list[Event]: ...
    def cancel(self) -> None: ...
    def set_notify(self, notifier: Notifier, token: int) -> None: ...
    @property
    def finished(self) -> bool: ...
    @property
    def retries_taken(self) -> int: ...
    @property
    def attempts(self) -> list[dict[str, object]]:
        """One dict per attempt: attempt, url, status, error, error_class, started_ms,
        elapsed_ms, waited_ms (backoff before it), retry_after_ms (what the upstream asked)."""

class Engine:
    def __init__(
        self,
        *,
        io_threads: int = 1,
        verify: bool = True,
        ca_file: str = "",
        max_connections_per_origin: int = 256,
        user_agent: str = ...,
    ) -> None: ...
    def send(
        self,
        upstream: Upstream,
        *,
        method: str,
        path: str,
        body: Optional[bytes] = None,
        headers: Sequence[tuple[str, str]] = (),
        query: Sequence[tuple[str, str]] = (),
        model: str = "",
        timeouts: Timeouts = ...,
        max_retries: int = 2,
    ) -> Call:
        """Starts a request with openai-python's retry rules (408/409/429/5xx, timeouts and
        connection errors; x-should-retry; retry-after-ms/retry-after within 60 s; otherwise
        min(0.5*2^n, 8)*(1-0.25*rand) s). Returns at once."""
    def pool_stats(self) -> dict[str, int]: ...
    def close(self) -> None: ...
    def abandon(self) -> None:
        """Forked child only: drops the engine without destroying it (its threads are gone)."""

class ConfigError(ValueError):
    """A bad config; ``path`` names the place in the document."""

    path: str

class Config:
    """A parsed router config (llmfailover schema; secrets redacted on output)."""

    groups: list[str]
    deployments: list[dict[str, Any]]
    warnings: list[str]
    fallbacks: dict[str, list[str]]
    context_window_fallbacks: dict[str, list[str]]
    content_policy_fallbacks: dict[str, list[str]]
    default_fallbacks: list[str]
    degraded_answer: Optional[str]
    stream_recovery: str
    routing_strategy: str
    def policy_for(self, group: str) -> dict[str, Any]: ...
    def to_json(self) -> str: ...

def parse_config(json_text: str, env: Optional[Mapping[str, str]] = None) -> Config:
    """Parse a config (llmfailover schema, or LiteLLM when it has model_list); raises ConfigError."""

class CacheSettings:
    """The groups' exact caches of a config (cpp/include/llmfailover/cache/cache_config.hpp)."""

    @property
    def groups(self) -> list[str]: ...

def parse_cache_config(json_text: str, env: Optional[Mapping[str, str]] = None) -> CacheSettings:
    """The `cache` objects of a config parse_config accepted; raises ConfigError."""

def max_json_depth() -> int: ...
def set_max_json_depth(depth: int) -> None: ...

class RoutedCall(Call):
    """A call through the Router. Attempt dicts (``served``, ``route_log``) have: attempt, group,
    target, deployment, provider, model, key_index, status, error, error_class, reason, message,
    decision (served, retry, retry_transparent, failover, next_group, context_window_fallback,
    content_policy_fallback, budget_exhausted, interrupted, give_up), started_ms, first_byte_ms,
    elapsed_ms, waited_ms, retry_after_ms. Successful heads carry x-llmfailover-target,
    -deployment, -model and -attempts headers."""

    @property
    def served(self) -> Optional[dict[str, Any]]: ...
    @property
    def route_log(self) -> list[dict[str, Any]]: ...
    @property
    def degraded(self) -> bool:
        """The answer is the config's degraded_answer."""
    @property
    def cache_hit(self) -> bool:
        """The answer came from the exact cache (no upstream attempt)."""

class Router:
    """The failover engine over a Config (see cpp/include/llmfailover/router.hpp).
    Raises ValueError for an inconsistent config (unknown groups in chains)."""

    def __init__(
        self,
        config: Config,
        *,
        io_threads: int = 1,
        verify: bool = True,
        ca_file: str = "",
        user_agent: str = ...,
        max_connections_per_origin: int = 256,
        cache: Optional[CacheSettings] = None,
    ) -> None: ...
    def send(
        self,
        model: str,
        *,
        method: str,
        path: str,
        body: Optional[bytes] = None,
        headers: Sequence[tuple[str, str]] = (),
        query: Sequence[tuple[str, str]] = (),
        stream: bool = False,
        fallbacks: Optional[Sequence[str]] = None,
        deadline: Optional[float] = None,
        first_token: Optional[float] = None,
        idle: Optional[float] = None,
        max_attempts: Optional[int] = None,
        cache: bool = True,
        cache_namespace: str = "",
    ) -> RoutedCall:
        """Starts a call to group `model` (times in seconds; max_attempts 1..5). Returns at once."""
    def has_group(self, name: str) -> bool: ...
    def snapshot(self) -> list[dict[str, Any]]:
        """Per target: target, group, deployment, model, provider, key_index, state, probe
        ("" without active probes, else "unknown", "healthy" or "unhealthy"), ramp_step, cooling
        (open for a 429's cooldown), share, failure_rate, slow_rate, in_flight, available_in_ms, and
        the balancing and quota fields (docs/balancing.md)."""
    def pool_stats(self) -> dict[str, int]: ...
    def drain_events(self) -> list[dict[str, Any]]:
        """Breaker state changes and active probe changes since the last drain: kind ("breaker" or
        "probe"), target, from, to, reason, time_ms."""
    def close(self) -> None: ...
    def abandon(self) -> None:
        """Forked child only: drops the router without destroying it (its threads are gone)."""
    @property
    def closed(self) -> bool: ...

# --- the fake provider (public wrapper: llmfailover.testing) ------------------------------------

class Fault:
    """One attempt's fault (times in seconds); llmfailover.testing.Fault builds these."""

    def __init__(
        self,
        *,
        status: int = 200,
        headers: Sequence[tuple[str, str]] = (),
        body: Union[str, bytes] = "",
        error_code: str = "",
        error_message: str = "",
        delay_before_headers: float = 0.0,
        action: str = "none",
        first_token_delay: float = 0.0,
        chunk_delay: float = 0.0,
        stall_after: int = -1,
        cut_after: int = -1,
        malformed_at: int = -1,
        error_event_at: int = -1,
        omit_done: bool = False,
        chunked: bool = True,
        content: Optional[str] = None,
    ) -> None: ...
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    error_code: str
    error_message: str
    delay_before_headers: float
    action: str
    first_token_delay: float
    chunk_delay: float
    stall_after: int
    cut_after: int
    malformed_at: int
    error_event_at: int
    omit_done: bool
    chunked: bool
    content: Optional[str]

class AttemptRecord:
    time: float
    model: str
    attempt: int
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    stream: bool
    request_id: str
    status: int
    outcome: str

class FakeProvider:
    """See cpp/include/llmfailover/testing/fake_provider.hpp."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 1,
        reply_words: int = 3,
        embedding_dimensions: int = 8,
        models: Optional[Sequence[str]] = None,
    ) -> None: ...
    @property
    def port(self) -> int: ...
    @property
    def root_url(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    def script(self, model: str, faults: Sequence[Fault]) -> None: ...
    def set_default(self, model: str, fault: Fault) -> None: ...
    def set_reply(self, model: str, content: str) -> None: ...
    def set_tool_call(self, model: str, name: str, arguments: str) -> None:
        """The model's chat answer becomes a call of tool `name` with `arguments` (JSON text of an
        object) in each dialect's shape; ValueError for an empty name or other JSON."""
    def outage(self, model: str, seconds: float, fault: Optional[Fault] = None) -> None: ...
    def attempts(self, model: Optional[str] = None) -> list[AttemptRecord]: ...
    def reset(self) -> None: ...
    def stop(self) -> None: ...
