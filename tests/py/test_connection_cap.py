"""``max_connections_per_origin=``: the per-origin connection cap is the caller's to set (issue 14).

Eight concurrent requests to one slow origin open at most the cap's number of connections; the
others wait for a free one (and all are answered). Plain and routed clients, and the transport.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from llmfailover import OpenAI
from llmfailover.testing import Fault

MESSAGES = [{"role": "user", "content": "hi"}]


def _opened(client: Any) -> int:
    handle = client._engine
    native = handle.router if hasattr(handle, "router") else handle.engine
    return int(native.pool_stats()["connections_opened"])


@pytest.mark.parametrize("routed", [False, True], ids=["plain", "routed"])
@pytest.mark.parametrize("cap", [1, 3])
def test_concurrent_requests_open_at_most_the_cap(fp: Any, routed: bool, cap: int) -> None:
    fp.set_default("slow", Fault.ok("done").replace(delay_before_headers=0.15))
    if routed:
        config = {"groups": {"slow": {"deployments": [{"model": "slow", "base_url": fp.base_url, "api_key": "k"}]}}}
        client = OpenAI(config=config, max_connections_per_origin=cap)
    else:
        client = OpenAI(api_key="k", base_url=fp.base_url, max_connections_per_origin=cap)
    with client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: client.chat.completions.create(model="slow", messages=MESSAGES), range(8)))
        assert [a.choices[0].message.content for a in answers] == ["done"] * 8
        assert _opened(client) <= cap


@pytest.mark.parametrize("bad", [0, -1])
def test_a_cap_below_one_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="max_connections_per_origin"):
        OpenAI(api_key="k", base_url="http://127.0.0.1:9", max_connections_per_origin=bad)


def test_the_default_cap_follows_the_open_file_limit() -> None:
    """Half RLIMIT_NOFILE within 256..4096 (issue 14: a fixed 256 ran 1,000 streams in waves)."""
    import resource

    from llmfailover._routing import DEFAULT_MAX_CONNECTIONS

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    expected = 4096 if soft == resource.RLIM_INFINITY else max(256, min(4096, soft // 2))
    assert DEFAULT_MAX_CONNECTIONS == expected
    assert DEFAULT_MAX_CONNECTIONS > 256 or soft < 1024
