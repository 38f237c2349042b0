"""Load balancing from Python (issue 4): the snapshot's balancing fields and load shedding at a
deployment's concurrency cap, against the fake provider."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from llmfailover import OpenAI, route_info
from llmfailover.testing import FakeProvider, Fault

MESSAGES = [{"role": "user", "content": "Hi"}]
POLICY: dict[str, Any] = {
    "timeouts": {"first_token": "2s", "idle": "2s", "deadline": "5s"},
    "retry": {"backoff_base": "10ms", "backoff_cap": "50ms"},
}


def config(fp: FakeProvider, a: dict[str, Any], policy: dict[str, Any] | None = None) -> dict[str, Any]:
    def dep(id_: str, model: str, **kw: Any) -> dict[str, Any]:
        return {"id": id_, "model": model, "base_url": fp.base_url, "api_key": f"key-{id_}", **kw}

    return {
        "groups": {
            "smart": {
                "deployments": [dep("a", "m-a", weight=1e6, **a), dep("b", "m-b")],
                "policy": {**POLICY, **(policy or {})},
            }
        }
    }


def snap(client: Any, target: str) -> dict[str, Any]:
    return next(s for s in client.router_snapshot() if s["target"] == target)


def ask(client: Any) -> Any:
    return client.chat.completions.create(model="smart", messages=MESSAGES, max_tokens=16)


def test_snapshot_has_balancing_fields(fp: FakeProvider) -> None:
    cfg = config(
        fp,
        {"rpm": 10, "tpm": 10000, "max_concurrency": 4},
        {"balancer": {"strategy": "latency_p2c", "ewma_decay": "5s"}},
    )
    with OpenAI(config=cfg) as client:
        ask(client)
        s = snap(client, "a")
        for key in (
            "in_flight",
            "ewma_ms",
            "share",
            "balancer_share",
            "header_share",
            "requests_left",
            "tokens_left",
            "deployment_in_flight",
            "max_concurrency",
            "shed",
            "available",
            "cost",
            "strategy",
            "blocked_for_ms",
        ):
            assert key in s, key
        assert s["strategy"] == "latency_p2c"
        assert s["requests_left"] == 9
        assert 0 <= s["tokens_left"] < 10000
        assert s["max_concurrency"] == 4 and s["deployment_in_flight"] == 0 and s["in_flight"] == 0
        assert s["ewma_ms"] >= 0 and s["balancer_share"] == 1.0 and s["available"] is True
        b = snap(client, "b")
        assert b["requests_left"] == -1 and b["tokens_left"] == -1  # no limits configured


def test_concurrency_cap_sheds_to_the_next_deployment(fp: FakeProvider) -> None:
    fp.set_default("m-a", Fault.slow_headers(0.5))
    with OpenAI(config=config(fp, {"max_concurrency": 1})) as client:
        first: list[Any] = []
        t = threading.Thread(target=lambda: first.append(ask(client)))
        t.start()
        deadline = time.monotonic() + 2
        while not fp.attempts("m-a") and time.monotonic() < deadline:
            time.sleep(0.005)
        assert snap(client, "a")["deployment_in_flight"] == 1
        started = time.monotonic()
        second = ask(client)
        assert time.monotonic() - started < 0.4  # shed at once, not queued behind the slow call
        info = route_info(second)
        assert info is not None and info.served is not None and info.served.target == "b"
        assert snap(client, "a")["shed"] == 1
        t.join()
        assert route_info(first[0]).served.target == "a"  # type: ignore[union-attr]
        assert len(fp.attempts("m-a")) == 1
        assert snap(client, "a")["deployment_in_flight"] == 0


def test_balancer_policy_is_validated() -> None:
    with pytest.raises(ValueError, match="strategy"):
        OpenAI(
            config={
                "groups": {
                    "smart": {
                        "deployments": [{"model": "m", "api_key": "k"}],
                        "policy": {"balancer": {"strategy": "fastest"}},
                    }
                }
            }
        )


def test_active_probes_take_a_down_deployment_out_and_bring_it_back(fp: FakeProvider) -> None:
    events: list[dict[str, Any]] = []
    probes = {
        "interval": "100ms",
        "timeout": "100ms",
        "interval_jitter_percent": 0,
        "unhealthy_threshold": 2,
        "healthy_threshold": 1,
    }
    fp.outage("m-a", 1.0, Fault.unavailable())
    with OpenAI(config=config(fp, {"health_check": probes}), on_breaker=events.append) as client:
        until = time.monotonic() + 2
        while snap(client, "a")["probe"] != "unhealthy" and time.monotonic() < until:
            time.sleep(0.02)
        assert snap(client, "a")["probe"] == "unhealthy" and snap(client, "a")["share"] == 0
        assert snap(client, "b")["probe"] == ""  # not probed: b has no health_check
        for _ in range(5):  # a has weight 1e6, yet nothing goes there while probes hold it out
            assert route_info(ask(client)).served.deployment == "b"  # type: ignore[union-attr]
        assert all(r.json()["max_tokens"] == 1 for r in fp.attempts("m-a"))  # only probes reached a
        while snap(client, "a")["probe"] != "healthy" and time.monotonic() < until + 2:
            time.sleep(0.02)
        back = snap(client, "a")
        assert back["probe"] == "healthy" and back["ramp_step"] == 0 and back["share"] == pytest.approx(0.05)
        ask(client)  # events are delivered after a call
    probe_events = [(e["target"], e["from"], e["to"]) for e in events if e["kind"] == "probe"]
    assert probe_events[:2] == [("a", "closed", "open"), ("a", "open", "closed")], events


def test_key_quota_in_the_snapshot(fp: FakeProvider) -> None:
    with OpenAI(config=config(fp, {"api_key": [{"key": "k0", "rpm": 2}, "k1"]})) as client:
        served = route_info(ask(client)).served.target  # type: ignore[union-attr]
        k0, k1 = snap(client, "a#key0"), snap(client, "a#key1")
        assert (k0["key_rpm"], k0["key_requests_left"]) == (2, 1 if served == "a#key0" else 2)
        assert (k1["key_rpm"], k1["key_requests_left"]) == (0, -1)
        assert k0["requests_left"] == -1 and k0["cooling"] is False
