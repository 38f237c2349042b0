"""Failover end to end: ``OpenAI(config=...)`` against the fake provider, one test per fault.

Each test asserts conduct from both sides: what the provider saw (``fp.attempts()``: which model,
when, what it did) and what the router says it did (the route log on the result or the error).
Shared helpers (``make_config``, ``ask``, ...) are imported by the stream and async suites.

Config: group "smart" = primary "a" (model m-a, weight 1e6 so it is picked first) + secondary
"b" (m-b); group "backup" = "c" (m-c); group "solo" = "s" (m-s). Short limits (first token 0.3 s,
idle 0.4 s, deadline 3 s) and small backoff (10 ms base, 50 ms cap) keep the suite fast.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import llmfailover
import pytest
from llmfailover import (
    APIConnectionError,
    APITimeoutError,
    AttemptInfo,
    BadRequestError,
    InternalServerError,
    NoTargetAvailable,
    OpenAI,
    RateLimitError,
    RouteInfo,
    route_info,
)
from llmfailover.testing import FakeProvider, Fault

MESSAGES = [{"role": "user", "content": "Hi"}]
POLICY: dict[str, Any] = {
    "timeouts": {"first_token": "300ms", "idle": "400ms", "deadline": "3s"},
    "retry": {"backoff_base": "10ms", "backoff_cap": "50ms"},
}


def policy(**changes: Any) -> dict[str, Any]:
    """POLICY with some sections replaced or extended (section -> dict, merged)."""
    out = {k: dict(v) for k, v in POLICY.items()}
    for section, values in changes.items():
        out.setdefault(section, {}).update(values)
    return out


def make_config(fp: FakeProvider, pol: Optional[dict[str, Any]] = None, **top: Any) -> dict[str, Any]:
    pol = pol or POLICY

    def dep(id_: str, model: str, **kw: Any) -> dict[str, Any]:
        return {"id": id_, "model": model, "base_url": fp.base_url, "api_key": f"key-{id_}", **kw}

    return {
        "groups": {
            "smart": {
                "deployments": [dep("a", "m-a", weight=1e6, priority=0), dep("b", "m-b", priority=1)],
                "policy": pol,
            },
            "backup": {"deployments": [dep("c", "m-c")], "policy": pol},
            "solo": {"deployments": [dep("s", "m-s")], "policy": pol},
        },
        **top,
    }


def ask(client: Any, model: str = "smart", **kw: Any) -> Any:
    return client.chat.completions.create(model=model, messages=MESSAGES, **kw)


def outcomes(fp: FakeProvider, model: Optional[str] = None) -> list[Any]:
    if model is None:
        return [(a.model, a.outcome) for a in fp.attempts()]
    return [a.outcome for a in fp.attempts(model)]


def decisions(route: Optional[RouteInfo]) -> list[tuple[str, str]]:
    assert route is not None
    return [(a.target, a.decision) for a in route.attempts]


def healthy(client: Any, model: str = "smart") -> Any:
    """A call right after a fault: it must succeed (from whichever target is healthy)."""
    result = ask(client, model)
    assert result.choices[0].message.content.startswith("Hello from m-")
    return result


def state(client: Any, target: str) -> dict[str, Any]:
    return next(s for s in client.router_snapshot() if s["target"] == target)


@pytest.fixture
def client(fp: FakeProvider) -> Iterator[OpenAI]:
    with OpenAI(config=make_config(fp)) as c:
        yield c


# --- the client surface --------------------------------------------------------------------


def test_config_client_needs_no_key_and_reports_the_serving_model(client: OpenAI, fp: FakeProvider) -> None:
    result = ask(client)
    assert result.choices[0].message.content == "Hello from m-a."
    info = route_info(result)
    assert info is result._llmfailover and isinstance(info, RouteInfo)
    assert info.served is not None and isinstance(info.served, AttemptInfo)
    assert (info.served.target, info.served.deployment, info.served.model, info.served.provider, info.group) == (
        "a",
        "a",
        "m-a",
        "openai",
        "smart",
    )
    assert decisions(info) == [("a", "served")] and not info.degraded
    (seen,) = fp.attempts("m-a")
    assert seen.json()["model"] == "m-a"  # the group name is rewritten per deployment
    assert seen.header("authorization") == "Bearer key-a"


@pytest.mark.parametrize("form", ["dict", "json_path", "config"])
def test_config_forms(fp: FakeProvider, tmp_path: Path, form: str) -> None:
    data = make_config(fp)
    source: Any = data
    if form == "json_path":
        source = tmp_path / "router.json"
        source.write_text(json.dumps(data))
    elif form == "config":
        source = llmfailover.load_config(data)
    with OpenAI(config=source) as c:
        assert healthy(c, "solo")._llmfailover.served.model == "m-s"


def test_inconsistent_config_raises_config_error(fp: FakeProvider) -> None:
    with pytest.raises(llmfailover.ConfigError, match="nowhere"):
        OpenAI(config=make_config(fp, fallbacks={"smart": ["nowhere"]}))


def test_unknown_group_is_openais_not_found_naming_the_groups(client: OpenAI, fp: FakeProvider) -> None:
    # What openai answers for a model that does not exist (404 model_not_found), not a connection
    # error: a wrong name is not an outage. Nothing is sent.
    with pytest.raises(llmfailover.NotFoundError, match="model 'gpt-5' does not exist") as err:
        ask(client, "gpt-5")
    assert "smart, backup, solo" in str(err.value) and not isinstance(err.value, APIConnectionError)
    assert fp.attempts() == []


def test_with_options_shares_the_router_and_only_the_owner_closes(fp: FakeProvider) -> None:
    owner = OpenAI(config=make_config(fp))
    copy = owner.with_options(timeout=2.0, max_retries=0)
    assert copy._engine is owner._engine
    assert healthy(copy)._llmfailover.served.target == "a"
    copy.close()
    assert healthy(owner)
    owner.close()
    with pytest.raises(RuntimeError, match="closed"):
        ask(copy)


def test_models_list_and_retrieve_are_the_groups(client: OpenAI, fp: FakeProvider) -> None:
    assert [m.id for m in client.models.list()] == ["smart", "backup", "solo"]
    assert client.models.retrieve("backup").id == "backup"
    with pytest.raises(llmfailover.NotFoundError):
        client.models.retrieve("gpt-5")
    assert fp.attempts() == []  # no upstream call


def test_embeddings_are_routed_by_model(client: OpenAI, fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.status(503)])
    result = client.embeddings.create(model="smart", input="text")
    assert len(result.data[0].embedding) == 8
    assert decisions(route_info(result)) == [("a", "failover"), ("b", "served")]
    assert [a.target for a in fp.attempts()] == ["/v1/embeddings"] * 2


def test_raw_response_headers_name_the_target(client: OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="smart", messages=MESSAGES)
    assert raw.headers["x-llmfailover-target"] == "a"
    assert raw.headers["x-llmfailover-deployment"] == "a"
    assert raw.headers["x-llmfailover-model"] == "m-a"
    assert raw.headers["x-llmfailover-attempts"] == "1"
    assert route_info(raw) is not None and route_info(raw.parse()).served.model == "m-a"  # type: ignore[union-attr]


# --- per-request overrides -----------------------------------------------------------------


def test_overrides_are_not_sent_and_max_attempts_applies(client: OpenAI, fp: FakeProvider) -> None:
    fp.script("m-s", [Fault.status(503), Fault.ok()])
    with pytest.raises(InternalServerError) as err:
        ask(client, "solo", extra_body={"llmfailover": {"max_attempts": 1}, "seed": 7})
    assert decisions(err.value.route) == [("s", "give_up")]
    body = fp.attempts("m-s")[0].json()
    assert "llmfailover" not in body and body["seed"] == 7
    assert healthy(client, "solo")


def test_override_fallbacks_and_bad_overrides(client: OpenAI, fp: FakeProvider) -> None:
    fp.set_default("m-s", Fault.status(503))
    result = ask(client, "solo", extra_body={"llmfailover": {"fallbacks": ["backup"], "max_attempts": 1}})
    assert decisions(route_info(result)) == [("s", "next_group"), ("c", "served")]
    with pytest.raises(ValueError, match="unknown .* option 'retries'"):
        ask(client, extra_body={"llmfailover": {"retries": 2}})
    with pytest.raises(ValueError, match="max_attempts"):
        ask(client, extra_body={"llmfailover": {"max_attempts": 9}})


def test_first_token_override(client: OpenAI, fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.slow_headers(0.25)])
    started = time.monotonic()
    result = ask(client, extra_body={"llmfailover": {"first_token_timeout": 0.1}})
    assert time.monotonic() - started < 0.25
    assert decisions(route_info(result)) == [("a", "failover"), ("b", "served")]


# --- one test per fault --------------------------------------------------------------------


def test_429_cools_the_primary_down_until_its_reset(fp: FakeProvider) -> None:
    events: list[dict[str, Any]] = []
    client = OpenAI(config=make_config(fp), on_breaker=events.append)
    fp.script("m-a", [Fault.rate_limited(retry_after=None, retry_after_ms=300)])
    result = ask(client)
    assert result.choices[0].message.content == "Hello from m-b."
    route = route_info(result)
    assert decisions(route) == [("a", "failover"), ("b", "served")]
    first = route.attempts[0]  # type: ignore[union-attr]
    assert first.reason == "rate_limited" and first.retry_after_ms == 300
    assert [(e["target"], e["to"]) for e in events] == [("a", "open")]
    assert 0 < state(client, "a")["available_in_ms"] <= 300
    for _ in range(3):  # cooling down: skipped, no waiting
        assert route_info(healthy(client)).served.target == "b"  # type: ignore[union-attr]
    assert outcomes(fp, "m-a") == ["status:429"]
    time.sleep(0.35)
    assert route_info(healthy(client)).served.target == "a"  # type: ignore[union-attr]
    first, again = fp.attempts("m-a")
    assert again.time - first.time >= 0.3  # the hint is honoured
    client.close()


@pytest.mark.parametrize("status", [500, 503, 529])
def test_5xx_fails_over_to_the_secondary(client: OpenAI, fp: FakeProvider, status: int) -> None:
    fp.script("m-a", [Fault.status(status)])
    result = ask(client)
    route = route_info(result)
    assert result.choices[0].message.content == "Hello from m-b."
    assert decisions(route) == [("a", "failover"), ("b", "served")]
    first = route.attempts[0]  # type: ignore[union-attr]
    assert (first.status, first.error_class) == (status, "retryable")
    assert first.reason == ("overloaded" if status == 529 else "server_error")
    assert outcomes(fp) == [("m-a", f"status:{status}"), ("m-b", "ok")]
    assert route_info(healthy(client)).served.target == "a"  # type: ignore[union-attr]


def test_breaker_counts_failures_and_opens(fp: FakeProvider) -> None:
    events: list[dict[str, Any]] = []
    pol = policy(breaker={"consecutive_failures": 2, "open_base": "10s"})
    client = OpenAI(config=make_config(fp, pol), on_breaker=events.append)
    fp.set_default("m-a", Fault.status(500))
    fp.script("m-b", [Fault.ok()] * 10)
    for _ in range(2):
        assert route_info(healthy(client)).served.target == "b"  # type: ignore[union-attr]
    assert [(e["target"], e["from"], e["to"]) for e in events] == [("a", "closed", "open")]
    assert state(client, "a")["state"] == "open" and state(client, "a")["share"] == 0
    healthy(client)
    assert outcomes(fp, "m-a") == ["status:500", "status:500"]  # open: not tried again
    client.close()


@pytest.mark.parametrize("fault", ["reset", "close"])
def test_reset_and_close_are_retried(client: OpenAI, fp: FakeProvider, fault: str) -> None:
    fp.script("m-s", [getattr(Fault, fault)(), Fault.ok()])
    result = ask(client, "solo")
    route = route_info(result)
    assert outcomes(fp, "m-s") == [fault, "ok"]
    first = route.attempts[0]  # type: ignore[union-attr]
    assert first.error == {"reset": "connection_reset", "close": "connection_closed"}[fault]
    assert first.error_class in ("transparent", "retryable")
    assert first.decision in ("retry", "retry_transparent")
    assert route.served.target == "s"  # type: ignore[union-attr]
    assert healthy(client, "solo")


def test_a_request_replayed_on_a_fresh_connection_says_so(client: OpenAI, fp: FakeProvider) -> None:
    # The second request reuses the pooled connection, which the server closes without answering:
    # the transport re-sends it once on a fresh connection, so the upstream saw it twice.
    fp.script("m-s", [Fault.ok(), Fault.close(), Fault.ok()])
    first = route_info(ask(client, "solo")).attempts  # type: ignore[union-attr]
    second = route_info(ask(client, "solo")).attempts  # type: ignore[union-attr]
    assert [a.replayed for a in first] == [False]
    assert [(a.decision, a.replayed) for a in second] == [("served", True)]
    assert "replayed on a fresh connection" in str(second[0])
    assert outcomes(fp, "m-s") == ["ok", "close", "ok"]


def test_silent_target_is_left_after_first_token_and_not_retried(client: OpenAI, fp: FakeProvider) -> None:
    fp.set_default("m-a", Fault.no_response())
    started = time.monotonic()
    result = ask(client)
    took = time.monotonic() - started
    route = route_info(result)
    assert decisions(route) == [("a", "failover"), ("b", "served")]
    assert route.attempts[0].error == "first_byte_timeout"  # type: ignore[union-attr]
    assert 0.28 <= took < 1.0
    (silent,) = fp.attempts("m-a")
    assert fp.attempts("m-b")[0].time - silent.time >= 0.28


def test_silent_only_target_gives_a_timeout(client: OpenAI, fp: FakeProvider) -> None:
    fp.set_default("m-s", Fault.no_response())
    with pytest.raises(APITimeoutError) as err:
        ask(client, "solo")
    assert decisions(err.value.route) == [("s", "give_up")]  # one attempt, not retried
    # The fake logs an attempt once it has read the request; on a loaded machine the 300 ms
    # first-token limit can end the call before that, so the fake may log none (never two).
    assert outcomes(fp, "m-s") in (["no_response"], [])


def test_401_forces_the_key_open(fp: FakeProvider) -> None:
    events: list[dict[str, Any]] = []
    client = OpenAI(config=make_config(fp), on_breaker=events.append)
    fp.set_default("m-a", Fault.unauthorized())
    result = ask(client)
    assert decisions(route_info(result)) == [("a", "failover"), ("b", "served")]
    assert route_info(result).attempts[0].error_class == "fatal_target"  # type: ignore[union-attr]
    assert [(e["target"], e["to"]) for e in events] == [("a", "forced_open")]
    assert state(client, "a")["state"] == "forced_open"
    healthy(client)
    assert outcomes(fp, "m-a") == ["status:401"]
    client.close()


def test_context_length_without_a_chain_surfaces(client: OpenAI, fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.context_length_exceeded()])
    with pytest.raises(BadRequestError, match="maximum context length") as err:
        ask(client)
    assert err.value.code == "context_length_exceeded"
    assert decisions(err.value.route) == [("a", "give_up")]
    assert err.value.route.attempts[0].reason == "context_length_exceeded"  # type: ignore[union-attr]
    assert outcomes(fp) == [("m-a", "status:400")]  # never retried on the same model, nor the group's
    assert healthy(client)


def test_context_length_with_a_chain_moves_to_it(fp: FakeProvider) -> None:
    client = OpenAI(config=make_config(fp, context_window_fallbacks={"smart": ["backup"]}))
    fp.script("m-a", [Fault.context_length_exceeded()])
    result = ask(client)
    assert result.choices[0].message.content == "Hello from m-c."
    assert decisions(route_info(result)) == [("a", "context_window_fallback"), ("c", "served")]
    assert route_info(result).group == "backup"  # type: ignore[union-attr]
    assert outcomes(fp) == [("m-a", "status:400"), ("m-c", "ok")]
    client.close()


def test_content_policy_surfaces_the_providers_reason(client: OpenAI, fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.content_policy().replace(error_message="Flagged: violence in message 1.")])
    with pytest.raises(BadRequestError, match="Flagged: violence in message 1") as err:
        ask(client)
    attempt = err.value.route.attempts[0]  # type: ignore[union-attr]
    assert (attempt.reason, attempt.decision, attempt.message) == (
        "content_policy",
        "give_up",
        "Flagged: violence in message 1.",
    )
    assert outcomes(fp) == [("m-a", "status:400")]


def test_outage_window_then_ramp(fp: FakeProvider) -> None:
    pol = policy(
        breaker={"consecutive_failures": 2, "open_base": "200ms", "open_jitter": 0, "half_open_permits": 1},
        ramp={"steps": [0.25, 1.0], "step_hold": "10s"},
    )
    client = OpenAI(config=make_config(fp, pol))
    fp.outage("m-s", 0.3)
    once = {"llmfailover": {"max_attempts": 1}}
    for _ in range(2):
        with pytest.raises(InternalServerError):
            ask(client, "solo", extra_body=once)
    assert state(client, "s")["state"] == "open"
    with pytest.raises(NoTargetAvailable, match="no available target in group 'solo'"):
        ask(client, "solo")
    time.sleep(0.35)  # the outage is over and the open wait elapsed
    assert healthy(client, "solo")
    snap = state(client, "s")
    assert (snap["state"], snap["share"]) == ("closed", 0.25)  # the ramp started
    assert outcomes(fp, "m-s") == ["status:503", "status:503", "ok"]
    client.close()


def test_fallback_chain_across_groups(fp: FakeProvider) -> None:
    client = OpenAI(config=make_config(fp, fallbacks={"smart": ["backup"]}))
    fp.set_default("m-a", Fault.status(503))
    fp.set_default("m-b", Fault.status(503))
    result = ask(client)
    route = route_info(result)
    assert result.choices[0].message.content == "Hello from m-c."
    assert route.served.group == "backup" and route.attempts[-2].decision == "next_group"  # type: ignore[union-attr]
    assert {a.group for a in route.attempts[:-1]} == {"smart"}  # type: ignore[union-attr]
    tries = outcomes(fp)
    assert tries[-1] == ("m-c", "ok") and len(tries) <= 2 * 3 + 1  # max_attempts 3 per target
    client.close()


def test_budget_bounds_retries_over_many_failing_calls(fp: FakeProvider) -> None:
    pol = policy(
        budget={"percent_can_retry": 0.2, "min_retries_per_sec": 0},
        breaker={"initial_state": "disabled"},
        retry={"backoff_base": "1ms", "backoff_cap": "2ms"},
    )
    client = OpenAI(config=make_config(fp, pol))
    fp.set_default("m-s", Fault.status(503))
    routes = []
    for _ in range(20):
        with pytest.raises(InternalServerError) as err:
            ask(client, "solo")
        routes.append(err.value.route)
    assert len(fp.attempts("m-s")) <= 20 * 1.2 + 1  # without the budget: 60 (3 per call)
    assert sum(d == "budget_exhausted" for r in routes for _, d in decisions(r)) >= 15
    client.close()


def test_deadline_bounds_total_time(fp: FakeProvider) -> None:
    slow = policy(timeouts={"first_token": "3s"})
    client = OpenAI(config=make_config(fp, slow))
    fp.set_default("m-s", Fault.slow_headers(2))
    for kwargs in ({"timeout": 0.5}, {"extra_body": {"llmfailover": {"timeout": 0.5}}}):
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as err:
            ask(client, "solo", **kwargs)
        assert 0.45 <= time.monotonic() - started < 0.9
        assert err.value.route.attempts[-1].error == "deadline_exceeded"  # type: ignore[union-attr]
        assert err.value.__cause__.errc == "deadline_exceeded"  # type: ignore[union-attr]
    client.close()


def test_deadline_bounds_retries(fp: FakeProvider) -> None:
    pol = policy(retry={"max_attempts": 5, "backoff_base": "200ms", "backoff_cap": "400ms"})
    client = OpenAI(config=make_config(fp, pol))
    fp.set_default("m-s", Fault.status(503))
    started = time.monotonic()
    with pytest.raises(InternalServerError):
        ask(client, "solo", timeout=0.3)
    assert time.monotonic() - started < 0.45
    assert all(a.time - fp.attempts("m-s")[0].time < 0.3 for a in fp.attempts("m-s"))
    client.close()


def test_retry_spacing_is_full_jitter_within_bounds(fp: FakeProvider) -> None:
    pol = policy(
        retry={"max_attempts": 5, "backoff_base": "40ms", "backoff_cap": "100ms"}, breaker={"initial_state": "disabled"}
    )
    client = OpenAI(config=make_config(fp, pol))
    fp.set_default("m-s", Fault.status(503))
    for _ in range(3):
        with pytest.raises(InternalServerError) as err:
            ask(client, "solo")
        route = err.value.route
        assert [d for _, d in decisions(route)] == ["retry"] * 4 + ["give_up"]
        for n, attempt in enumerate(route.attempts[1:], start=1):  # type: ignore[union-attr]
            assert 0 <= attempt.waited_ms <= min(100, 40 * 2 ** (n - 1)) + 1
    times = [a.time for a in fp.attempts("m-s")]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert sum(gaps) > 0.05  # 12 retries with a mean wait of ~35 ms: not a tight loop
    client.close()


def test_retry_style_openai_retries_the_same_target_as_openai_python(fp: FakeProvider) -> None:
    """retry.style openai (docs/config.md): a 503 waits openai's backoff (0.5 s * (1 - 0.25 u),
    so 375-500 ms), a 429 its retry-after-ms, both on the same target, never failing over;
    max_attempts is max_retries + 1; a 400 is not retried."""
    pol = policy(retry={"style": "openai", "max_attempts": 3}, breaker={"initial_state": "disabled"})
    client = OpenAI(config=make_config(fp, pol))
    fp.script("m-a", [Fault.status(503), Fault.rate_limited(retry_after=None, retry_after_ms=100), Fault.ok()])
    result = ask(client, "smart")
    assert decisions(route_info(result)) == [("a", "retry"), ("a", "retry"), ("a", "served")]
    times = [a.time for a in fp.attempts("m-a")]
    assert 0.37 <= times[1] - times[0] < 1.5  # the router's rules: b at once
    assert 0.1 <= times[2] - times[1] < 1.0
    assert fp.attempts("m-b") == []
    fp.set_default("m-a", Fault.status(400))
    with pytest.raises(BadRequestError):
        ask(client, "smart")
    assert len(fp.attempts("m-a")) == 4
    client.close()


def test_rate_limit_hint_is_honoured_before_the_same_target_again(fp: FakeProvider) -> None:
    client = OpenAI(config=make_config(fp))
    fp.set_default("m-s", Fault.rate_limited(retry_after=None, retry_after_ms=200))
    with pytest.raises(RateLimitError) as err:
        ask(client, "solo")
    client.close()
    route = err.value.route
    assert [d for _, d in decisions(route)] == ["retry_after", "retry_after", "give_up"]  # max_attempts 3
    times = [a.time for a in fp.attempts("m-s")]
    assert len(times) == 3
    assert all(b - a >= 0.2 for a, b in zip(times, times[1:]))  # never before the reset


# --- conduct fixed after these tests found it: Retry-After, backoff across targets, tiers, degraded --


def test_rate_limited_only_target_waits_for_the_hint(fp: FakeProvider) -> None:
    client = OpenAI(config=make_config(fp))
    fp.script("m-s", [Fault.rate_limited(retry_after=None, retry_after_ms=200), Fault.ok()])
    try:
        result = ask(client, "solo")
    finally:
        client.close()
    assert decisions(route_info(result)) == [("s", "retry_after"), ("s", "served")]
    first, second = fp.attempts("m-s")
    assert second.time - first.time >= 0.2


def test_failover_back_to_a_tried_target_waits_its_backoff(fp: FakeProvider) -> None:
    pol = policy(retry={"backoff_base": "100ms", "backoff_cap": "100ms"}, breaker={"initial_state": "disabled"})
    client = OpenAI(config=make_config(fp, pol))
    fp.set_default("m-a", Fault.status(503))
    fp.set_default("m-b", Fault.status(503))
    with pytest.raises(InternalServerError) as err:
        ask(client)
    client.close()
    attempts = err.value.route.attempts  # type: ignore[union-attr]
    seen: set[str] = set()
    again = []
    for prev, attempt in zip(attempts, attempts[1:]):
        seen.add(prev.target)
        if attempt.target in seen:  # a second try of a target: after its backoff, U(0, 100 ms)
            again.append(attempt)
            assert 0 <= attempt.waited_ms <= 101, [str(a) for a in attempts]
    assert len(again) >= 3
    # Full jitter may draw a short wait, but the re-tries together are not a tight loop.
    assert sum(a.waited_ms for a in again) > 10, [str(a) for a in attempts]
    assert attempts[-1].started_ms > 10


def test_priority_tier_is_tried_first(fp: FakeProvider) -> None:
    config = make_config(fp)
    for d in config["groups"]["smart"]["deployments"]:
        d.pop("weight", None)  # equal weights: only priority can order them
    client = OpenAI(config=config)
    served = {route_info(ask(client)).served.target for _ in range(12)}  # type: ignore[union-attr]
    client.close()
    assert served == {"a"}


def test_degraded_answer_is_not_used_for_a_bad_request(fp: FakeProvider) -> None:
    client = OpenAI(config=make_config(fp, degraded_answer="We are busy."))
    fp.script("m-s", [Fault.context_length_exceeded()])
    try:
        with pytest.raises(BadRequestError):
            ask(client, "solo")
    finally:
        client.close()


# --- degraded answers ----------------------------------------------------------------------


def test_config_degraded_answer(fp: FakeProvider) -> None:
    told: list[RouteInfo] = []
    client = OpenAI(config=make_config(fp, degraded_answer="We are busy."), on_degraded=told.append)
    fp.set_default("m-s", Fault.status(503))
    result = ask(client, "solo")
    assert result.choices[0].message.content == "We are busy."
    route = route_info(result)
    assert route.degraded and route.served is None and told == [route]  # type: ignore[union-attr]
    assert [d for _, d in decisions(route)][-1] == "give_up"
    client.close()


def test_degraded_callable_answers_instead_of_the_error(fp: FakeProvider) -> None:
    calls: list[tuple[Exception, dict[str, Any]]] = []
    told: list[RouteInfo] = []

    def degraded(error: Exception, request: dict[str, Any]) -> str:
        calls.append((error, request))
        return "Please try again in a minute."

    client = OpenAI(config=make_config(fp), degraded=degraded, on_degraded=told.append)
    fp.set_default("m-s", Fault.status(503))
    result = ask(client, "solo", temperature=0)
    assert result.choices[0].message.content == "Please try again in a minute."
    route = route_info(result)
    assert route.degraded and told == [route]  # type: ignore[union-attr]
    ((error, request),) = calls
    assert isinstance(error, InternalServerError) and error.route is not None
    assert request["messages"] == MESSAGES and request["temperature"] == 0
    fp.script("m-a", [Fault.context_length_exceeded()])
    with pytest.raises(BadRequestError):  # a bad request is not an outage
        ask(client)
    assert len(calls) == 1
    client.close()


def test_degraded_callable_that_raises_gives_the_original_error(fp: FakeProvider, caplog: Any) -> None:
    def degraded(error: Exception, request: dict[str, Any]) -> str:
        raise RuntimeError("boom")

    client = OpenAI(config=make_config(fp), degraded=degraded)
    fp.set_default("m-s", Fault.status(503))
    with caplog.at_level(logging.ERROR, logger="llmfailover"), pytest.raises(InternalServerError):
        ask(client, "solo")
    assert "degraded= callable raised" in caplog.text
    client.close()


# --- callbacks -----------------------------------------------------------------------------


def test_callbacks_run_on_the_calling_thread(fp: FakeProvider) -> None:
    seen: list[tuple[str, Any, int]] = []
    me = threading.get_ident()

    def hook(name: str) -> Any:
        return lambda *args: seen.append((name, args, threading.get_ident()))

    client = OpenAI(
        config=make_config(fp),
        on_attempt=hook("attempt"),
        on_retry=hook("retry"),
        on_failover=hook("failover"),
        on_breaker=hook("breaker"),
    )
    fp.script("m-a", [Fault.rate_limited(retry_after=None, retry_after_ms=5000)])
    fp.script("m-s", [Fault.status(503), Fault.ok()])
    ask(client)
    ask(client, "solo")
    names = [(name, args[0]["target"] if name == "breaker" else args[0].target) for name, args, _ in seen]
    assert names == [
        ("attempt", "a"),
        ("failover", "a"),
        ("attempt", "b"),
        ("breaker", "a"),
        ("attempt", "s"),
        ("retry", "s"),
        ("attempt", "s"),
    ]
    failed, to = next(args for name, args, _ in seen if name == "failover")
    assert (failed.decision, to.target) == ("failover", "b")
    assert {tid for *_, tid in seen} == {me}
    client.close()


def test_a_raising_callback_does_not_break_the_request(fp: FakeProvider, caplog: Any) -> None:
    def bad(*args: Any) -> None:
        raise ValueError("callback bug")

    client = OpenAI(config=make_config(fp), on_attempt=bad, on_failover=bad)
    fp.script("m-a", [Fault.status(500)])
    with caplog.at_level(logging.ERROR, logger="llmfailover"):
        result = ask(client)
    assert result.choices[0].message.content == "Hello from m-b."
    assert caplog.text.count("callback raised") == 3
    client.close()


def test_callbacks_must_be_callable(fp: FakeProvider) -> None:
    with pytest.raises(TypeError, match="on_retry must be callable"):
        OpenAI(config=make_config(fp), on_retry="print")
