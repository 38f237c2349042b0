"""Batch jobs shared by several workers through Redis Streams, against a real redis-server.

Each test starts its own ``redis-server`` (Debian's, installed by scripts/setup.sh) on a Unix
socket in tmp_path (no TCP port at all), and skips with the reason when the binary is absent.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import llmfailover
import pytest
from _redis import REDIS_MARK, REDIS_SERVER
from llmfailover.batch import BatchStateError
from llmfailover.testing import FakeProvider, Fault
from test_batch import assert_exactly_once, make_config, read_output, request, write_input

pytestmark = REDIS_MARK
redis = pytest.importorskip("redis", reason="redis-py is not installed (the 'batch' and 'test' extras have it)")


def _worker(src: Path, cfg: Path, out: Path, url: str) -> subprocess.Popen[bytes]:
    args = ["--redis", url, "--job", "j", "--claim-idle", "2", "--concurrency", "4", "--no-progress"]
    return subprocess.Popen(
        [sys.executable, "-m", "llmfailover", "batch", str(src), "--config", str(cfg), "--output", str(out), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_three_workers_one_killed_answer_every_custom_id_exactly_once(tmp_path: Path, redis_url: str) -> None:
    n = 600
    src = write_input(tmp_path / "in.jsonl", n)
    cfg = tmp_path / "router.json"
    r = redis.Redis.from_url(redis_url)
    with FakeProvider(threads=2) as fp:
        fp.set_default("*", Fault.slow_headers(0.1))  # <= 40 requests/s per worker: the job outlives start-ups
        cfg.write_text(json.dumps(make_config(fp)))
        workers = [_worker(src, cfg, tmp_path / f"out{i}.jsonl", redis_url) for i in range(3)]
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # all three reading, and the job not half done
                consumers = (
                    r.xinfo_consumers("llmfailover:batch:j:stream", "workers")
                    if r.exists("llmfailover:batch:j:stream")
                    else []
                )
                if len(consumers) == 3 and len(fp.attempts()) >= 50:
                    break
                time.sleep(0.05)
            done_at_kill = r.hlen("llmfailover:batch:j:results")
            workers[1].send_signal(signal.SIGKILL)
            for w in (workers[0], workers[2]):
                _, err = w.communicate(timeout=60)
                assert w.returncode == 0, err.decode()
            sent = len(fp.attempts())
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
                    w.wait()
                if w.stderr:
                    w.stderr.close()
    assert workers[1].returncode == -signal.SIGKILL
    assert 0 < done_at_kill < n, done_at_kill
    for out in ("out0.jsonl", "out2.jsonl"):
        records = read_output(tmp_path / out)
        assert_exactly_once(records, n)
        assert all(rec["response"]["status_code"] == 200 for rec in records)
    assert r.xpending("llmfailover:batch:j:stream", "workers")["pending"] == 0
    assert len(r.xinfo_consumers("llmfailover:batch:j:stream", "workers")) == 1  # the killed one; the others left
    r.close()
    assert n <= sent <= n + 4, sent  # at most the killed worker's in-flight requests were sent twice


def test_a_finished_redis_job_run_again_sends_nothing(tmp_path: Path, redis_url: str) -> None:
    items = [request(i) for i in range(20)] + ["not a request"]
    with FakeProvider() as fp:
        kw: dict[str, Any] = {"config": make_config(fp), "redis": redis_url, "progress": False, "job": "k"}
        first = llmfailover.batch(items, output=tmp_path / "a.jsonl", **kw)
        again = llmfailover.batch(items, output=tmp_path / "b.jsonl", **kw)
        assert len(fp.attempts()) == 20
        with pytest.raises(
            BatchStateError, match="the Redis job 'llmfailover:batch:k' .* belongs to a different input"
        ):
            llmfailover.batch(items[:5], **kw)
    assert (first.succeeded, first.failed) == (20, 1)
    assert again.records == first.records == read_output(tmp_path / "b.jsonl")


@pytest.mark.parametrize(
    "url, shown",
    [
        ("redis://user:hunter2@h:6379/0", "redis://user:***@h:6379/0"),
        ("rediss://:hunter2@h/1?ssl_cert_reqs=none", "rediss://:***@h/1?ssl_cert_reqs=none"),
        ("unix:///run/r.sock?db=2&password=hunter2", "unix:///run/r.sock?db=2&password=***"),
        ("redis://h:6379", "redis://h:6379"),
    ],
)
def test_redis_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    from llmfailover.batch._redis import redact_url

    assert redact_url(url) == shown


def test_a_password_protected_redis_works_and_a_wrong_password_is_a_clear_error(tmp_path: Path) -> None:
    sock = tmp_path / "auth.sock"
    server = subprocess.Popen(
        [str(REDIS_SERVER), "--port", "0", "--unixsocket", str(sock), "--save", "", "--requirepass", "hunter2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        with FakeProvider() as fp:
            kw: dict[str, Any] = {"config": make_config(fp), "progress": False}
            ok = llmfailover.batch([request(0)], redis=f"unix://{sock}?password=hunter2", **kw)
            assert ok.succeeded == 1 and ok.state == f"unix://{sock}?password=***"
            with pytest.raises(BatchStateError, match=r"password=\*\*\*") as info:
                llmfailover.batch([request(0)], redis=f"unix://{sock}?password=wrong", **kw)
        assert "wrong" not in str(info.value)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_workers_count_each_other_for_pacing(redis_url: str) -> None:
    from llmfailover.batch._input import fingerprint, load_items
    from llmfailover.batch._redis import RedisStore

    items = load_items([request(i) for i in range(10)])
    stores = [RedisStore(redis_url, "p:j", items, fingerprint(items), claim_idle=5) for _ in range(3)]
    try:
        for s in stores[:2]:
            assert len(s.claim(3)) == 3
        stores[0].commit()
        assert stores[0].workers == 2  # the third has not read yet: not a consumer
        assert stores[2].claim(3) and (stores[2].commit() or stores[2].workers) == 3
    finally:
        for s in stores:
            s.close()


def test_an_unreachable_redis_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with FakeProvider() as fp:
        started = time.monotonic()
        with pytest.raises(BatchStateError) as info:
            llmfailover.batch(
                [request(0)], config=make_config(fp), redis=f"redis://user:hunter2@127.0.0.1:{port}/0", progress=False
            )
        assert time.monotonic() - started < 10
        assert fp.attempts() == []
    message = str(info.value)
    assert f"cannot use Redis at redis://user:***@127.0.0.1:{port}/0" in message and "hunter2" not in message
