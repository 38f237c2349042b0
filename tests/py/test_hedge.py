"""Hedged requests end to end (issue 11; policy/failover.hpp hedge()): a group with ``hedge`` on
sends the same request to its next target when the first has no answer after the delay, takes
whichever answers first and cancels the other. The virtual-time catalogue with exact spacing is
tests/cpp/router/hedge_virtual_test.cpp; this checks the wiring from config to route_info.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import prometheus_client
import pytest
from llmfailover import ConfigError, OpenAI, metrics, route_info
from llmfailover.testing import FakeProvider, Fault
from test_metrics import outage_config, scrape, value
from test_router import ask, decisions, make_config, policy


@pytest.mark.parametrize("stream", [False, True])
def test_a_slow_primary_loses_to_the_hedge(fp: FakeProvider, stream: bool) -> None:
    fp.script("m-a", [Fault.slow_headers(2)])
    with OpenAI(config=make_config(fp, policy(hedge={"delay": "100ms"}))) as client:
        t0 = time.monotonic()
        result: Any = ask(client, stream=stream)
        if stream:
            chunks = list(result)
            info = route_info(result)
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from m-b."
        else:
            info = route_info(result)
            assert result.choices[0].message.content == "Hello from m-b."
        took = time.monotonic() - t0
    assert info is not None and info.served is not None and info.served.target == "b"
    assert decisions(info) == [("a", "hedge_cancelled"), ("b", "served")]
    assert info.attempts[1].pick == "hedge"
    assert info.attempts[1].started_ms >= 100  # not before the delay
    assert took < 1.5  # the 2 s primary was not waited for (nor its 300 ms first-token limit taken)
    assert [a.model for a in fp.attempts()] == ["m-a", "m-b"]


def test_a_fast_primary_sends_no_hedge(fp: FakeProvider) -> None:
    with OpenAI(config=make_config(fp, policy(hedge={"delay": "250ms"}))) as client:
        info = route_info(ask(client))
    assert decisions(info) == [("a", "served")]
    assert [a.model for a in fp.attempts()] == ["m-a"]


@pytest.mark.parametrize(
    "hedge, needle",
    [
        ({"max": 2}, "max"),
        ({"delay": "p50"}, "p95"),
        ({"delay": "0ms"}, "delay"),
        ({"delay": "soon"}, "delay"),
    ],
)
def test_hedge_config_errors_name_the_key(fp: FakeProvider, hedge: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        OpenAI(config=make_config(fp, policy(hedge=hedge)))


@pytest.fixture
def registry() -> Iterator[Any]:
    reg = prometheus_client.CollectorRegistry()
    yield reg
    metrics.unregister(reg)


def test_hedges_are_counted_and_scraped(fp: FakeProvider, registry: Any) -> None:
    config = outage_config(fp, group="hedged")
    config["groups"]["hedged"]["policy"] = {**config["groups"]["hedged"]["policy"], "hedge": {"delay": "100ms"}}
    fp.script("m-a", [Fault.slow_headers(2)])
    with OpenAI(config=config) as client:
        info = route_info(client.chat.completions.create(model="hedged", messages=[{"role": "user", "content": "Hi"}]))
        assert decisions(info) == [("a", "hedge_cancelled"), ("b", "served")]
        f = scrape(registry)
    assert value(f, "llmfailover_hedges", "llmfailover_hedges_total", group="hedged") == 1
    assert value(f, "llmfailover_failovers", "llmfailover_failovers_total", group="hedged") == 0
    cancelled = value(
        f, "llmfailover_attempts", "llmfailover_attempts_total", group="hedged", deployment="a", error_class="ignored"
    )
    assert cancelled == 1  # the loser: not the target's failure
