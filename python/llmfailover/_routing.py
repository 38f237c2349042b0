"""The Python side of failover: the client's router handle, per-request overrides, route reports.

Every decision (which target, retry or fail over, when a stream commits) is taken by the native
``Router`` (``cpp/include/llmfailover/router.hpp``). This module only converts:

* ``RouterHandle``: the native router and who owns it (a config's, or a plain client's: one
  group of one deployment whose calls pass through, plain.hpp); ``send()`` turns a
  ``RequestSpec`` and its ``extra_body={"llmfailover": {...}}`` overrides into ``Router.send()``.
* ``RouteInfo`` / ``AttemptInfo``: the call's route log as values, attached to results
  (``._llmfailover``, ``route_info(obj)``) and to exceptions (``.route``).
* ``CallReport``: fires the client's callbacks (``on_attempt``, ``on_retry``, ``on_failover``,
  ``on_breaker``, ``on_degraded``) on the calling thread or loop once outcomes are known; a
  raising callback is logged (``logging``), never allowed to break the request.
* ``synthetic``: the events of an answer built in Python (a ``degraded=`` callable's answer,
  ``models.list()`` from the configured groups), so results are parsed by the usual code.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import json
import logging
import operator
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Optional

from . import _native, metrics
from ._fork import ForkSafe
from ._timeouts import seconds
from .cost import Cost, install_prices
from .errors import APIError, BadRequestError, TransportError, UnprocessableEntityError

__all__ = [
    "AttemptInfo",
    "RouteInfo",
    "route_info",
    "RouterHandle",
    "Hooks",
    "CallReport",
    "parse_overrides",
    "deadline_of",
    "synthetic_completion",
    "degraded_events",
    "synthetic_models",
    "unknown_model",
    "names_unknown_group",
    "FinishedCall",
    "attach",
    "captured_info",
]

_log = logging.getLogger("llmfailover")


@functools.lru_cache(maxsize=None)
def _decisions() -> tuple[Any, frozenset[Any], frozenset[Any]]:
    """``_core.Decision`` and the members that tell ``on_retry`` / ``on_failover`` (read on first use:
    ``import llmfailover`` works without the native module)."""
    d = _native.core().Decision
    retry = frozenset({d.retry, d.retry_transparent, d.retry_after})
    failover = frozenset(
        {
            d.failover,
            d.next_group,
            d.budget_exhausted,
            d.context_window_fallback,
            d.content_policy_fallback,
            d.recover,
            d.to_hedge,
        }
    )
    return d, retry, failover


def is_failover(decision: str) -> bool:
    """Whether an attempt's decision sent the call to another target or group."""
    return decision in _decisions()[2]


def _default_max_connections() -> int:
    """Connections open at once to one origin (scheme, host, port); further requests wait in FIFO
    order. Half the process's open-file limit (RLIMIT_NOFILE), within 256..4096: 512 under the
    common 1,024 limit, 4,096 when the limit is 8,192 or more (issue 14: 256 made 1,000 streams
    run in four waves)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 256
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(256, min(4096, soft // 2))


DEFAULT_MAX_CONNECTIONS = _default_max_connections()


@dataclass(frozen=True)
class AttemptInfo:
    """One attempt of a routed call, as the native route log records it (times in ms since the
    call started; ``first_byte_ms``/``retry_after_ms`` are -1 when absent).

    ``decision`` is what the router did next, a ``llmfailover._core.Decision`` member (a ``str``:
    ``a.decision == "failover"`` holds): served, retry, retry_transparent, retry_after, failover,
    next_group, context_window_fallback, content_policy_fallback, budget_exhausted, interrupted,
    recover (stream recovery), served_recovered, recovery_failed, give_up, cache_hit, or ""
    (``Decision.pending``) while the attempt runs; with hedging (``hedge`` in a group's policy):
    to_hedge (it failed while its hedge ran, which was taken), hedge_cancelled (the other attempt
    answered first) or hedge_failed (a hedge's error). ``error`` is an ``Errc`` member and
    ``error_class`` an ``ErrorClass`` member, both "" when absent.

    ``pick`` is how the target was chosen when not by the balancing strategy: "reused" (a target
    this call already tried, nothing else being available), "panic" (nothing available at all,
    ``balancer.fail_fast`` off) or "hedge" (a hedged request); "" for an ordinary pick.
    ``skipped`` lists the targets passed over for this attempt, "; "-joined, e.g.
    ``'a' shed: 1 in flight (max_concurrency)`` or ``'a' over its quota (...)``; "" when none.
    ``replayed`` is True when the transport re-sent the request once on a fresh connection because
    a pooled keep-alive connection closed without answering: the upstream may have seen it twice.
    """

    attempt: int
    group: str
    target: str
    deployment: str
    provider: str
    model: str
    key_index: int = 0
    status: int = 0
    error: str = ""
    error_class: str = ""
    reason: str = ""
    message: str = ""
    decision: str = ""
    started_ms: float = 0.0
    first_byte_ms: float = -1.0
    elapsed_ms: float = 0.0
    waited_ms: float = 0.0
    retry_after_ms: float = -1.0
    pick: str = ""
    skipped: str = ""
    replayed: bool = False

    @classmethod
    def from_native(cls, a: Any) -> "AttemptInfo":
        """From a native ``_core.Attempt`` (whose ``error`` and ``error_class`` are None when absent),
        or a mapping with some of the fields (an attempt built in Python)."""
        if isinstance(a, Mapping):
            return cls(**{f: a[f] for f in _ATTEMPT_FIELDS if f in a})
        values = dict(zip(_ATTEMPT_FIELDS, _read_attempt(a)))
        values["error"] = values["error"] or ""
        values["error_class"] = values["error_class"] or ""
        return cls(**values)

    def __str__(self) -> str:
        what = f"{self.status}" if self.status else (self.error or "-")
        why = f" {self.reason}" if self.reason and self.reason != self.error else ""
        how = f" [pick: {self.pick}]" if self.pick else ""
        how += f" [skipped: {self.skipped}]" if self.skipped else ""
        how += " [replayed on a fresh connection]" if self.replayed else ""
        head = f"#{self.attempt} {self.group}/{self.target} ({self.model})"
        return f"{head}: {what}{why} -> {self.decision or '...'}{how}"


_ATTEMPT_FIELDS = tuple(f.name for f in dataclasses.fields(AttemptInfo))
_read_attempt = operator.attrgetter(*_ATTEMPT_FIELDS)  # every field in one C-level call


@functools.lru_cache(maxsize=None)
def _record_reader(name: str) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """A bound record class's ``FIELDS`` and a getter of all of them at once."""
    fields: tuple[str, ...] = getattr(_native.core(), name).FIELDS
    return fields, operator.attrgetter(*fields)


@dataclass
class RouteInfo:
    """What a routed call did: the attempt that ``served`` the answer (None when none did or the
    answer is a degraded one), every attempt in order, whether the answer is ``degraded``, and
    whether it came from the exact cache (``cache_hit``: no upstream attempt; README "Caching")."""

    served: Optional[AttemptInfo]
    attempts: list[AttemptInfo] = field(default_factory=list)
    degraded: bool = False
    # What the answer cost (llmfailover.cost); complete once the call ended. A default_factory, so
    # the class has no `cost` attribute and a lazy RouteInfo's __getattr__ sees the first read.
    cost: Optional[Cost] = field(default_factory=lambda: None)

    @property
    def group(self) -> Optional[str]:
        """The group that served the answer (after fallbacks, not necessarily the one asked for)."""
        return self.served.group if self.served else None

    @property
    def cache_hit(self) -> bool:
        """The answer was replayed from the exact or the semantic cache: its one attempt is the cache's."""
        return self.served is not None and self.served.decision == _decisions()[0].cache_hit

    @property
    def cache_similarity(self) -> Optional[float]:
        """A semantic cache hit's cosine similarity to the stored prompt (``reason`` "semantic hit
        (0.97)"; _semantic.py), else None."""
        s = self.served
        if s is None or s.decision != _decisions()[0].cache_hit or not s.reason.startswith("semantic hit ("):
            return None
        return float(s.reason[len("semantic hit (") : -1])

    @classmethod
    def lazy(cls, source: Any, degraded: bool) -> "RouteInfo":
        """A RouteInfo built from ``source.info()`` on first use: a call whose report nobody reads
        pays nothing for it (issue 14: ~35 us per routed call went to building it)."""
        info = cls.__new__(cls)
        info.__dict__["_source"] = source
        info.degraded = degraded  # a class-level default: __getattr__ never sees it
        return info

    def __getattr__(self, name: str) -> Any:  # only for attributes not set yet: a lazy one's fields
        source = self.__dict__.pop("_source", None) if name in _ROUTE_FIELDS else None
        if source is None:
            raise AttributeError(name)
        # A CallReport (or anything with info()), or a native RouteCapture, whose flag self.degraded
        # already holds (with Python's degraded answer ORed in: captured_info).
        info = getattr(source, "info", None)
        full = info() if info is not None else _route_of(source, self.degraded)
        self.served, self.attempts, self.degraded, self.cost = full.served, full.attempts, full.degraded, full.cost
        return getattr(self, name)

    def __getstate__(self) -> dict[str, Any]:  # copies and pickles carry the fields, not the call
        return {f: getattr(self, f) for f in _ROUTE_FIELDS}

    def __str__(self) -> str:
        tail = (" [degraded]" if self.degraded else "") + (" [cache hit]" if self.cache_hit else "")
        return "; ".join(str(a) for a in self.attempts) + tail


_ROUTE_FIELDS = ("served", "attempts", "degraded", "cost")


def route_info(obj: Any) -> Optional[RouteInfo]:
    """The ``RouteInfo`` of a result, a stream, a raw response or an exception (None if unrouted)."""
    info = getattr(obj, "_llmfailover", None)
    if info is None and isinstance(obj, BaseException):
        info = getattr(obj, "route", None)
    return info if isinstance(info, RouteInfo) else None


def attach(obj: Any, info: Optional[RouteInfo]) -> Any:
    """Sets ``obj._llmfailover`` (pydantic models keep underscore attributes in ``__dict__``)."""
    if info is not None:
        try:
            object.__setattr__(obj, "_llmfailover", info)
        except (AttributeError, TypeError):  # a type without __dict__: nothing to attach to
            pass
    return obj


# --- requests ------------------------------------------------------------------------------

_OVERRIDES = {
    "fallbacks": "fallbacks",
    "timeout": "deadline",
    "first_token_timeout": "first_token",
    "idle_timeout": "idle",
    "max_attempts": "max_attempts",
    "tag": "tag",  # a user tag (a tenant, ...) the call's cost is totalled under (llmfailover.metrics)
    "cache": "cache",
}
MAX_TAG_LENGTH = 64


def parse_overrides(value: Any) -> dict[str, Any]:
    """``extra_body["llmfailover"]`` as ``Router.send()`` keyword arguments (the core checks ranges)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f'extra_body["llmfailover"] must be a dict, not {type(value).__name__}')
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = _OVERRIDES.get(key)
        if name is None:
            raise ValueError(f'unknown extra_body["llmfailover"] option {key!r}; known: {", ".join(_OVERRIDES)}')
        if item is None:
            continue
        if name == "fallbacks":
            if isinstance(item, str) or not all(isinstance(g, str) for g in item):
                raise TypeError('extra_body["llmfailover"]["fallbacks"] must be a list of group names')
            out[name] = list(item)
        elif name == "max_attempts":
            out[name] = int(item)
        elif name == "tag":
            if not isinstance(item, str) or not 0 < len(item) <= MAX_TAG_LENGTH:
                raise ValueError(
                    f'extra_body["llmfailover"]["tag"] must be a string of 1 to {MAX_TAG_LENGTH} characters'
                )
            out[name] = item
        elif name == "cache":
            if not isinstance(item, bool):
                raise TypeError(f'extra_body["llmfailover"]["cache"] must be True or False, not {item!r}')
            out[name] = item
        else:
            out[name] = seconds(item)
    return out


def cache_namespace(api_key: str) -> str:
    """The cache namespace of a caller's API key: answers cached for one key are never served to
    another (README "Caching"). A SHA-256 digest, so the key itself is never kept."""
    return "key:" + hashlib.sha256(api_key.encode()).hexdigest()


class _LastNamespace:
    """``cache_namespace()`` of the last key asked, remembered (a client sends the same key on
    every call: one digest per key, not per call). Only the most recent key is held, the one its
    client holds anyway; a different key (a rotating ``api_key`` callable) is digested anew. The
    key and its digest are replaced together (one tuple), so threads sharing a client never pair
    one key with another's digest."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: tuple[str, str] = ("", "")

    def __call__(self, api_key: str) -> str:
        if not api_key:
            return ""
        key, digest = self._last
        if key is api_key or (len(key) == len(api_key) and hmac.compare_digest(key, api_key)):
            return digest
        digest = cache_namespace(api_key)
        self._last = (api_key, digest)
        return digest


def deadline_of(timeout: Any) -> Optional[float]:
    """A call's ``timeout=`` (float or httpx-like ``Timeout``) as the router's deadline in seconds."""
    if timeout is None:
        return None
    if isinstance(timeout, (int, float)):
        return seconds(timeout)
    read = getattr(timeout, "read", None)
    return None if read is None else seconds(read)


class RouterHandle:
    """The native router and who owns it; ``close()`` is idempotent. Shared by client copies. A
    forked child that uses it gets a fresh router (``_fork``).

    ``config`` None: a plain client's router (``_core.Router.plain``, plain.hpp), whose calls
    (``router.send_plain``) carry their upstream and pass through; ``routed`` is False then."""

    def __init__(
        self,
        config: Any,
        *,
        io_threads: int,
        verify: bool,
        ca_file: Optional[str],
        max_connections_per_origin: int = DEFAULT_MAX_CONNECTIONS,
        proxy: Any = None,
    ) -> None:
        from .config import ConfigError, load_config

        self.closed = False
        self.semantic: Any = None  # the groups' semantic caches (_semantic.py), if any
        self.groups: frozenset[str] = frozenset()  # a config's group names (fixed for its router)
        self._namespace = _LastNamespace()
        # A config's router (False: a plain client's, whose calls pass through). A plain attribute,
        # not a property: read several times per call, and fixed for the handle's life.
        self.routed = config is not None
        if config is None:
            self.config: Any = None
            core = _native.core()
            options: dict[str, Any] = {
                "io_threads": io_threads,
                "verify": verify,
                "ca_file": ca_file or "",
                "max_connections_per_origin": max_connections_per_origin,
            }
            if proxy is not None:
                options["proxy"] = proxy
            self._native = ForkSafe(lambda: core.Router.plain(**options))
            return
        self.config = load_config(config)
        self.groups = frozenset(self.config.groups)
        native, core = self.config._native, _native.core()
        deployments = self.config.deployments
        try:
            self._native = ForkSafe(
                lambda: install_prices(  # the bundled price table (llmfailover.cost)
                    core.Router(
                        native,
                        io_threads=io_threads,
                        verify=verify,
                        ca_file=ca_file or "",
                        max_connections_per_origin=max_connections_per_origin,
                        **({} if proxy is None else {"proxy": proxy}),  # a deployment's own `proxy:` wins
                        cache=self.config._cache,
                    ),
                    deployments,
                )
            )
        except core.ConfigError as e:  # an inconsistent config the parser could not see (chains, ...)
            raise ConfigError(str(e), getattr(e, "path", "")) from None
        semantic = getattr(self.config._cache, "semantic", None)
        if semantic:
            from ._semantic import SemanticCache

            self.semantic = SemanticCache(semantic)
        metrics._track(self)  # read at each scrape (llmfailover.metrics)

    @property
    def router(self) -> Any:
        """The native Router (a fresh one, with fresh breakers, in a forked child)."""
        return self._native.get()

    def has_group(self, name: str) -> bool:
        """Whether ``name`` is one of the config's groups (``Router.has_group`` without the call
        into the native module: the groups of a router never change)."""
        return name in self.groups

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._native.close()

    def snapshot_rows(self) -> list[dict[str, Any]]:
        """``Router.snapshot()`` as dicts (the public ``router_snapshot()`` form), one key per
        ``_core.TargetSnapshot.FIELDS`` entry: the binding's field list is the only one."""
        fields, read = _record_reader("TargetSnapshot")
        return [dict(zip(fields, read(s))) for s in self.router.snapshot()]

    def send(
        self,
        spec: Any,
        headers: list[tuple[str, str]],
        query: list[tuple[str, str]],
        deadline: Optional[float],
        api_key: str = "",
    ) -> Any:
        if self.closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        if self.semantic is not None and self.semantic.covers(spec):
            return self.semantic.call(
                spec, lambda s, spent=0.0: self._send_native(s, headers, query, deadline, api_key, spent), api_key
            )
        return self._send_native(spec, headers, query, deadline, api_key)

    def _send_native(
        self,
        spec: Any,
        headers: list[tuple[str, str]],
        query: list[tuple[str, str]],
        deadline: Any,
        api_key: str,
        spent: float = 0.0,
    ) -> Any:
        # The exact cache's namespace: a digest of the caller's key, never the key.
        namespace = self._namespace(api_key) if api_key else ""
        # extra_body["llmfailover"] overrides, as keywords ("tag" also feeds the spend caps); its
        # timeout wins over the client's.
        options = spec.route or _NO_OPTIONS
        if "deadline" in options:
            options = dict(options)
            deadline = options.pop("deadline")
        if spent and deadline is not None:  # the semantic cache's embeddings call took `spent` of it
            deadline = max(0.001, deadline - spent)
        # The arguments every call has go by position (Router.send, bind_router.cpp: cheaper than
        # keywords, which the binding matches by name per call).
        router = self._native.get()
        if not options:
            return router.send(
                spec.model, spec.method, spec.path, spec.body, headers, query, spec.stream, deadline, namespace
            )
        return router.send(
            spec.model, spec.method, spec.path, spec.body, headers, query, spec.stream, deadline, namespace, **options
        )


_NO_OPTIONS: Mapping[str, Any] = MappingProxyType({})


# --- reports and callbacks -----------------------------------------------------------------


@dataclass(frozen=True)
class Hooks:
    """A client's callbacks (each optional). Called on the calling thread or event loop:

    ``on_attempt(attempt)`` once per attempt outcome (a stream's serving attempt again if the
    stream is later interrupted); ``on_retry(attempt)`` for an attempt retried on the same target;
    ``on_failover(attempt, next_attempt)`` when the next attempt went to another target or group;
    ``on_breaker(event)`` for breaker state changes and active health probe changes (dicts: kind
    "breaker" or "probe", target, from, to, reason, time_ms), drained after each call;
    ``on_degraded(route)`` when the answer is a degraded one.
    """

    on_attempt: Optional[Callable[[AttemptInfo], Any]] = None
    on_retry: Optional[Callable[[AttemptInfo], Any]] = None
    on_failover: Optional[Callable[[AttemptInfo, AttemptInfo], Any]] = None
    on_breaker: Optional[Callable[[dict[str, Any]], Any]] = None
    on_degraded: Optional[Callable[[RouteInfo], Any]] = None

    def __post_init__(self) -> None:
        for name, fn in self.as_kwargs().items():
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable, not {type(fn).__name__}")
        # Whether any callback is set: a plain attribute (read on every routed call).
        object.__setattr__(self, "any", any(fn is not None for fn in self.as_kwargs().values()))

    any: bool = field(init=False, repr=False, compare=False, default=False)

    def as_kwargs(self) -> dict[str, Any]:
        """The callbacks as client keyword arguments (for copies)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}


def _safe(name: str, fn: Optional[Callable[..., Any]], *args: Any) -> None:
    if fn is None:
        return
    try:
        fn(*args)
    except Exception:
        _log.exception("llmfailover: the %s callback raised; the request goes on", name)


class CallReport:
    """One routed call's report: its ``RouteInfo`` and the callbacks for outcomes not yet told."""

    __slots__ = ("_call", "_router", "_hooks", "_told", "_degraded_told", "degraded", "trace", "tag", "_ended")

    def __init__(self, call: Any, router: RouterHandle, hooks: Hooks) -> None:
        self._call = call
        self._router = router
        self._hooks = hooks
        self._told: Optional[set[tuple[int, str]]] = None  # made by the first flush(): most calls never flush
        self._degraded_told = False
        self.degraded = False  # set when Python built a degraded answer
        self.trace: Any = None  # the call's span (llmfailover.tracing), ended by end_trace()
        self.tag: Optional[tuple[str, str]] = None  # (group asked, extra_body["llmfailover"]["tag"])
        self._ended = False

    def info(self) -> RouteInfo:
        return _route_of(self._call, self.is_degraded())

    def is_degraded(self) -> bool:
        return bool(self._call.degraded) or self.degraded

    def result_info(self) -> RouteInfo:
        """The RouteInfo to attach to an answer: told to the callbacks now if the client has any,
        else built only when something reads it, from a copy of the route of a call that has
        ended (the answer then keeps no reference to the call, its request or the router)."""
        if self._hooks.any:
            return self.flush()
        info = captured_info(self._call, self.degraded)
        return RouteInfo.lazy(self, self.is_degraded()) if info is None else info

    def live_info(self) -> RouteInfo:
        """A RouteInfo read from the (possibly still running) call when first used."""
        return RouteInfo.lazy(self, self.is_degraded())

    def end_trace(self, info: Optional[RouteInfo], **outcome: Any) -> None:
        """The call ended: its span ends, if traced (``outcome``: error=, result=, stream=;
        tracing.py), and its cost is added to its tag's totals, if it has a tag."""
        if self.tag is not None and not self._ended and info is not None:
            self._ended = True
            metrics.add_tag_cost(*self.tag, info.cost, served=info.served is not None)
        if self.trace is not None:
            trace, self.trace = self.trace, None
            trace.end(info, **outcome)

    def flush(self) -> RouteInfo:
        """The current ``RouteInfo``, after telling the callbacks what they have not heard yet."""
        info = self.info()
        h = self._hooks
        attempts = info.attempts
        _, retry, failover = _decisions()
        told = self._told
        if told is None:
            told = self._told = set()
        for i, a in enumerate(attempts):
            if not a.decision or (a.attempt, a.decision) in told:
                continue
            told.add((a.attempt, a.decision))
            _safe("on_attempt", h.on_attempt, a)
            if a.decision in retry:
                _safe("on_retry", h.on_retry, a)
            elif a.decision in failover and i + 1 < len(attempts):
                _safe("on_failover", h.on_failover, a, attempts[i + 1])
        if not self._router.closed:
            events = self._router.router.drain_events()
            for event in events:
                _safe("on_breaker", h.on_breaker, event)
            if events and self.trace is not None:
                self.trace.breaker(events)
        if info.degraded and not self._degraded_told:
            self._degraded_told = True
            _safe("on_degraded", h.on_degraded, info)
        return info


def _route_of(native: Any, degraded: bool) -> RouteInfo:
    served = native.served
    return RouteInfo(
        served=None if served is None else AttemptInfo.from_native(served),
        attempts=[AttemptInfo.from_native(a) for a in native.route_log],
        degraded=degraded,
        cost=Cost.from_native(native.cost),
    )


def captured_info(call: Any, degraded: bool = False) -> Optional[RouteInfo]:
    """A lazy RouteInfo of an ended call, from a copy of its route (``RoutedCall.capture()``: the
    answer then keeps no reference to the call, its request or the router); None when ``call``
    has no route to copy (built in Python) or has not ended. ``degraded``: Python built the answer."""
    capture = getattr(call, "capture", None)
    if capture is None or not call.finished:
        return None
    route = capture()  # carries the call's degraded flag: one native call, not two
    degraded = bool(route.degraded) or degraded
    info = RouteInfo.__new__(RouteInfo)  # RouteInfo.lazy(), inline (once per routed answer)
    info.__dict__["_source"] = route  # read by __getattr__ with this degraded flag
    info.degraded = degraded
    return info


# --- answers built in Python ---------------------------------------------------------------


def synthetic_completion(text: str, model: str, *, stream: bool) -> list[Any]:
    """Call events for a chat answer with ``text`` (a degraded answer), as the engine yields them."""
    created = int(time.time())
    base = {"id": "llmfailover-degraded", "created": created, "model": model}
    head = (
        "head",
        200,
        [("content-type", "text/event-stream" if stream else "application/json"), ("x-llmfailover-degraded", "true")],
    )
    if not stream:
        message = {"role": "assistant", "content": text, "refusal": None}
        body = {
            **base,
            "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None, "message": message}],
        }
        return [head, ("body", _dumps(body)), ("end",)]

    def chunk(delta: dict[str, Any], finish: Optional[str]) -> tuple[str, str, bytes, str]:
        data = {
            **base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return ("sse", "", _dumps(data), "")

    return [
        head,
        chunk({"role": "assistant", "content": text}, None),
        chunk({}, "stop"),
        ("sse", "", b"[DONE]", ""),
        ("end",),
    ]


def synthetic_models(groups: list[str], name: Optional[str] = None) -> list[Any]:
    """Call events for ``GET /models`` (``name`` None) or ``GET /models/{name}`` from the groups."""

    def model(g: str) -> dict[str, Any]:
        return {"id": g, "object": "model", "created": 0, "owned_by": "llmfailover"}

    json_head = ("head", 200, [("content-type", "application/json")])
    if name is None:
        return [json_head, ("body", _dumps({"object": "list", "data": [model(g) for g in groups]})), ("end",)]
    if name in groups:
        return [json_head, ("body", _dumps(model(name))), ("end",)]
    return unknown_model(name, groups)


def unknown_model(name: str, groups: list[str]) -> list[Any]:
    """Call events of openai's answer to a model that does not exist (404 ``model_not_found``, so
    ``NotFoundError``), naming the configured groups: a routed call for a model that is no group
    fails before anything is sent, not as a connection error."""
    error = {
        "error": {
            "message": f"The model '{name}' does not exist: it is not a configured group ({', '.join(groups)})",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    return [("head", 404, [("content-type", "application/json")]), ("body", _dumps(error)), ("end",)]


def names_unknown_group(router: Any, model: Any, body: Any) -> bool:
    """``model`` is a string that is no group, and the body does not continue server-side state
    (``previous_response_id``, ``conversation``: the router pins those to the deployment that
    holds it, whatever the model says). ``router``: anything with ``has_group`` (the native Router
    or a ``RouterHandle``)."""
    if not isinstance(model, str) or router.has_group(model):
        return False
    return not (isinstance(body, dict) and (body.get("previous_response_id") or body.get("conversation")))


def degraded_events(
    fn: Optional[Callable[[Exception, dict[str, Any]], str]],
    router: Optional[RouterHandle],
    spec: Any,
    exc: APIError,
) -> Optional[list[Any]]:
    """The events of a ``degraded=`` callable's chat answer for a failed call, or None to raise
    ``exc``: not for a bad request, the caller's cancel or an unknown group (mistakes, not outages)."""
    if fn is None or router is None or router.closed or spec.path != "/chat/completions":
        return None
    if isinstance(exc, (BadRequestError, UnprocessableEntityError)) or getattr(exc, "status_code", 0) == 413:
        return None
    cause = exc.__cause__
    if isinstance(cause, TransportError) and cause.errc == _native.core().Errc.cancelled:
        return None
    if not router.router.has_group(spec.model):
        return None
    try:
        text = fn(exc, dict(spec.params or {}))
    except Exception:
        _log.exception("llmfailover: the degraded= callable raised; raising the call's error")
        return None
    if not isinstance(text, str):
        _log.error(
            "llmfailover: the degraded= callable returned %s, not str; raising the call's error", type(text).__name__
        )
        return None
    return synthetic_completion(text, spec.model, stream=spec.stream)


class FinishedCall:
    """Stands in for a native call whose events were all built in Python (``synthetic_*``)."""

    finished = True
    retries_taken = 0

    def __init__(self, events: list[Any]) -> None:
        self._events = events

    def poll(self) -> list[Any]:
        events, self._events = self._events, []
        return events

    def wait(self, timeout: Optional[float] = None, until_end: bool = False) -> list[Any]:
        return self.poll()

    def cancel(self) -> None:
        self._events = []

    def set_notify(self, notifier: Any, token: int) -> None:
        pass  # every event is already here: the first poll() takes them


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()
