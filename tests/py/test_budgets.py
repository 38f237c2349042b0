"""Spend budgets (``budgets:`` in the config; README "Budgets"): a call no target may serve for
budget raises ``BudgetExceededError`` (an ``openai.RateLimitError``) naming the budget before any
upstream attempt, a tag's cap, the budget and exact cache metrics scraped from a real
prometheus_client endpoint, unknown prices said once, bad budget entries refused with their path,
and ``lowest_cost`` ranking by the bundled price table. Upstream attempts are counted on the
FakeProvider."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from llmfailover import BudgetExceededError, OpenAI, RateLimitError, metrics, route_info
from llmfailover._compat import openai_module
from llmfailover.config import ConfigError
from llmfailover.testing import FakeProvider
from test_metrics import registry, scrape, value  # noqa: F401  (registry is a fixture)

MESSAGES = [{"role": "user", "content": "Hi"}]
POLICY = {"timeouts": {"first_token": "300ms", "idle": "400ms", "deadline": "3s"}}
PRICE = {"input": 1e5, "output": 1e5}  # USD per million tokens: one answer spends more than a cent


def config(fp: FakeProvider, group: str, budgets: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    deps = [
        {"id": f"{group}-a", "model": "m-a", "base_url": fp.base_url, "api_key": "key-a", "price": PRICE},
        {"id": f"{group}-b", "model": "m-b", "base_url": fp.base_url, "api_key": "key-b", "price": PRICE},
    ]
    return {"groups": {group: {"deployments": deps, "policy": POLICY}}, "budgets": budgets, **top}


def ask(c: OpenAI, group: str, **kw: Any) -> Any:
    return c.chat.completions.create(model=group, messages=MESSAGES, **kw)


def test_every_target_over_budget_raises_before_any_attempt(fp: FakeProvider) -> None:
    budgets = [{"scope": "group", "name": "bud-g", "usd": 0.01, "period": "day"}]
    with OpenAI(config=config(fp, "bud-g", budgets), api_key="sk-caller-secret") as c:
        assert route_info(ask(c, "bud-g")).served is not None
        sent = len(fp.attempts())
        with pytest.raises(BudgetExceededError) as e:
            ask(c, "bud-g")
        assert len(fp.attempts()) == sent  # no upstream attempt
    err = e.value
    oa = openai_module()  # None under LLMFAILOVER_HIDE_OPENAI=1
    assert isinstance(err, RateLimitError) and (oa is None or isinstance(err, oa.RateLimitError))
    assert err.status_code == 429 and err.code == "budget_exceeded"
    assert "group 'bud-g' spent $" in err.message and "of $0.0100 this day" in err.message
    assert err.budget["scope"] == "group" and err.budget["name"] == "bud-g" and err.budget["period"] == "day"
    assert err.budget["spent_usd"] >= err.budget["limit_usd"] == 0.01
    assert err.budget["resets_at"].endswith("T00:00:00Z")
    assert int(err.response.headers["retry-after"]) > 0
    assert "sk-caller-secret" not in str(err) and "key-a" not in repr(err.body)


def test_a_key_over_budget_leaves_the_balancer_and_the_next_serves(fp: FakeProvider) -> None:
    budgets = [{"scope": "key", "name": "bud-k-a", "usd": 0.01, "period": "hour"}]
    cfg = config(fp, "bud-k", budgets)
    cfg["groups"]["bud-k"]["deployments"][1]["priority"] = 1  # a first, while it may spend
    with OpenAI(config=cfg) as c:
        assert route_info(ask(c, "bud-k")).served.deployment == "bud-k-a"  # type: ignore[union-attr]
        for _ in range(3):
            info = route_info(ask(c, "bud-k"))
            assert info is not None and info.served is not None
            assert [a.deployment for a in info.attempts] == ["bud-k-b"]
    assert len(fp.attempts("m-a")) == 1


def test_a_tag_over_budget_is_refused_and_other_tags_are_not(fp: FakeProvider) -> None:
    budgets = [{"scope": "tag", "name": "tenant-a", "usd": 0.01, "period": "month"}]
    tag = {"llmfailover": {"tag": "tenant-a"}}
    with OpenAI(config=config(fp, "bud-t", budgets)) as c:
        ask(c, "bud-t", extra_body=tag)
        with pytest.raises(BudgetExceededError, match="tag 'tenant-a' spent"):
            ask(c, "bud-t", extra_body=tag)
        ask(c, "bud-t", extra_body={"llmfailover": {"tag": "tenant-b"}})
        ask(c, "bud-t")


def test_budget_and_cache_metrics_scraped(fp: FakeProvider, registry: Any) -> None:  # noqa: F811
    budgets = [{"scope": "group", "name": "bud-m", "usd": 2.5, "period": "month"}]
    cfg = config(fp, "bud-m", budgets, cache={"type": "memory", "ttl": "10m"})
    with OpenAI(config=cfg) as c:
        first = ask(c, "bud-m", temperature=0)
        assert route_info(ask(c, "bud-m", temperature=0)).cache_hit  # type: ignore[union-attr]
        snap = next(s for s in metrics.snapshots() if any(b.name == "bud-m" for b in s.budgets))
        f = scrape(registry)
    spent = route_info(first).cost.usd  # type: ignore[union-attr]
    assert spent and spent > 0
    labels = {"scope": "group", "name": "bud-m", "period": "month", "group": None}
    spend = "llmfailover_budget_spend_usd"
    assert value(f, spend, spend, **labels) == pytest.approx(spent, rel=1e-6)  # the hit cost nothing
    assert value(f, "llmfailover_budget_limit_usd", "llmfailover_budget_limit_usd", **labels) == 2.5
    (b,) = [b for b in snap.budgets if b.name == "bud-m"]
    assert b.reached is False and b.unpriced == 0 and b.resets_at.endswith("-01T00:00:00Z")
    hits, misses = "llmfailover_cache_hits", "llmfailover_cache_misses"
    assert value(f, hits, hits + "_total", group="bud-m", backend="memory") == 1
    assert value(f, misses, misses + "_total", group="bud-m", backend="memory") == 1


def test_an_unknown_price_is_said_once_and_not_counted(fp: FakeProvider) -> None:
    budgets = [{"scope": "group", "name": "bud-u", "usd": 1, "period": "day"}]
    cfg = config(fp, "bud-u", budgets)
    for d in cfg["groups"]["bud-u"]["deployments"]:
        del d["price"]  # m-a / m-b: not in the bundled table
    with pytest.warns(UserWarning, match="no price known for deployment.*bud-u-a.*not counted") as w:
        c = OpenAI(config=cfg)
    assert len([x for x in w if "no price known" in str(x.message)]) == 1
    with c, warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(2):
            ask(c, "bud-u")
        snap = next(s for s in metrics.snapshots() if any(b.name == "bud-u" for b in s.budgets))
    (b,) = [b for b in snap.budgets if b.name == "bud-u"]
    assert b.spent_usd == 0 and b.unpriced == 2 and not b.reached


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"scope": "team", "name": "x", "usd": 1, "period": "day"}, r"budgets\[0\]\.scope"),
        ({"scope": "group", "name": "nope", "usd": 1, "period": "day"}, r"budgets\[0\]\.name: unknown group 'nope'"),
        ({"scope": "key", "name": "nope", "usd": 1, "period": "day"}, r"budgets\[0\]\.name: unknown key 'nope'"),
        ({"scope": "tag", "name": "t", "usd": 0, "period": "day"}, r"budgets\[0\]\.usd"),
        ({"scope": "tag", "name": "t", "usd": -1, "period": "day"}, r"budgets\[0\]\.usd"),
        ({"scope": "tag", "name": "t", "usd": 1, "period": "week"}, r"budgets\[0\]\.period"),
        ({"scope": "tag", "name": "", "usd": 1, "period": "day"}, r"budgets\[0\]\.name"),
        ({"scope": "tag", "usd": 1, "period": "day"}, r"budgets\[0\]"),
    ],
)
def test_bad_budget_entries_are_refused_with_their_path(fp: FakeProvider, entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        OpenAI(config=config(fp, "bud-c", [entry]))


def test_the_same_budget_twice_is_refused(fp: FakeProvider) -> None:
    entry = {"scope": "tag", "name": "t", "usd": 1, "period": "day"}
    with pytest.raises(ConfigError, match=r"budgets\[1\]: a second day budget for tag 't'"):
        OpenAI(config=config(fp, "bud-c", [entry, {**entry, "usd": 2}]))


def test_lowest_cost_ranks_by_the_bundled_price_table(fp: FakeProvider) -> None:
    # No config price: before the table reached the balancer both ranked 0 and shared the traffic.
    deps = [
        {"id": "lc-big", "model": "gpt-4o", "base_url": fp.base_url, "api_key": "k"},
        {"id": "lc-mini", "model": "gpt-4o-mini", "base_url": fp.base_url, "api_key": "k"},
    ]
    cfg = {"groups": {"lc": {"deployments": deps, "policy": {"balancer": {"strategy": "lowest_cost"}}}}}
    with OpenAI(config=cfg) as c:
        served = {route_info(ask(c, "lc")).served.deployment for _ in range(12)}  # type: ignore[union-attr]
    assert served == {"lc-mini"}
