"""Redis over TLS (``rediss://``; docs/config.md "Shared state" and "Cache"): shared state and the
exact cache against a real redis-server that speaks only TLS (tests/py/_redis.py ``redis_tls``:
Debian's redis-server 7 with --tls-port, a throw-away CA from tests/py/_servers.py, a password).

The server's certificate is checked against ``ca_file`` (or the system trust store): a certificate
from another CA is refused with one warning and the local fallback, never a failed request."""

from __future__ import annotations

import time
from typing import Any

import pytest
from _redis import REDIS_MARK, TlsRedis
from llmfailover import InternalServerError, OpenAI, route_info
from llmfailover.testing import FakeProvider, Fault

pytestmark = REDIS_MARK

MESSAGES = [{"role": "user", "content": "Hi"}]
POLICY: dict[str, Any] = {
    "timeouts": {"first_token": "1s", "idle": "1s", "deadline": "3s"},
    "retry": {"max_attempts": 1, "backoff_base": "10ms", "backoff_cap": "50ms"},
}


def config(fp: FakeProvider, *, state: dict[str, Any] | None = None, cache: dict[str, Any] | None = None) -> Any:
    policy = dict(POLICY, breaker={"consecutive_failures": 2, "open_base": "5s", "open_jitter": 0})
    if cache is not None:
        policy["cache"] = {"type": "redis", "ttl": "10m", "timeout": "500ms", **cache}
    deployment = {"id": "s", "model": "m-s", "base_url": fp.base_url, "api_key": "key-s"}
    out: dict[str, Any] = {"groups": {"solo": {"deployments": [deployment], "policy": policy}}}
    if state is not None:
        out["state"] = {"redis": {"prefix": "t:", "poll": "100ms", "timeout": "500ms", **state}}
    return out


def published_pttl(server: TlsRedis, key: str = "t:b:s") -> int:
    """The breaker key's PTTL once the router's refresher thread has written it (it publishes
    asynchronously, within its poll period), read over TLS by redis-py; -2 if it never came."""
    deadline = time.monotonic() + 2.0
    while (pttl := int(server.client().pttl(key))) < 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    return pttl


def stderr_once_it_says(capfd: pytest.CaptureFixture[str], text: str, wait: float = 3.0) -> str:
    """What the process wrote to stderr, read until it says `text` or `wait` seconds pass. The
    state's refresher thread connects on its own schedule (its first poll with a breaker to
    watch, within `poll`), so a few fast calls can end before it has even tried."""
    err, deadline = "", time.monotonic() + wait
    while text not in err and time.monotonic() < deadline:
        time.sleep(0.02)
        err += capfd.readouterr().err
    return err


def is_open(client: OpenAI) -> bool:
    return any(s["target"] == "s" and s["state"] == "open" for s in client.router_snapshot())


def test_shared_breaker_round_trip_over_tls(fp: FakeProvider, redis_tls: TlsRedis) -> None:
    cfg = config(fp, state={"url": redis_tls.url, "ca_file": str(redis_tls.ca)})
    fp.set_default("m-s", Fault.status(500))
    with OpenAI(config=cfg, api_key="t") as watcher, OpenAI(config=cfg, api_key="t") as client:
        assert not is_open(watcher)
        for _ in range(2):
            with pytest.raises(InternalServerError):
                client.chat.completions.create(model="solo", messages=MESSAGES)
        opened = time.monotonic()
        assert 3000 < published_pttl(redis_tls) <= 5000  # written over TLS
        while not is_open(watcher) and time.monotonic() - opened < 5:
            time.sleep(0.02)
        seen = time.monotonic() - opened
        print(f"rediss: breaker seen open by another router {seen:.3f} s after")
        assert seen < 1.0  # read back over TLS by the other router's poll (100 ms)
    assert len(fp.attempts()) == 2


@pytest.mark.parametrize("trust", ["other_ca", "system"])
def test_an_untrusted_certificate_is_refused_with_a_warning_and_local_state(
    fp: FakeProvider, redis_tls: TlsRedis, capfd: pytest.CaptureFixture[str], trust: str
) -> None:
    state: dict[str, Any] = {"url": redis_tls.url}
    if trust == "other_ca":
        state["ca_file"] = str(redis_tls.other_ca)
    with OpenAI(config=config(fp, state=state), api_key="t") as client:
        started = time.monotonic()
        for _ in range(5):
            client.chat.completions.create(model="solo", messages=MESSAGES)  # never a failed request
        assert time.monotonic() - started < 2.0
        err = stderr_once_it_says(capfd, "using local state")
    assert len(fp.attempts()) == 5
    print(err.strip())
    assert "llmfailover: state: Redis rediss://:***@127.0.0.1" in err, err
    assert "the server's certificate is not trusted" in err and "using local state" in err, err
    assert "hunter2" not in err
    assert redis_tls.client().keys("t:*") == []  # nothing reached the server


@pytest.mark.parametrize("redis_tls", ["wrong_name"], indirect=True)
def test_a_certificate_for_another_name_is_refused(
    fp: FakeProvider, redis_tls: TlsRedis, capfd: pytest.CaptureFixture[str]
) -> None:
    # Signed by the trusted CA, but for wrong.invalid, not 127.0.0.1: hiredis alone would accept it.
    with OpenAI(config=config(fp, state={"url": redis_tls.url, "ca_file": str(redis_tls.ca)}), api_key="t") as c:
        c.chat.completions.create(model="solo", messages=MESSAGES)
        err = stderr_once_it_says(capfd, "not trusted")
    print(err.strip())
    assert "the server's certificate is not trusted (IP address mismatch)" in err, err
    assert len(fp.attempts()) == 1


def test_skip_verify_connects_to_an_untrusted_server(fp: FakeProvider, redis_tls: TlsRedis) -> None:
    cfg = config(fp, state={"url": redis_tls.url, "tls_skip_verify": True})
    fp.set_default("m-s", Fault.status(500))
    with OpenAI(config=cfg, api_key="t") as client:
        for _ in range(2):
            with pytest.raises(InternalServerError):
                client.chat.completions.create(model="solo", messages=MESSAGES)
        assert published_pttl(redis_tls) > 0


def test_exact_cache_over_tls(fp: FakeProvider, redis_tls: TlsRedis) -> None:
    cfg = config(fp, cache={"url": redis_tls.url, "ca_file": str(redis_tls.ca)})
    with OpenAI(config=cfg, api_key="t1") as a, OpenAI(config=cfg, api_key="t1") as b:
        first = a.chat.completions.create(model="solo", messages=MESSAGES, temperature=0)
        second = b.chat.completions.create(model="solo", messages=MESSAGES, temperature=0)
    assert route_info(first).cache_hit is False  # type: ignore[union-attr]
    assert route_info(second).cache_hit is True  # type: ignore[union-attr]
    assert second.choices[0].message.content == first.choices[0].message.content
    assert len(fp.attempts()) == 1
    assert len(redis_tls.client().keys("llmfailover:cache:*")) == 1


def test_exact_cache_with_the_wrong_ca_is_skipped(
    fp: FakeProvider, redis_tls: TlsRedis, capfd: pytest.CaptureFixture[str]
) -> None:
    cfg = config(fp, cache={"url": redis_tls.url, "ca_file": str(redis_tls.other_ca)})
    with OpenAI(config=cfg, api_key="t1") as c:
        for _ in range(3):
            r = c.chat.completions.create(model="solo", messages=MESSAGES, temperature=0)
            assert route_info(r).cache_hit is False  # type: ignore[union-attr]
    assert len(fp.attempts()) == 3
    err = capfd.readouterr().err
    assert "llmfailover: cache: Redis rediss://:***@127.0.0.1" in err and "not trusted" in err, err
    assert "hunter2" not in err
