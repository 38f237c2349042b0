"""Balancing measured through the Python client against the fake provider: traffic shares within
statistical bounds, round robin's exact shares, priority tiers, lowest cost, API-key rotation, and
the route log's ``pick`` / ``skipped``.

Every call goes through ``OpenAI(config=...)``; who served it is read from both sides: the route
log (``route_info(r).served``) and what the fake received (``fp.attempts()``: model, Authorization).

The router takes no seed from Python (its ``Random`` is injected only in C++), so weighted random
picks are checked with Pearson's chi-square against a fixed critical value: k = 3 categories,
df = 2, p = 0.001 -> 13.816. A correct router fails by chance once in a thousand runs; the same
data tested against a wrong hypothesis (equal weights) must fail, which shows the test can.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Sequence

import pytest
from llmfailover import NoTargetAvailable, OpenAI, route_info
from llmfailover.testing import FakeProvider, Fault

MESSAGES = [{"role": "user", "content": "Hi"}]
POLICY: dict[str, Any] = {
    "timeouts": {"first_token": "2s", "idle": "2s", "deadline": "5s"},
    "retry": {"backoff_base": "10ms", "backoff_cap": "50ms"},
}
CHI2_DF2_P001 = 13.816  # chi-square quantile, df = 2, upper tail 0.001
# A block of the remaining-requests quota until its reset: the target is unavailable but healthy.
EXHAUSTED = Fault.ok().replace(headers=(("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "10s")))


def group(fp: FakeProvider, *deployments: dict[str, Any], **policy: Any) -> dict[str, Any]:
    """Config with group "g": each deployment {"id": x, ...} gets model m-x, the fake's URL and a key."""
    deps = [{"model": f"m-{d['id']}", "base_url": fp.base_url, "api_key": f"key-{d['id']}", **d} for d in deployments]
    return {"groups": {"g": {"deployments": deps, "policy": {**POLICY, **policy}}}}


def ask(client: Any) -> Any:
    return client.chat.completions.create(model="g", messages=MESSAGES, max_tokens=8)


def served(client: Any, n: int) -> list[Any]:
    """The serving attempt of n sequential calls (each must succeed)."""
    out = []
    for _ in range(n):
        info = route_info(ask(client))
        assert info is not None and info.served is not None
        out.append(info.served)
    return out


def state(client: Any, target: str) -> dict[str, Any]:
    return next(s for s in client.router_snapshot() if s["target"] == target)


def chi_square(observed: Sequence[int], weights: Sequence[float]) -> float:
    """Pearson's statistic of observed counts against shares proportional to weights."""
    n, total = sum(observed), sum(weights)
    expected = [n * w / total for w in weights]
    return sum((o - e) ** 2 / e for o, e in zip(observed, expected))


def test_chi_square_statistic() -> None:
    assert chi_square([200, 400, 1400], [1, 2, 7]) == 0
    # 50 calls moved from c to a: 50²/200 + 0 + 50²/1400 = 14.29, just over the bound.
    assert chi_square([250, 400, 1350], [1, 2, 7]) == pytest.approx(12.5 + 2500 / 1400)
    assert chi_square([250, 400, 1350], [1, 2, 7]) > CHI2_DF2_P001 > chi_square([240, 400, 1360], [1, 2, 7])


# --- strategies ----------------------------------------------------------------------------


def test_weighted_random_follows_the_weights(fp: FakeProvider) -> None:
    weights = {"a": 1, "b": 2, "c": 7}
    cfg = group(fp, *({"id": d, "weight": w} for d, w in weights.items()), balancer={"strategy": "weighted_random"})
    started = time.monotonic()
    with OpenAI(config=cfg) as client:
        picks = served(client, 2000)
    elapsed = time.monotonic() - started
    by_route = Counter(a.deployment for a in picks)
    by_fake = Counter(r.model for r in fp.attempts())
    assert {f"m-{d}": n for d, n in by_route.items()} == by_fake  # one attempt per call, no retries
    observed = [by_route[d] for d in weights]
    stat = chi_square(observed, list(weights.values()))
    print(f"weighted_random 1:2:7, {observed}, chi2 = {stat:.2f} (bound {CHI2_DF2_P001}), {elapsed:.2f}s")
    assert stat < CHI2_DF2_P001, observed
    assert chi_square(observed, [1, 1, 1]) > CHI2_DF2_P001  # the same data rejects equal weights


def test_round_robin_gives_exact_shares_in_every_period(fp: FakeProvider) -> None:
    cfg = group(
        fp,
        {"id": "a", "weight": 1},
        {"id": "b", "weight": 2},
        {"id": "c", "weight": 7},
        balancer={"strategy": "round_robin"},
    )
    with OpenAI(config=cfg) as client:
        order = [a.deployment for a in served(client, 100)]
    for start in range(0, 100, 10):  # smooth weighted round robin: every period of 10 is exact
        assert Counter(order[start : start + 10]) == {"a": 1, "b": 2, "c": 7}, order[start : start + 10]
    assert [r.model for r in fp.attempts()] == [f"m-{d}" for d in order]


def test_round_robin_interleaves_as_documented(fp: FakeProvider) -> None:
    cfg = group(fp, {"id": "A", "weight": 5}, {"id": "B"}, {"id": "C"}, balancer={"strategy": "round_robin"})
    with OpenAI(config=cfg) as client:
        order = "".join(a.deployment for a in served(client, 21))
    assert order == "AAABCAA" * 3  # docs/balancing.md: {5,1,1} give AAABCAA


def test_priority_tier_below_gets_nothing_while_the_tier_above_serves(fp: FakeProvider) -> None:
    cfg = group(fp, {"id": "a"}, {"id": "b"}, {"id": "c", "priority": 1})
    with OpenAI(config=cfg) as client:
        counts = Counter(a.deployment for a in served(client, 200))
        assert counts["c"] == 0 and counts["a"] >= 60 and counts["b"] >= 60, counts  # 100 ± 7 each
        fp.set_default("m-a", Fault.unauthorized())  # a is forced open: b alone holds the tier
        assert Counter(a.deployment for a in served(client, 20)) == {"b": 20}
        assert state(client, "a")["state"] == "forced_open"
        fp.set_default("m-b", Fault.unauthorized())  # the whole tier is out: c takes over
        assert Counter(a.deployment for a in served(client, 10)) == {"c": 10}
    assert Counter(r.outcome for r in fp.attempts("m-a")) == {"ok": counts["a"], "status:401": 1}


def test_lowest_cost_picks_the_cheapest_available(fp: FakeProvider) -> None:
    cfg = group(
        fp,
        {"id": "big", "price": {"input": 3, "output": 15}},
        {"id": "mini", "price": {"input": 0.15, "output": 0.6}},
        {"id": "mid", "price": {"input": 1, "output": 4}},
        balancer={"strategy": "lowest_cost"},
    )
    with OpenAI(config=cfg) as client:
        assert Counter(a.deployment for a in served(client, 50)) == {"mini": 50}
        fp.set_default("m-mini", Fault.unauthorized())
        assert Counter(a.deployment for a in served(client, 20)) == {"mid": 20}
    assert fp.attempts("m-big") == []


# --- API keys ------------------------------------------------------------------------------


def test_keys_of_a_deployment_share_its_traffic(fp: FakeProvider) -> None:
    cfg = group(fp, {"id": "d", "api_key": ["k0", "k1", "k2"]})
    with OpenAI(config=cfg) as client:
        picks = served(client, 1200)
    received = fp.attempts()
    assert [r.header("authorization") for r in received] == [f"Bearer k{a.key_index}" for a in picks]
    assert {a.target for a in picks} == {"d#key0", "d#key1", "d#key2"}
    observed = [Counter(a.key_index for a in picks)[i] for i in range(3)]
    stat = chi_square(observed, [1, 1, 1])
    print(f"keys 1:1:1, {observed}, chi2 = {stat:.2f}")
    assert stat < CHI2_DF2_P001, observed


@pytest.mark.parametrize(
    "fault, locked", [(Fault.unauthorized(), "forced_open"), (Fault.rate_limited(retry_after=30), "open")]
)
def test_a_failing_key_is_set_aside_and_the_others_serve(fp: FakeProvider, fault: Fault, locked: str) -> None:
    """401: the key is forced open (10 min); 429: that key alone cools down for its Retry-After."""
    events: list[dict[str, Any]] = []
    fp.script("m-d", [fault])  # the first request, whichever key it carries
    with OpenAI(config=group(fp, {"id": "d", "api_key": ["k0", "k1", "k2"]}), on_breaker=events.append) as client:
        info = route_info(ask(client))  # no error reaches the caller
        assert info is not None and info.served is not None
        bad, good = info.attempts
        assert (bad.status, bad.decision, good.decision) == (fault.status, "failover", "served")
        assert good.deployment == bad.deployment == "d" and good.key_index != bad.key_index
        assert fp.attempts()[0].header("authorization") == f"Bearer k{bad.key_index}"
        assert [(e["target"], e["to"]) for e in events] == [(bad.target, locked)]

        s = state(client, bad.target)
        assert s["state"] == locked and not s["available"] and s["available_in_ms"] > 20_000
        others = {f"d#key{i}" for i in range(3)} - {bad.target}
        assert all(state(client, t)["state"] == "closed" for t in others)

        assert {a.target for a in served(client, 60)} == others  # both other keys serve, not the bad one
    assert [r.header("authorization") for r in fp.attempts()].count(f"Bearer k{bad.key_index}") == 1


# --- the route log's pick and skipped --------------------------------------------------------


def test_panic_pick_when_nothing_is_available(fp: FakeProvider) -> None:
    fp.set_default("m-a", EXHAUSTED)
    with OpenAI(config=group(fp, {"id": "a"})) as client:
        first = route_info(ask(client))
        assert first is not None and first.served is not None and first.served.pick == ""
        assert not state(client, "a")["available"]  # blocked by its headers until the reset
        info = route_info(ask(client))
        assert info is not None and info.served is not None
        assert (info.served.target, info.served.pick, info.served.skipped) == ("a", "panic", "")
        assert str(info.served).endswith("-> served [pick: panic]")
    assert len(fp.attempts("m-a")) == 2


def test_fail_fast_refuses_instead_of_panicking(fp: FakeProvider) -> None:
    fp.set_default("m-a", EXHAUSTED)
    with OpenAI(config=group(fp, {"id": "a"}, balancer={"fail_fast": True})) as client:
        ask(client)
        with pytest.raises(NoTargetAvailable):
            ask(client)
    assert len(fp.attempts("m-a")) == 1


def test_retry_on_the_same_target_is_a_reused_pick(fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.server_error(500), Fault.ok()])
    with OpenAI(config=group(fp, {"id": "a"})) as client:
        info = route_info(ask(client))
    assert info is not None
    assert [(a.decision, a.pick) for a in info.attempts] == [("retry", ""), ("served", "reused")]
    assert "[pick" not in str(info.attempts[0]) and "[skipped" not in str(info.attempts[0])


def test_skipped_names_a_deployment_shed_at_its_concurrency_cap(fp: FakeProvider) -> None:
    fp.set_default("m-a", Fault.slow_headers(0.5))
    cfg = group(fp, {"id": "a", "weight": 1e6, "max_concurrency": 1}, {"id": "b"})
    with OpenAI(config=cfg) as client:
        slow = threading.Thread(target=ask, args=(client,))
        slow.start()
        deadline = time.monotonic() + 2
        while not fp.attempts("m-a") and time.monotonic() < deadline:
            time.sleep(0.005)
        info = route_info(ask(client))  # a is full: shed at once to b
        slow.join()
    assert info is not None and info.served is not None
    (attempt,) = info.attempts
    assert attempt.target == "b" and attempt.pick == ""
    assert "'a' shed" in attempt.skipped and "max_concurrency" in attempt.skipped, attempt.skipped
    assert f"[skipped: {attempt.skipped}]" in str(attempt)
