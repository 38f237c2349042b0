"""A throw-away redis-server on a unix socket for the tests that need one (batch jobs, the cache).

Tests import ``redis_url`` (a fixture) and ``REDIS_MARK`` (skips with the reason when Debian's
redis-server or redis-py is missing; scripts/setup.sh installs both).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server")
REDIS_MARK = [
    pytest.mark.skipif(
        REDIS_SERVER is None, reason="redis-server is not installed (scripts/setup.sh installs Debian's redis-server)"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("redis") is None, reason="redis-py is not installed (the 'test' extra has it)"
    ),
]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    import redis

    sock = tmp_path / "redis.sock"
    server = subprocess.Popen(
        [str(REDIS_SERVER), "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"unix://{sock}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis.from_url(url).ping():
                    break
            except redis.RedisError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
