"""The typed boundary (issue 13 point 3): attempts, snapshots, decisions and error codes cross the
binding as bound classes and str-valued enums built from the one C++ list (decision.hpp); the
Python side's field lists come from the bound classes; and validation happens once, in the core
(validate.hpp), so the plain and routed clients refuse the same inputs with the same class and
message."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
from typing import Any, Callable

import pytest
from llmfailover import APIConnectionError, OpenAI, _routing, errors, route_info
from llmfailover._routing import AttemptInfo
from llmfailover.testing import FakeProvider, Fault
from test_router import ask, make_config

_core = pytest.importorskip("llmfailover._core")


def test_decisions_are_str_valued_enum_members() -> None:
    d = _core.Decision
    assert d.failover == "failover" and "failover" == d.failover and d("failover") is d.failover
    assert str(d.failover) == f"{d.failover}" == "failover" and json.dumps([d.retry]) == '["retry"]'
    assert d.pending == "" and not d.pending  # an attempt still running
    assert {"retry": 1}[d.retry] == 1 and pickle.loads(pickle.dumps(d.give_up)) is d.give_up
    assert _core.Errc.connection_reset == "connection_reset" and _core.ErrorClass.none == "none"


def test_attempt_fields_are_the_bound_class_fields() -> None:
    bound = {n for n, v in vars(_core.Attempt).items() if isinstance(v, property)}
    assert bound == set(_core.Attempt.FIELDS) == {f.name for f in dataclasses.fields(AttemptInfo)}  # no drift


def test_the_error_table_names_only_native_codes() -> None:
    codes = {c.value for c in _core.Errc}
    assert set(errors._BY_ERRC) <= codes, set(errors._BY_ERRC) - codes


def test_route_log_members(fp: FakeProvider) -> None:
    fp.script("m-a", [Fault.reset()])
    with OpenAI(config=make_config(fp)) as client:
        info = route_info(ask(client))
    assert info is not None
    first, served = info.attempts[0], info.attempts[-1]
    assert isinstance(first.decision, _core.Decision) and first.decision in ("retry", "failover", "retry_transparent")
    assert isinstance(first.error, _core.Errc) and first.error == "connection_reset"
    assert isinstance(first.error_class, _core.ErrorClass) and first.error_class != "none"
    assert served.decision is _core.Decision.served and served.decision == "served" and info.served == served
    assert served.error == "" and served.error_class == "none"  # absent error: "" as before
    assert str(served).endswith("-> served")


def test_snapshot_rows_are_the_bound_fields(fp: FakeProvider) -> None:
    with OpenAI(config=make_config(fp)) as client:
        rows = client.router_snapshot()
        native = client._router.router.snapshot()  # type: ignore[attr-defined]
    assert rows and all(list(r) == list(_core.TargetSnapshot.FIELDS) for r in rows)
    assert isinstance(native[0], _core.TargetSnapshot) and native[0]["state"] == native[0].state == rows[0]["state"]
    with pytest.raises(KeyError):
        native[0]["no_such_field"]


def test_a_connection_error_carries_an_errc_member() -> None:
    with OpenAI(api_key="sk-x", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=2.0) as client:
        with pytest.raises(APIConnectionError) as info:
            ask(client, model="m")
    cause = info.value.__cause__
    assert isinstance(cause, errors.TransportError) and isinstance(cause.errc, _core.Errc)


# --- one validation, both clients --------------------------------------------------------------


def _plain(fp: FakeProvider, **kw: Any) -> OpenAI:
    return OpenAI(api_key="sk-x", base_url=fp.base_url, **kw)


def _routed(fp: FakeProvider, **kw: Any) -> OpenAI:
    return OpenAI(config=make_config(fp), **kw)


def _refusal(make: Callable[[], Any]) -> tuple[type, str]:
    with pytest.raises(Exception) as info:
        client = make()
        try:
            pass
        finally:
            client.close()
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    "kw",
    [
        pytest.param({"max_retries": -1}, id="max_retries-negative"),
        pytest.param({"max_retries": 10**7}, id="max_retries-huge"),
        pytest.param({"io_threads": 0}, id="io_threads-0"),
        pytest.param({"io_threads": 65}, id="io_threads-65"),
        pytest.param({"max_retries": "3"}, id="max_retries-str"),
        pytest.param({"max_retries": 2.5}, id="max_retries-float"),
        pytest.param({"io_threads": 2.5}, id="io_threads-float"),
        pytest.param({"io_threads": "2"}, id="io_threads-str"),
    ],
)
def test_client_options_refused_alike(fp: FakeProvider, kw: dict[str, Any]) -> None:
    plain = _refusal(lambda: _plain(fp, **kw))
    assert plain == _refusal(lambda: _routed(fp, **kw))
    name, value = next(iter(kw.items()))
    assert plain[0] is (ValueError if isinstance(value, int) else TypeError) and name in plain[1]
    assert "Invoked with" not in plain[1]  # not pybind11's message listing every argument


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-A": "v\r\nX-Injected: 1"}, id="crlf-value"),
        pytest.param({"X-A": "v\x00"}, id="nul-value"),
        pytest.param({"Bad Name": "v"}, id="non-token-name"),
        pytest.param({"": "v"}, id="empty-name"),
    ],
)
def test_request_headers_refused_alike(fp: FakeProvider, headers: dict[str, str]) -> None:
    messages: list[tuple[type, str]] = []
    for make in (_plain, _routed):
        with make(fp, max_retries=0) as client, pytest.raises(APIConnectionError) as info:
            ask(client, extra_headers=headers)
        messages.append((type(info.value), str(info.value)))
        assert "X-Injected" not in str(info.value)
    assert messages[0] == messages[1]
    assert fp.attempts() == []  # nothing reached the wire


@pytest.mark.parametrize("timeout", [-1.0, 0.0, math.nan, -math.inf])
def test_request_timeouts_refused_alike(fp: FakeProvider, timeout: float) -> None:
    refusals = []
    for make in (_plain, _routed):
        with make(fp, max_retries=0) as client, pytest.raises(ValueError) as info:
            ask(client, timeout=timeout)
        refusals.append(str(info.value))
    assert refusals[0] == refusals[1] and refusals[0].startswith("timeout must be > 0 seconds"), refusals
    assert fp.attempts() == []


@pytest.mark.parametrize("timeout", [math.inf, 1e300, 10**400])
def test_huge_timeouts_mean_no_limit_alike(fp: FakeProvider, timeout: float) -> None:
    for make in (_plain, _routed):
        with make(fp, max_retries=0) as client:
            assert ask(client, timeout=timeout).choices[0].message.content


def test_native_attempts_read_like_the_dicts_they_were(fp: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    real = _routing._route_of
    monkeypatch.setattr(_routing, "_route_of", lambda native, degraded: seen.append(native) or real(native, degraded))
    with OpenAI(config=make_config(fp)) as client:
        info = route_info(ask(client))
        assert info is not None and info.served is not None
    served = seen[-1].served
    assert isinstance(served, _core.Attempt)
    assert served["provider"] == served.get("provider") == served.provider == info.served.provider
    assert served.get("no_such_field", 1) == 1
    with pytest.raises(KeyError):
        served["no_such_field"]
    # an attempt built in Python (a cache's replayed answer) is still a mapping of some fields
    built = {"attempt": 1, "group": "g", "target": "t", "deployment": "d", "provider": "p", "model": "m"}
    assert AttemptInfo.from_native({**built, "decision": "cache_hit"}).decision == "cache_hit"
