"""A throw-away redis-server on a unix socket for the tests that need one (batch jobs, the cache).

Tests import ``redis_url`` (a fixture; ``redis_tls`` is one speaking only TLS) and ``REDIS_MARK`` (skips with the reason when Debian's
redis-server or redis-py is missing; scripts/setup.sh installs both).
"""

from __future__ import annotations

import gc
import importlib.util
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def stop(server: subprocess.Popen[bytes]) -> None:
    # A router the test left to the garbage collector (held by a cycle, e.g. an exception's
    # traceback) still polls its shared state: collect it first, or its "Redis ...: Broken pipe"
    # warning would be printed during the next test, into that test's captured stderr.
    gc.collect()
    server.terminate()
    server.wait(timeout=10)


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
        stop(server)


@dataclass
class TlsRedis:
    """A redis-server speaking only TLS on 127.0.0.1 (``redis_tls`` fixture), with a password."""

    port: int
    password: str
    ca: Path  # the CA that signed the server's certificate (for 127.0.0.1 and localhost)
    other_ca: Path  # a CA that did not

    @property
    def url(self) -> str:
        return f"rediss://:{self.password}@127.0.0.1:{self.port}"

    def client(self) -> Any:
        import redis

        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.password,
            ssl=True,
            ssl_ca_certs=str(self.ca),
            ssl_check_hostname=False,  # the name check is the code under test's, not the fixture's
        )


@pytest.fixture
def redis_tls(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TlsRedis]:
    """Debian's redis-server 7 with --tls-port and no plain port (built with TLS on Debian 12).
    Indirect parameter "wrong_name": its certificate (from the same CA) names wrong.invalid only."""
    import redis
    from _servers import free_port, make_tls_material, unavailable

    tls = make_tls_material(tmp_path / "tls")
    other = make_tls_material(tmp_path / "other")
    port = free_port()
    log = tmp_path / "redis-tls.log"
    wrong = getattr(request, "param", "") == "wrong_name"
    cert, key = (tls["wrong_cert"], tls["wrong_key"]) if wrong else (tls["cert"], tls["key"])
    argv = [str(REDIS_SERVER), "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert)]
    argv += ["--tls-key-file", str(key), "--tls-ca-cert-file", str(tls["ca"]), "--tls-auth-clients", "no"]
    argv += ["--requirepass", "hunter2", "--save", "", "--appendonly", "no", "--logfile", str(log)]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = TlsRedis(port=port, password="hunter2", ca=tls["ca"], other_ca=other["ca"])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if out.client().ping():
                    break
            except redis.RedisError:
                if server.poll() is not None or time.monotonic() > deadline:
                    text = log.read_text() if log.exists() else ""
                    unavailable(f"redis-server would not start with TLS on port {port}: {text[-500:]}")
                time.sleep(0.05)
        yield out
    finally:
        stop(server)
