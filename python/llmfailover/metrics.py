"""Metrics of the failover router, for Prometheus and OpenTelemetry.

Counted natively (cpp/include/llmfailover/metrics.hpp: atomic counters and fixed-bucket
histograms, updated by the router at each attempt's end and each call's end, nothing in Python
on the request path); read when scraped:

    from llmfailover import metrics
    metrics.register()              # a prometheus_client collector on the default registry
    metrics.start_http_server(9464) # or serve /metrics yourself (prometheus_client)
    metrics.instrument_otel()       # OpenTelemetry observable instruments (opentelemetry-api)

Every live client built with ``config=`` is read (clients sharing a router once). Series with
the same labels from several routers are added up (a breaker state: the worst one). Names:

    llmfailover_requests_total{group,outcome}          outcome: ok, error, degraded, cancelled
    llmfailover_attempts_total{<target>,error_class}   error_class "none" = the attempt succeeded
    llmfailover_retries_total / _failovers_total / _stream_recoveries_total /
      _budget_exhausted_total / _hedges_total{group}
    llmfailover_breaker_state{<target>,state}          1 for the state it is in, else 0
    llmfailover_breaker_transitions_total{<target>,state}
    llmfailover_retry_budget_left{group}               retries the group's budget allows now
    llmfailover_quota_requests_left / _tokens_left{<target>}   (deployments with rpm / tpm only)
    llmfailover_in_flight{<target>}
    llmfailover_target_share{<target>}                 health share: 0 open, the ramp's steps, 1 closed
    llmfailover_ramp_step{<target>}                    the ramp's step (0 = 5%), -1 when not ramping
    llmfailover_cost_usd_total{<target>}               priced answers (llmfailover.cost)
    llmfailover_waste_usd_total{<target>}              billed attempts whose answer was not used
    llmfailover_unpriced_answers_total{<target>}       answers whose price is unknown
    llmfailover_tokens_total{<target>,type}            input, output, cached, reasoning
    llmfailover_cache_hits_total / _misses_total{group,backend}   exact cache lookups (groups with a cache)
    llmfailover_budget_spend_usd / _limit_usd / _unpriced_calls{scope,name,period}   spend caps (README
                                                       "Budgets"): this period's spend, the cap, calls of unknown price
    llmfailover_state_fallback_total                   `state: redis` fell back to local state (per outage)
    llmfailover_attempt_duration_seconds{<target>}     to the attempt's outcome (a stream's first token)
    llmfailover_time_to_first_token_seconds{<target>}  served attempts
    gen_ai_client_operation_duration_seconds{group,outcome}
    gen_ai_client_token_usage{<target>,gen_ai_token_type}
    llmfailover_semantic_cache_total{group,outcome}    hit, miss, stored, skipped_tools,
                                                       skipped_embeddings, opt_out (README "Caching")
    llmfailover_semantic_cache_entries{group}          answers the semantic cache keeps
    llmfailover_tag_requests_total / _tag_cost_usd_total / _tag_waste_usd_total{group,tag}
                                                       calls with extra_body={"llmfailover": {"tag": ...}}

``<target>`` is group, deployment, provider, model, key ("key0", "key1": an index, never the
key). Labels come from the config, so their number is bounded by it; past ``MAX_SERIES`` label
sets per metric the rest are added up under "other". prometheus_client escapes label values.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import Any, Callable, Optional

__all__ = [
    "register",
    "unregister",
    "start_http_server",
    "snapshots",
    "collect",
    "instrument_otel",
    "tag_totals",
    "MAX_SERIES",
    "MAX_TAGS",
]

MAX_SERIES = 1000  # label sets per metric; more are added up as "other"
MAX_TAGS = 1000  # (group, tag) pairs totalled; more are added up under tag "other"

_routers: "weakref.WeakSet[Any]" = weakref.WeakSet()
_lock = threading.Lock()
_TARGET = ("group", "deployment", "provider", "model", "key")
_BUDGET = ("scope", "name", "period")


def _track(handle: Any) -> None:
    """Called by each RouterHandle (``_routing.py``): its router is read at every scrape."""
    with _lock:
        _routers.add(handle)


# User tags (extra_body={"llmfailover": {"tag": "tenant-a"}}): totalled in Python when a tagged
# call ends (the native counters have no tag), per process. (group, tag) -> [calls, priced USD,
# unpriced calls, waste USD].
_tags: dict[tuple[str, str], list[float]] = {}


def add_tag_cost(group: str, tag: str, cost: Any, *, served: bool) -> None:
    """Adds a tagged call's cost (a ``llmfailover.cost.Cost`` or None) to its tag's totals;
    ``served``: an upstream answered (an answer whose price is unknown counts as unpriced)."""
    with _lock:
        key = (group, tag)
        if key not in _tags and len(_tags) >= MAX_TAGS:
            key = (group, "other")
        row = _tags.setdefault(key, [0, 0.0, 0, 0.0])
        row[0] += 1
        if cost is not None and cost.usd is not None:
            row[1] += cost.usd
        elif served:
            row[2] += 1
        row[3] += getattr(cost, "waste_usd", 0.0) or 0.0


def tag_totals() -> dict[tuple[str, str], dict[str, float]]:
    """Totals per (group, tag) since the process started: calls, cost_usd, unpriced, waste_usd."""
    with _lock:
        return {k: dict(zip(("calls", "cost_usd", "unpriced", "waste_usd"), v)) for k, v in _tags.items()}


def snapshots() -> list[Any]:
    """The native ``MetricsSnapshot`` of every live router."""
    return [snap for snap, _ in _read_routers(targets=False)]


def _read_routers(targets: bool = True) -> list[tuple[Any, list[dict[str, Any]]]]:
    with _lock:
        handles = list(_routers)
    out = []
    for h in handles:
        if not h.closed:
            try:
                router = h.router
                out.append((router.metrics(), list(router.snapshot()) if targets else []))
            except (RuntimeError, ValueError):  # closed meanwhile
                pass
    return out


class _Family:
    """One metric's samples by label values, added up across routers, bounded by MAX_SERIES."""

    def __init__(
        self, kind: str, name: str, doc: str, labels: tuple[str, ...], merge: Optional[Callable[..., Any]] = None
    ):
        self.kind, self.name, self.doc, self.labels = kind, name, doc, labels
        self.values: dict[tuple[str, ...], Any] = {}
        self.merge = merge or (lambda a, b: a + b)

    def add(self, labels: tuple[str, ...], value: Any) -> None:
        if labels not in self.values and len(self.values) >= MAX_SERIES:
            labels = ("other",) * len(labels)
        old = self.values.get(labels)
        self.values[labels] = value if old is None else self.merge(old, value)


def _hist_merge(a: tuple[list[int], float, list[float]], b: tuple[list[int], float, list[float]]) -> Any:
    return [x + y for x, y in zip(a[0], b[0])], a[1] + b[1], a[2]


def _hist(h: Any) -> tuple[list[int], float, list[float]]:
    return list(h.buckets), h.sum, list(h.bounds)


def collect() -> list[_Family]:
    """Every metric of every live router, as families of samples (what the exporters read)."""
    from . import _native

    core = _native.core()
    classes, outcomes, states = core.ERROR_CLASSES, core.CALL_OUTCOMES, core.BREAKER_STATES
    f: dict[str, _Family] = {}

    def fam(kind: str, name: str, doc: str, labels: tuple[str, ...], merge: Any = None) -> _Family:
        if name not in f:
            f[name] = _Family(kind, name, doc, labels, merge)
        return f[name]

    group_counters = {
        "retries": "Attempts retried on the same target",
        "failovers": "Attempts followed by another target or group",
        "stream_recoveries": "Streams cut after their first token and continued elsewhere",
        "budget_exhausted": "Retries the retry budget refused",
        "hedges": "Hedged requests sent (a second attempt raced against a slow first one)",
    }
    for snap, targets in _read_routers():
        for t in targets:  # the router's own snapshot: health share (breaker and ramp), ramp step
            key = (t["group"], t["deployment"], t["provider"], t["model"], f"key{t['key_index']}")
            fam(
                "gauge", "llmfailover_target_share", "Health share now: 0 open, ramp steps, 1 closed", _TARGET, min
            ).add(key, t["share"])
            fam("gauge", "llmfailover_ramp_step", "The ramp's step (0 = 5%); -1 not ramping", _TARGET, max).add(
                key, t["ramp_step"]
            )
        fam("counter", "llmfailover_state_fallback", "Times shared state (Redis) fell back to local state", ()).add(
            (), snap.state_fallbacks
        )
        for g in snap.groups:
            for outcome, n in zip(outcomes, g.requests):
                fam("counter", "llmfailover_requests", "Routed calls by outcome", ("group", "outcome")).add(
                    (g.group, outcome), n
                )
            for attr, doc in group_counters.items():
                fam("counter", f"llmfailover_{attr}", doc, ("group",)).add((g.group,), getattr(g, attr))
            if g.retry_budget_left >= 0:
                fam("gauge", "llmfailover_retry_budget_left", "Retries the budget allows now", ("group",), min).add(
                    (g.group,), g.retry_budget_left
                )
            for outcome, h in zip(outcomes, g.duration):
                fam(
                    "histogram",
                    "gen_ai_client_operation_duration_seconds",
                    "GenAI operation duration (a routed call, every attempt included)",
                    ("group", "outcome"),
                    _hist_merge,
                ).add((g.group, outcome), _hist(h))
        for c in snap.cache:  # the exact cache in front of the router (groups with a cache only)
            fam("counter", "llmfailover_cache_hits", "Exact cache hits (replayed)", ("group", "backend")).add(
                (c.group, c.backend), c.hits
            )
            fam("counter", "llmfailover_cache_misses", "Exact cache misses (routed)", ("group", "backend")).add(
                (c.group, c.backend), c.misses
            )
        for b in snap.budgets:  # the config's budgets: (README "Budgets"), in their current period
            bkey = (b.scope, b.name, b.period)
            fam("gauge", "llmfailover_budget_spend_usd", "Spend this period, USD", _BUDGET).add(bkey, b.spent_usd)
            fam("gauge", "llmfailover_budget_limit_usd", "Spend cap per period, USD", _BUDGET, max).add(
                bkey, b.limit_usd
            )
            fam("gauge", "llmfailover_budget_unpriced_calls", "Calls this period of unknown price", _BUDGET).add(
                bkey, b.unpriced
            )
        for t in snap.targets:
            lab = t.labels
            key = (lab.group, lab.deployment, lab.provider, lab.model, lab.key)
            for cls, n in zip(classes, t.attempts):
                fam(
                    "counter",
                    "llmfailover_attempts",
                    "Attempts by error class (none: succeeded)",
                    _TARGET + ("error_class",),
                ).add(key + (cls,), n)
            for state, n in zip(states, t.transitions):
                fam(
                    "counter",
                    "llmfailover_breaker_transitions",
                    "Breaker state changes by the state entered",
                    _TARGET + ("state",),
                ).add(key + (state,), n)
                fam(
                    "gauge", "llmfailover_breaker_state", "1 for the breaker's state now", _TARGET + ("state",), max
                ).add(key + (state,), 1.0 if t.state == state else 0.0)
            fam("gauge", "llmfailover_in_flight", "Attempts in flight", _TARGET).add(key, t.in_flight)
            if t.requests_left >= 0:
                fam("gauge", "llmfailover_quota_requests_left", "Requests left in the rpm window", _TARGET, min).add(
                    key, t.requests_left
                )
            if t.tokens_left >= 0:
                fam("gauge", "llmfailover_quota_tokens_left", "Tokens left in the tpm window", _TARGET, min).add(
                    key, t.tokens_left
                )
            fam("counter", "llmfailover_cost_usd", "Cost of the answers served, USD", _TARGET).add(key, t.cost_usd)
            fam("counter", "llmfailover_waste_usd", "Billed attempts whose answer was not used, USD", _TARGET).add(
                key, t.waste_usd
            )
            fam("counter", "llmfailover_unpriced_answers", "Answers served with no known price", _TARGET).add(
                key, t.unpriced
            )
            for kind in ("input", "output", "cached", "reasoning"):
                fam("counter", "llmfailover_tokens", "Tokens of the answers served", _TARGET + ("type",)).add(
                    key + (kind,), getattr(t, f"tokens_{kind}")
                )
            for name, h, doc in (
                ("llmfailover_attempt_duration_seconds", t.attempt_duration, "Attempt duration to its outcome"),
                ("llmfailover_time_to_first_token_seconds", t.time_to_first_token, "Time to first token (served)"),
            ):
                fam("histogram", name, doc, _TARGET, _hist_merge).add(key, _hist(h))
            for kind, h in (("input", t.input_tokens), ("output", t.output_tokens)):
                fam(
                    "histogram",
                    "gen_ai_client_token_usage",
                    "GenAI tokens per answer",
                    _TARGET + ("gen_ai_token_type",),
                    _hist_merge,
                ).add(key + (kind,), _hist(h))
    for (group, tag), t in tag_totals().items():
        fam("counter", "llmfailover_tag_requests", "Tagged calls ended", ("group", "tag")).add((group, tag), t["calls"])
        fam("counter", "llmfailover_tag_cost_usd", "Cost of tagged calls, USD", ("group", "tag")).add(
            (group, tag), t["cost_usd"]
        )
        fam("counter", "llmfailover_tag_waste_usd", "Waste of tagged calls, USD", ("group", "tag")).add(
            (group, tag), t["waste_usd"]
        )
    with _lock:
        handles = list(_routers)
    for h in handles:  # the semantic caches' outcomes, counted in Python (_semantic.py)
        semantic = None if h.closed else getattr(h, "semantic", None)
        for group, counts in ({} if semantic is None else semantic.stats()).items():
            for outcome, n in counts.items():
                if outcome == "entries":
                    doc = "Answers the semantic cache keeps"
                    fam("gauge", "llmfailover_semantic_cache_entries", doc, ("group",)).add((group,), n)
                else:
                    doc = "Semantic cache calls by outcome"
                    fam("counter", "llmfailover_semantic_cache", doc, ("group", "outcome")).add((group, outcome), n)
    return list(f.values())


# --- Prometheus ----------------------------------------------------------------------------


class Collector:
    """A prometheus_client custom collector over every live router (``register()`` adds one)."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        for fam in collect():
            if fam.kind == "counter":
                m: Any = CounterMetricFamily(fam.name, fam.doc, labels=fam.labels)
                for labels, v in fam.values.items():
                    m.add_metric(labels, v)
            elif fam.kind == "gauge":
                m = GaugeMetricFamily(fam.name, fam.doc, labels=fam.labels)
                for labels, v in fam.values.items():
                    m.add_metric(labels, v)
            else:
                m = HistogramMetricFamily(fam.name, fam.doc, labels=fam.labels)
                for labels, (buckets, total, bounds) in fam.values.items():
                    cumulative, running = [], 0
                    for le, n in zip([*map(_le, bounds), "+Inf"], buckets):
                        running += n
                        cumulative.append((le, running))
                    m.add_metric(labels, cumulative, total)
            yield m

    def describe(self) -> list[Any]:
        return []  # unchecked collector: names are not registered ahead (they depend on the routers)


def _le(bound: float) -> str:
    return repr(float(bound))


_registered: dict[int, Collector] = {}


def register(registry: Any = None) -> Collector:
    """Adds the collector to ``registry`` (prometheus_client's default REGISTRY when None), once."""
    if registry is None:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    with _lock:
        existing = _registered.get(id(registry))
        if existing is not None:
            return existing
        collector = _registered[id(registry)] = Collector()
    registry.register(collector)
    return collector


def unregister(registry: Any = None) -> None:
    """Removes the collector ``register()`` added to ``registry``."""
    if registry is None:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    with _lock:
        collector = _registered.pop(id(registry), None)
    if collector is not None:
        registry.unregister(collector)


def start_http_server(port: int, addr: str = "0.0.0.0", registry: Any = None) -> tuple[Any, Any]:
    """Registers the collector and serves ``/metrics`` on ``port`` (prometheus_client's server,
    a daemon thread; port 0 picks a free one: ``server.server_port``). Returns (server, thread)."""
    import prometheus_client

    if registry is None:
        registry = prometheus_client.REGISTRY
    register(registry)
    return prometheus_client.start_http_server(port, addr=addr, registry=registry)  # type: ignore[no-any-return]


# --- OpenTelemetry -------------------------------------------------------------------------


def instrument_otel(meter_provider: Any = None) -> list[Any]:
    """Observable OpenTelemetry instruments over every live router (opentelemetry-api), read at
    each collection: counters llmfailover.requests, .attempts, .failovers, .retries, .cost (USD),
    gauge llmfailover.breaker.state, counter llmfailover.tokens. The API has no observable
    histogram: the GenAI histograms (gen_ai.client.operation.duration, gen_ai.client.token.usage)
    are recorded per call by ``llmfailover.tracing.enable(meter_provider=...)``. Returns the instruments."""
    from opentelemetry import metrics as otel_metrics

    meter = (meter_provider or otel_metrics.get_meter_provider()).get_meter("llmfailover")

    def observe(name: str, attrs: tuple[str, ...]) -> Callable[[Any], Any]:
        def callback(options: Any) -> Any:
            for fam in collect():
                if fam.name == name:
                    for labels, v in fam.values.items():
                        yield otel_metrics.Observation(v, dict(zip(attrs, labels)))

        return callback

    def tgt(*extra: str) -> tuple[str, ...]:
        return (
            "llmfailover.group",
            "llmfailover.deployment",
            "gen_ai.system",
            "gen_ai.request.model",
            "llmfailover.key",
        ) + extra

    return [
        meter.create_observable_counter(
            "llmfailover.requests", [observe("llmfailover_requests", ("llmfailover.group", "llmfailover.outcome"))]
        ),
        meter.create_observable_counter("llmfailover.attempts", [observe("llmfailover_attempts", tgt("error.type"))]),
        meter.create_observable_counter(
            "llmfailover.failovers", [observe("llmfailover_failovers", ("llmfailover.group",))]
        ),
        meter.create_observable_counter(
            "llmfailover.retries", [observe("llmfailover_retries", ("llmfailover.group",))]
        ),
        meter.create_observable_counter("llmfailover.cost", [observe("llmfailover_cost_usd", tgt())], unit="USD"),
        meter.create_observable_gauge(
            "llmfailover.breaker.state", [observe("llmfailover_breaker_state", tgt("llmfailover.state"))]
        ),
        meter.create_observable_counter(
            "llmfailover.tokens", [observe("llmfailover_tokens", tgt("gen_ai.token.type"))], unit="{token}"
        ),
    ]
