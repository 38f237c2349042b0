"""The exact cache's Redis backend (``cache: {type: redis, url: ...}``) against a real redis-server:
answers shared by separate routers (and processes), a malformed entry dropped and replaced, and a
down or silent Redis skipped within its short timeout, with a warning, never failing a request.

Each test starts its own ``redis-server`` (Debian's, installed by scripts/setup.sh) on a Unix
socket in tmp_path, as tests/py/test_batch_redis.py does; skipped with the reason when absent."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _redis import REDIS_MARK
from llmfailover import OpenAI, route_info
from llmfailover.testing import FakeProvider
from test_router import MESSAGES, make_config

pytestmark = REDIS_MARK
redis = pytest.importorskip("redis", reason="redis-py is not installed (the 'test' extra has it)")


def config(fp: FakeProvider, url: str, **cache: Any) -> dict[str, Any]:
    return make_config(fp, cache={"type": "redis", "url": url, "ttl": "10m", **cache})


def ask(c: OpenAI, **kw: Any) -> Any:
    return c.chat.completions.create(model="smart", messages=MESSAGES, **{"temperature": 0, **kw})


def test_two_routers_share_answers_through_redis(fp: FakeProvider, redis_url: str) -> None:
    cfg = config(fp, redis_url)
    with OpenAI(config=cfg, api_key="t1") as one, OpenAI(config=cfg, api_key="t1") as two:
        first = ask(one)
        second = ask(two)  # another router: only Redis can have the answer
        assert route_info(second).cache_hit is True  # type: ignore[union-attr]
        assert second.id == first.id
        assert len(fp.attempts()) == 1
        streamed = "".join(c.choices[0].delta.content or "" for c in ask(one, stream=True) if c.choices)
        replay = ask(two, stream=True)
        assert route_info(replay).cache_hit is True  # type: ignore[union-attr]
        assert "".join(c.choices[0].delta.content or "" for c in replay if c.choices) == streamed
        assert len(fp.attempts()) == 2
    keys = redis.Redis.from_url(redis_url).keys("llmfailover:cache:*")
    assert len(keys) == 2
    assert 0 < redis.Redis.from_url(redis_url).pttl(keys[0]) <= 600_000  # Redis expires it


def test_another_process_gets_the_answer(fp: FakeProvider, redis_url: str, tmp_path: Path) -> None:
    import json

    cfg = config(fp, redis_url)
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    with OpenAI(config=cfg, api_key="t1") as c:
        ask(c)
    script = (
        "import json, sys\n"
        "from llmfailover import OpenAI, route_info\n"
        "cfg = json.load(open(sys.argv[1]))\n"
        "with OpenAI(config=cfg, api_key='t1') as c:\n"
        "    r = c.chat.completions.create(model='smart', messages=[{'role': 'user', 'content': 'Hi'}],"
        " temperature=0)\n"
        "    print(route_info(r).cache_hit)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "cfg.json")], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
    assert len(fp.attempts()) == 1


def test_malformed_entry_is_dropped_not_served(fp: FakeProvider, redis_url: str) -> None:
    with OpenAI(config=config(fp, redis_url), api_key="t1") as c:
        ask(c)
        r = redis.Redis.from_url(redis_url)
        (key,) = r.keys("llmfailover:cache:*")
        for bad in (b"not json", b'{"v":1,"status":200,"headers":[],"events":[["body",3]]}'):
            r.set(key, bad)
            answer = ask(c)
            assert route_info(answer).cache_hit is False  # type: ignore[union-attr]
            assert answer.choices[0].message.content == "Hello from m-a."
        assert len(fp.attempts()) == 3
        assert route_info(ask(c)).cache_hit is True  # type: ignore[union-attr] # stored again, whole
        assert len(fp.attempts()) == 3


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


def test_a_down_redis_is_skipped_with_a_warning(fp: FakeProvider, capfd: pytest.CaptureFixture[str]) -> None:
    url = f"redis://:hunter2@127.0.0.1:{closed_port()}"
    with OpenAI(config=config(fp, url), api_key="t1") as c:
        started = time.monotonic()
        for _ in range(5):
            assert route_info(ask(c)).cache_hit is False  # type: ignore[union-attr]
        assert time.monotonic() - started < 2.0
    assert len(fp.attempts()) == 5  # every request served, from upstream
    err = capfd.readouterr().err
    assert "llmfailover: cache: Redis" in err and "skipping the cache" in err
    assert "hunter2" not in err  # the password is never shown
    assert err.count("skipping the cache") == 1  # once per outage, not per request


def test_a_silent_redis_costs_at_most_its_timeout(fp: FakeProvider) -> None:
    # A server that accepts connections and never answers: every command would wait forever.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    try:
        with OpenAI(config=config(fp, f"redis://127.0.0.1:{port}", timeout="300ms"), api_key="t1") as c:
            ask(c)  # warm-up: the connection pool to the upstream
            started = time.monotonic()
            first = ask(c)  # the cache was marked down by the warm-up's timeout: skipped
            assert route_info(first).cache_hit is False  # type: ignore[union-attr]
            assert time.monotonic() - started < 0.25  # no 300 ms wait: skipped outright
            time.sleep(1.1)  # the skip period ends: the next call tries Redis once more
            started = time.monotonic()
            ask(c)
            elapsed = time.monotonic() - started
            assert 0.29 <= elapsed < 1.5  # one GET timeout (300 ms), then skipped
    finally:
        silent.close()
    assert len(fp.attempts()) == 3
