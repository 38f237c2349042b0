"""llmfailover.metrics: the native counters scraped from a real prometheus_client HTTP endpoint
(port 0) after an outage on the FakeProvider, parsed with prometheus_client.parser; cost in
route_info(); bounded and escaped labels; OpenTelemetry observable instruments."""

from __future__ import annotations

import urllib.request
from typing import Any, Iterator

import pytest
from llmfailover import OpenAI, metrics, route_info
from llmfailover.cost import price_table_source, prices_for
from llmfailover.testing import FakeProvider, Fault

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

MESSAGES = [{"role": "user", "content": "Hi"}]
GROUP = "obs"  # every live router in the process is scraped: a group of this file's own
POLICY: dict[str, Any] = {
    "timeouts": {"first_token": "300ms", "idle": "400ms", "deadline": "3s"},
    "retry": {"backoff_base": "10ms", "backoff_cap": "50ms"},
    "breaker": {"consecutive_failures": 2, "open_base": "30s", "open_cap": "30s"},
}


def outage_config(fp: FakeProvider, primary_model: str = "m-a", group: str = "obs", **primary: Any) -> dict[str, Any]:
    """`group` = a (primary, first) + b (gpt-4o-mini: priced by the bundled table). Tests use a
    group name of their own: every live router in the process is scraped."""

    def dep(id_: str, model: str, **kw: Any) -> dict[str, Any]:
        return {"id": id_, "model": model, "base_url": fp.base_url, "api_key": f"key-{id_}", **kw}

    return {
        "groups": {
            group: {
                "deployments": [dep("a", primary_model, priority=0, **primary), dep("b", "gpt-4o-mini", priority=1)],
                "policy": POLICY,
            }
        }
    }


@pytest.fixture
def registry() -> Iterator[Any]:
    reg = prometheus_client.CollectorRegistry()
    yield reg
    metrics.unregister(reg)


def scrape(registry: Any) -> dict[str, Any]:
    server, thread = metrics.start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10) as r:
            text = r.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(families: dict[str, Any], family: str, sample: str, **labels: str) -> float:
    labels.setdefault("group", GROUP)
    found = [
        s.value
        for s in families[family].samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (sample, labels, found)
    return float(found[0])


def test_an_outage_scraped_from_a_real_endpoint(fp: FakeProvider, registry: Any) -> None:
    fp.set_default("m-a", Fault.unavailable())
    with OpenAI(config=outage_config(fp)) as client:
        for _ in range(6):
            r = client.chat.completions.create(model=GROUP, messages=MESSAGES)
            assert route_info(r).served.deployment == "b"
        f = scrape(registry)
    ok = value(f, "llmfailover_requests", "llmfailover_requests_total", group=GROUP, outcome="ok")
    assert ok == 6
    assert value(f, "llmfailover_requests", "llmfailover_requests_total", group=GROUP, outcome="error") == 0
    # a failed twice, then its breaker opened: every later call went to b at once.
    a_failed = value(f, "llmfailover_attempts", "llmfailover_attempts_total", deployment="a", error_class="retryable")
    assert a_failed == 2
    assert value(f, "llmfailover_attempts", "llmfailover_attempts_total", deployment="b", error_class="none") == 6
    assert value(f, "llmfailover_failovers", "llmfailover_failovers_total", group=GROUP) == 2
    assert value(f, "llmfailover_breaker_state", "llmfailover_breaker_state", deployment="a", state="open") == 1
    assert value(f, "llmfailover_breaker_state", "llmfailover_breaker_state", deployment="a", state="closed") == 0
    assert value(f, "llmfailover_breaker_state", "llmfailover_breaker_state", deployment="b", state="closed") == 1
    assert value(f, "llmfailover_target_share", "llmfailover_target_share", deployment="a") == 0
    assert value(f, "llmfailover_target_share", "llmfailover_target_share", deployment="b") == 1
    trans = "llmfailover_breaker_transitions_total"
    assert value(f, "llmfailover_breaker_transitions", trans, deployment="a", state="open") == 1
    # Cost: b is priced by the bundled table, a served nothing.
    usd = value(f, "llmfailover_cost_usd", "llmfailover_cost_usd_total", deployment="b", model="gpt-4o-mini")
    assert 0 < usd < 0.01
    assert value(f, "llmfailover_cost_usd", "llmfailover_cost_usd_total", deployment="a") == 0
    hits = f["llmfailover_cache_hits"].samples if "llmfailover_cache_hits" in f else []
    assert not [s for s in hits if s.labels["group"] == GROUP]  # no cache in this group: no lookups
    # Histograms, GenAI names.
    dur = "gen_ai_client_operation_duration_seconds"
    assert value(f, dur, dur + "_count", group=GROUP, outcome="ok") == 6
    assert value(f, dur, dur + "_bucket", group=GROUP, outcome="ok", le="+Inf") == 6
    tok = "gen_ai_client_token_usage"
    assert value(f, tok, tok + "_count", deployment="b", gen_ai_token_type="input") == 6
    ttft = "llmfailover_time_to_first_token_seconds"
    assert value(f, ttft, ttft + "_count", deployment="b") == 6
    assert value(f, "llmfailover_retry_budget_left", "llmfailover_retry_budget_left", group=GROUP) >= 0
    # Labels carry a key alias, never the key.
    keys = {s.labels.get("key") for s in f["llmfailover_attempts"].samples}
    assert keys == {"key0"}


def test_cost_in_route_info_from_the_table_the_config_and_unknown(fp: FakeProvider) -> None:
    with OpenAI(config=outage_config(fp)) as client:
        r = client.chat.completions.create(model=GROUP, messages=MESSAGES)
        cost = route_info(r).cost
        assert cost is not None and cost.usd is None  # m-a is in no price table
        assert "no price" in cost.unknown_reason and "m-a" in cost.unknown_reason
        assert cost.input_tokens == r.usage.prompt_tokens and cost.output_tokens == r.usage.completion_tokens
    fp.set_default("m-a", Fault.unavailable())
    with OpenAI(config=outage_config(fp)) as client:
        r = client.chat.completions.create(model=GROUP, messages=MESSAGES)
        cost = route_info(r).cost
        table = prices_for("openai", "gpt-4o-mini")
        assert table is not None and table["source"] == "litellm:gpt-4o-mini"
        expected = r.usage.prompt_tokens * table["input"] + r.usage.completion_tokens * table["output"]
        assert cost.usd == pytest.approx(expected) and cost.deployment == "b"
    # The config's own price wins over the table (USD per million tokens).
    with OpenAI(config=outage_config(fp, primary_model="gpt-4o-mini", price={"input": 1000, "output": 1000})) as client:
        fp.set_default("gpt-4o-mini", Fault.ok())
        r = client.chat.completions.create(model=GROUP, messages=MESSAGES)
        assert route_info(r).served.deployment == "a"
        assert route_info(r).cost.usd == pytest.approx((r.usage.prompt_tokens + r.usage.completion_tokens) * 1e-3)
    assert "litellm" in price_table_source()["from"]


def test_label_values_with_odd_characters_are_escaped(fp: FakeProvider, registry: Any) -> None:
    odd = 'm"odd\\name {é}'  # quote and backslash escaped; CR/LF are refused by the config
    fp.set_default(odd, Fault.ok())
    with OpenAI(config=outage_config(fp, primary_model=odd)) as client:
        client.chat.completions.create(model=GROUP, messages=MESSAGES)
        f = scrape(registry)
    assert value(f, "llmfailover_attempts", "llmfailover_attempts_total", model=odd, error_class="none") == 1


def test_label_sets_past_the_cap_are_added_up_as_other(
    fp: FakeProvider, registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "MAX_SERIES", 1)
    with OpenAI(config=outage_config(fp)) as client:
        client.chat.completions.create(model=GROUP, messages=MESSAGES)
        f = scrape(registry)
    names = {s.labels.get("deployment") for s in f["llmfailover_in_flight"].samples}
    assert names == {"a", "other"}


def test_closed_clients_are_not_scraped(fp: FakeProvider, registry: Any) -> None:
    with OpenAI(config=outage_config(fp, group="closed")) as client:
        client.chat.completions.create(model="closed", messages=MESSAGES)
        assert any(s.labels.get("group") == "closed" for s in scrape(registry)["llmfailover_requests"].samples)
    f = scrape(registry)
    samples = f["llmfailover_requests"].samples if "llmfailover_requests" in f else []
    assert not [s for s in samples if s.labels.get("group") == "closed"]


def test_otel_observable_instruments(fp: FakeProvider) -> None:
    sdk_metrics = pytest.importorskip("opentelemetry.sdk.metrics")
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = sdk_metrics.MeterProvider(metric_readers=[reader])
    metrics.instrument_otel(provider)
    fp.set_default("m-a", Fault.unavailable())
    with OpenAI(config=outage_config(fp)) as client:
        for _ in range(3):
            client.chat.completions.create(model=GROUP, messages=MESSAGES)
        data = reader.get_metrics_data()
    points: dict[str, list[Any]] = {}
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                points.setdefault(m.name, []).extend(m.data.data_points)
    ok = [
        p.value
        for p in points["llmfailover.requests"]
        if p.attributes["llmfailover.outcome"] == "ok" and p.attributes["llmfailover.group"] == GROUP
    ]
    assert ok == [3]
    opened = [
        p.value
        for p in points["llmfailover.breaker.state"]
        if p.attributes["llmfailover.group"] == GROUP
        and p.attributes["llmfailover.deployment"] == "a"
        and p.attributes["llmfailover.state"] == "open"
    ]
    assert opened == [1]
    provider.shutdown()


def test_cost_totals_per_user_tag(fp: FakeProvider, registry: Any) -> None:
    fp.set_default("m-a", Fault.unavailable())  # b (priced) answers
    with OpenAI(config=outage_config(fp, group="tagged")) as client:
        costs = []
        for tag in ("tenant-a", "tenant-a", 'tenant "b"'):
            r = client.chat.completions.create(
                model="tagged", messages=MESSAGES, extra_body={"llmfailover": {"tag": tag}}
            )
            costs.append(route_info(r).cost.usd)
        client.chat.completions.create(model="tagged", messages=MESSAGES)  # untagged: in no tag's total
        with pytest.raises(ValueError, match="tag"):
            client.chat.completions.create(model="tagged", messages=MESSAGES, extra_body={"llmfailover": {"tag": ""}})
        assert all(fp_attempt.json().get("llmfailover") is None for fp_attempt in fp.attempts("gpt-4o-mini"))
        f = scrape(registry)
    totals = metrics.tag_totals()
    assert totals[("tagged", "tenant-a")]["calls"] == 2
    assert totals[("tagged", "tenant-a")]["cost_usd"] == pytest.approx(costs[0] + costs[1])
    usd = value(f, "llmfailover_tag_cost_usd", "llmfailover_tag_cost_usd_total", group="tagged", tag='tenant "b"')
    assert usd == pytest.approx(costs[2])
    assert value(f, "llmfailover_tag_requests", "llmfailover_tag_requests_total", group="tagged", tag="tenant-a") == 2


def test_raw_responses_carry_the_cost_header(fp: FakeProvider) -> None:
    fp.set_default("m-a", Fault.unavailable())  # b (priced) answers
    with OpenAI(config=outage_config(fp, group="raw")) as client:
        raw = client.chat.completions.with_raw_response.create(model="raw", messages=MESSAGES)
        r = raw.parse()
        assert float(raw.headers["x-llmfailover-cost-usd"]) == pytest.approx(route_info(r).cost.usd, abs=1e-9)
        fp.set_default("m-a", Fault.ok())  # a: no known price, no header (never 0)
        fp.set_default("gpt-4o-mini", Fault.ok())
    with OpenAI(config=outage_config(fp, group="raw")) as client:
        raw = client.chat.completions.with_raw_response.create(model="raw", messages=MESSAGES)
        assert raw.headers.get("x-llmfailover-cost-usd") is None
