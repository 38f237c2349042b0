"""State shared by many processes through Redis (``state: {redis: ...}``; README "Many processes"):
a fleet-wide rpm held by four processes, a breaker opened in one process seen open in another
within a second, and a Redis killed mid-run costing no request.

Each test starts its own ``redis-server`` (tests/py/_redis.py, on a Unix socket in tmp_path); the
processes are plain ``python -c`` children talking to the test's FakeProvider over 127.0.0.1."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from _redis import REDIS_MARK
from llmfailover import InternalServerError, OpenAI
from llmfailover.testing import FakeProvider, Fault

pytestmark = REDIS_MARK
redis = pytest.importorskip("redis", reason="redis-py is not installed (the 'test' extra has it)")

MESSAGES = [{"role": "user", "content": "Hi"}]
POLICY: dict[str, Any] = {
    "timeouts": {"first_token": "1s", "idle": "1s", "deadline": "3s"},
    "retry": {"max_attempts": 1, "backoff_base": "10ms", "backoff_cap": "50ms"},
}


def config(fp: FakeProvider, url: str, window: str = "60s", **dep: Any) -> dict[str, Any]:
    pol = dict(POLICY, **dep.pop("policy", {}))
    deployment = {"id": "s", "model": "m-s", "base_url": fp.base_url, "api_key": "key-s", **dep}
    return {
        "groups": {"solo": {"deployments": [deployment], "policy": pol}},
        "state": {"redis": {"url": url, "prefix": "t:", "window": window, "poll": "100ms"}},
    }


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready", p.stderr


# Says "ready", reads the wall times to start and stop at from stdin, sends from 4 threads in
# between; prints the answers and refusals.
HAMMER = """
import json, sys, threading, time
from llmfailover import OpenAI
cfg = json.load(open(sys.argv[1]))
counts = {"ok": 0, "refused": 0}
lock = threading.Lock()
with OpenAI(config=cfg, api_key="t") as client:
    print("ready", flush=True)
    start, stop = map(float, sys.stdin.readline().split())
    def run():
        while time.time() < stop:
            try:
                client.chat.completions.create(model="solo", messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
                key = "ok"
            except Exception:
                key = "refused"
                time.sleep(0.005)
            with lock:
                counts[key] += 1
    while time.time() < start:
        time.sleep(0.002)
    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads: t.start()
    for t in threads: t.join()
print(json.dumps(counts), flush=True)
"""


def test_four_processes_hold_a_fleet_rpm(fp: FakeProvider, redis_url: str, tmp_path: Path) -> None:
    window = 3.0
    rpm = 4000  # 200 per 3 s window across the fleet; each process alone would allow 4000 per minute
    limit = rpm * window / 60
    (tmp_path / "cfg.json").write_text(json.dumps(config(fp, redis_url, window="3s", rpm=rpm)))
    procs = [spawn(HAMMER, str(tmp_path / "cfg.json")) for _ in range(4)]
    wait_ready(procs)
    # All four send inside one window of the wall clock (the windows every process computes alike).
    start = math.ceil((time.time() + 0.2) / window) * window + 0.1
    stop = start + window - 0.5
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(f"{start} {stop}\n")
        p.stdin.flush()
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    counts = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    hits = len(fp.attempts())
    print(f"fleet: {hits} upstream hits for a limit of {limit:.0f}; per process {counts}")
    assert sum(c["ok"] for c in counts) == hits
    assert sum(c["refused"] for c in counts) > 0, (hits, counts)  # the fleet asked for more than its limit
    assert 0.95 * limit <= hits <= 1.05 * limit, (hits, counts)


# Polls its router until target "s" is open; prints the wall time it saw it.
WATCH = """
import json, sys, time
from llmfailover import OpenAI
cfg = json.load(open(sys.argv[1]))
with OpenAI(config=cfg, api_key="t") as client:
    print("ready", flush=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        if any(s["target"] == "s" and s["state"] == "open" for s in client.router_snapshot()):
            print(time.time(), flush=True)
            break
        time.sleep(0.01)
"""


def test_a_breaker_opened_in_one_process_is_open_in_the_others_within_a_second(
    fp: FakeProvider, redis_url: str, tmp_path: Path
) -> None:
    breaker = {"consecutive_failures": 2, "open_base": "5s", "open_jitter": 0}
    cfg = config(fp, redis_url, policy={"breaker": breaker})
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    watchers = [spawn(WATCH, str(tmp_path / "cfg.json")) for _ in range(2)]
    wait_ready(watchers)
    fp.set_default("m-s", Fault.status(500))
    with OpenAI(config=cfg, api_key="t") as client:
        for _ in range(2):
            with pytest.raises(InternalServerError):
                client.chat.completions.create(model="solo", messages=MESSAGES)
        opened = time.time()
        assert next(s for s in client.router_snapshot() if s["target"] == "s")["state"] == "open"
        # The open state is written to Redis by the io thread after the answer is delivered, so
        # under load the caller may look before it is there: wait for the key (bounded).
        store = redis.Redis.from_url(redis_url)
        while (pttl := store.pttl("t:b:s")) < 0 and time.time() - opened < 2.0:
            time.sleep(0.005)
        assert 4000 - 1000 * (time.time() - opened) < pttl <= 5000  # it lives as long as the open wait
        for w in watchers:
            out, err = w.communicate(timeout=20)
            assert w.returncode == 0, err
            assert out.strip(), "the other process never saw the breaker open"
            print(f"breaker: seen open in another process {float(out.strip()) - opened:.3f} s after")
            assert float(out.strip()) - opened < 1.0
    assert len(fp.attempts()) == 2  # the other processes sent nothing to it


def test_killing_redis_mid_run_loses_no_request(
    fp: FakeProvider, redis_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    answers: list[float] = []
    errors: list[BaseException] = []
    with OpenAI(config=config(fp, redis_url, rpm=100_000, tpm=10_000_000), api_key="t") as client:

        def run() -> None:
            for _ in range(30):
                started = time.monotonic()
                try:
                    client.chat.completions.create(model="solo", messages=MESSAGES, max_tokens=1)
                    answers.append(time.monotonic() - started)
                except BaseException as e:  # noqa: BLE001 (every failure is the test's finding)
                    errors.append(e)
                time.sleep(0.01)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.15)
        try:
            redis.Redis.from_url(redis_url).shutdown(nosave=True)
        except redis.RedisError:
            pass  # the server closes the connection as it goes
        for t in threads:
            t.join(timeout=30)
        from llmfailover import metrics

        assert sum(s.state_fallbacks for s in metrics.snapshots()) == 1  # llmfailover_state_fallback_total
    assert errors == []
    assert len(answers) == 120 == len(fp.attempts())
    assert max(answers) < 1.0  # never held up past Redis's timeout by much
    err = capfd.readouterr().err
    assert err.count("llmfailover: state: Redis") == 1, err  # one warning per outage
    assert "using local state" in err
