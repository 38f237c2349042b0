"""The semantic answer cache (``cache: {type: semantic}``; README "Caching", _semantic.py).

Chat answers come from the FakeProvider (its attempts are counted); embeddings from the toy
embedder (_embedder.py), whose vectors the tests control: "What is the capital of France?" and
"Tell me the French capital, please" embed alike, "... of Germany?" has cosine 0.5 to them."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from typing import Any, Iterator

import pytest
from _embedder import Embedder
from llmfailover import APITimeoutError, AsyncOpenAI, OpenAI, route_info
from llmfailover.config import ConfigError
from llmfailover.testing import FakeProvider, Fault

pytest.importorskip("faiss")

FRANCE = [{"role": "user", "content": "What is the capital of France?"}]
PARAPHRASE = [{"role": "user", "content": "Tell me   the French capital, please"}]
GERMANY = [{"role": "user", "content": "What is the capital of Germany?"}]
# Generous timeouts: attempts are counted, and a loaded machine must not turn one into a retry.
POLICY: dict[str, Any] = {
    "timeouts": {"first_token": "5s", "idle": "5s", "deadline": "20s"},
    "retry": {"backoff_base": "10ms", "backoff_cap": "50ms"},
}
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]


@pytest.fixture
def emb() -> Iterator[Embedder]:
    with Embedder() as e:
        yield e


def config(fp: FakeProvider, emb: Embedder, **cache: Any) -> dict[str, Any]:
    semantic = {"type": "semantic", "embeddings": "emb", "threshold": 0.95, "ttl": "10m", **cache}
    embed_policy = {**POLICY, "retry": {**POLICY["retry"], "max_attempts": 2}}
    return {
        "groups": {
            "smart": {
                "deployments": [{"id": "a", "model": "m-a", "base_url": fp.base_url, "api_key": "key-a"}],
                "policy": {**POLICY, "cache": semantic},
            },
            "emb": {
                "deployments": [{"id": "e", "model": "toy-embed", "base_url": emb.base_url, "api_key": "key-e"}],
                "policy": embed_policy,
            },
        }
    }


def ask(c: OpenAI, messages: list[dict[str, Any]], **kw: Any) -> Any:
    return c.chat.completions.create(model="smart", messages=messages, **{"temperature": 0, **kw})


def test_a_paraphrase_is_served_without_a_chat_attempt(fp: FakeProvider, emb: Embedder) -> None:
    with OpenAI(config=config(fp, emb), api_key="tenant-1") as c:
        first = ask(c, FRANCE)
        assert route_info(first).cache_hit is False  # type: ignore[union-attr]
        assert len(fp.attempts()) == 1 and emb.requests == 1
        second = ask(c, PARAPHRASE)
        assert len(fp.attempts()) == 1  # no chat attempt
        info = route_info(second)
        assert info is not None and info.cache_hit is True
        assert info.cache_similarity == pytest.approx(1.0)
        assert "semantic hit (1.0000)" in str(info)
        assert second.choices[0].message.content == first.choices[0].message.content
        assert emb.requests == 2
        assert emb.inputs[1] == "user: Tell me the French capital, please"  # whitespace collapsed
        raw = c.chat.completions.with_raw_response.create(model="smart", messages=PARAPHRASE, temperature=0)
        assert raw.headers["x-llmfailover-cache"] == "semantic-hit"
        assert emb.requests == 2  # the same text again: found without an embeddings call
        stats = c._router.semantic.stats()["smart"]
        assert stats["hit"] == 2 and stats["miss"] == 1 and stats["stored"] == 1 and stats["entries"] == 1


def test_below_the_threshold_is_a_miss(fp: FakeProvider, emb: Embedder) -> None:
    with OpenAI(config=config(fp, emb), api_key="k") as c:
        ask(c, FRANCE)
        other = ask(c, GERMANY)  # cosine 0.5
        assert route_info(other).cache_hit is False  # type: ignore[union-attr]
        assert route_info(other).cache_similarity is None  # type: ignore[union-attr]
        assert len(fp.attempts()) == 2
    with OpenAI(config=config(fp, emb, threshold=0.4), api_key="k") as c:
        ask(c, FRANCE)
        low = ask(c, GERMANY)  # the same pair, under a threshold it passes
        assert route_info(low).cache_similarity == pytest.approx(0.5)  # type: ignore[union-attr]
        embedded = emb.requests
        again = ask(c, GERMANY)  # the text it served is remembered: no embeddings call
        assert route_info(again).cache_similarity == pytest.approx(0.5)  # type: ignore[union-attr]
        assert emb.requests == embedded and len(fp.attempts()) == 3


def test_answer_changing_fields_must_match_exactly(fp: FakeProvider, emb: Embedder) -> None:
    with OpenAI(config=config(fp, emb), api_key="k") as c:
        ask(c, FRANCE)
        ask(c, PARAPHRASE, temperature=0.5)
        ask(c, PARAPHRASE, max_tokens=5)
        ask(c, [{"role": "system", "content": "Answer in German."}, *PARAPHRASE])
        assert len(fp.attempts()) == 4
        assert route_info(ask(c, PARAPHRASE, user=None)).cache_hit  # type: ignore[union-attr]


def test_another_api_key_or_user_never_sees_the_answer(fp: FakeProvider, emb: Embedder) -> None:
    with OpenAI(config=config(fp, emb), api_key="tenant-1") as c:
        ask(c, FRANCE)
        other = ask(c.with_options(api_key="tenant-2"), PARAPHRASE)  # shares the router and cache
        assert route_info(other).cache_hit is False  # type: ignore[union-attr]
        assert route_info(ask(c, PARAPHRASE, user="alice")).cache_hit is False  # type: ignore[union-attr]
        assert len(fp.attempts()) == 3


def test_tool_call_requests_are_refused_unless_allowed(fp: FakeProvider, emb: Embedder) -> None:
    with OpenAI(config=config(fp, emb), api_key="k") as c:
        for _ in range(2):
            r = ask(c, FRANCE, tools=TOOLS)
            assert route_info(r).cache_hit is False  # type: ignore[union-attr]
        assert len(fp.attempts()) == 2 and emb.requests == 0  # not even embedded
        assert c._router.semantic.stats()["smart"]["skipped_tools"] == 2
    with OpenAI(config=config(fp, emb, allow_tools=True), api_key="k") as c:
        ask(c, FRANCE, tools=TOOLS)
        assert route_info(ask(c, PARAPHRASE, tools=TOOLS)).cache_hit  # type: ignore[union-attr]
        assert len(fp.attempts()) == 3


def test_per_request_opt_out(fp: FakeProvider, emb: Embedder) -> None:
    with OpenAI(config=config(fp, emb), api_key="k") as c:
        ask(c, FRANCE)
        off = ask(c, FRANCE, extra_body={"llmfailover": {"cache": False}})
        assert route_info(off).cache_hit is False  # type: ignore[union-attr]
        assert len(fp.attempts()) == 2 and emb.requests == 1


def test_entries_expire_on_the_injected_clock(fp: FakeProvider, emb: Embedder) -> None:
    now = [1000.0]
    with OpenAI(config=config(fp, emb, ttl="60s"), api_key="k") as c:
        c._router.semantic.clock = lambda: now[0]
        ask(c, FRANCE)
        now[0] += 59.0
        assert route_info(ask(c, PARAPHRASE)).cache_hit  # type: ignore[union-attr]
        now[0] += 1.0  # 60 s after it was stored
        assert route_info(ask(c, PARAPHRASE)).cache_hit is False  # type: ignore[union-attr]
        assert len(fp.attempts()) == 2


def test_max_entries_evicts_the_least_recently_used(fp: FakeProvider, emb: Embedder) -> None:
    with OpenAI(config=config(fp, emb, max_entries=1), api_key="k") as c:
        ask(c, FRANCE)
        ask(c, GERMANY)  # evicts France
        assert route_info(ask(c, PARAPHRASE)).cache_hit is False  # type: ignore[union-attr]
        assert c._router.semantic.stats()["smart"]["entries"] == 1


def test_embeddings_down_skips_the_cache_with_a_warning(
    fp: FakeProvider, emb: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    emb.fail_with = 503
    with OpenAI(config=config(fp, emb), api_key="k") as c, caplog.at_level(logging.WARNING, "llmfailover"):
        for _ in range(2):
            r = ask(c, FRANCE)
            assert r.choices[0].message.content == "Hello from m-a."  # answered all the same
            assert route_info(r).cache_hit is False  # type: ignore[union-attr]
        assert len(fp.attempts()) == 2
        assert emb.requests == 4  # two attempts each (max_attempts 2), then given up
        assert c._router.semantic.stats()["smart"]["skipped_embeddings"] == 2
    warnings = [r.getMessage() for r in caplog.records if "semantic cache" in r.getMessage()]
    assert len(warnings) == 1 and "'emb' failed (status 503)" in warnings[0]  # once a minute, not per call
    assert "key-e" not in caplog.text and "key-a" not in caplog.text


def test_the_callers_timeout_covers_the_embeddings_call_too(fp: FakeProvider, emb: Embedder) -> None:
    emb.delay = 1.0
    fp.script("m-a", [Fault.slow_headers(1.0)])
    with OpenAI(config=config(fp, emb), api_key="k", max_retries=0) as c:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):  # 1 s + 1 s > 1.6 s, though each alone is within it
            ask(c, FRANCE, timeout=1.6)
        assert time.monotonic() - started < 1.6 + 0.5


def test_a_stream_is_stored_and_replayed_as_a_stream(fp: FakeProvider, emb: Embedder) -> None:
    def text(chunks: Any) -> str:
        return "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)

    with OpenAI(config=config(fp, emb), api_key="k") as c:
        first = list(ask(c, FRANCE, stream=True))
        s = ask(c, PARAPHRASE, stream=True)
        assert route_info(s).cache_hit is True  # type: ignore[union-attr]
        replay = list(s)
        assert text(replay) == text(first) == "Hello from m-a." and len(replay) == len(first)
        assert route_info(ask(c, PARAPHRASE)).cache_hit is False  # type: ignore[union-attr]  # whole != stream
        assert len(fp.attempts()) == 2


def test_async_client_hits_without_blocking_the_loop(fp: FakeProvider, emb: Embedder) -> None:
    async def main() -> None:
        async with AsyncOpenAI(config=config(fp, emb), api_key="k") as c:
            await c.chat.completions.create(model="smart", messages=FRANCE, temperature=0)
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0)

            t = asyncio.create_task(ticker())
            r = await c.chat.completions.create(model="smart", messages=PARAPHRASE, temperature=0)
            t.cancel()
            assert route_info(r).cache_hit is True  # type: ignore[union-attr]
            assert ticks > 0  # the loop ran while the embeddings call was in flight
            s = await c.chat.completions.create(model="smart", messages=PARAPHRASE, temperature=0, stream=True)
            assert [ch async for ch in s]  # a miss (stream), answered upstream and stored
            emb.fail_with = 503
            r = await c.chat.completions.create(model="smart", messages=GERMANY, temperature=0)
            assert r.choices[0].message.content == "Hello from m-a."

    asyncio.run(main())
    assert len(fp.attempts()) == 3


@pytest.mark.parametrize(
    "cache, match",
    [
        ({"embeddings": "nope"}, "unknown group 'nope'"),
        ({"threshold": 0}, r"threshold.*\(0, 1\]"),
        ({"threshold": 1.5}, r"threshold.*\(0, 1\]"),
        ({"max_entries": 0}, "max_entries"),
        ({"url": "redis://127.0.0.1:1"}, "url"),
        ({"embeddings": None}, "needs `embeddings`"),
    ],
)
def test_bad_semantic_config_is_refused_naming_the_key(
    fp: FakeProvider, emb: Embedder, cache: dict[str, Any], match: str
) -> None:
    cfg = config(fp, emb, **cache)
    with pytest.raises(ConfigError, match=match):
        OpenAI(config=cfg)


def test_semantic_keys_on_an_exact_cache_are_refused(fp: FakeProvider, emb: Embedder) -> None:
    cfg = config(fp, emb)
    cfg["groups"]["smart"]["policy"]["cache"] = {"type": "memory", "threshold": 0.9}
    with pytest.raises(ConfigError, match="only for type: semantic"):
        OpenAI(config=cfg)


def test_a_top_level_semantic_cache_names_its_embeddings_group(fp: FakeProvider, emb: Embedder) -> None:
    cfg = config(fp, emb)
    del cfg["groups"]["smart"]["policy"]["cache"]
    cfg["cache"] = {"type": "semantic", "embeddings": "missing"}
    with pytest.raises(ConfigError, match=r"cache\.embeddings.*unknown group 'missing'"):
        OpenAI(config=cfg)


def test_outcomes_are_scraped_as_metrics(fp: FakeProvider, emb: Embedder) -> None:
    prometheus_client = pytest.importorskip("prometheus_client")
    from llmfailover import metrics
    from test_metrics import scrape, value

    registry = prometheus_client.CollectorRegistry()
    metrics.register(registry)
    try:
        with OpenAI(config=config(fp, emb), api_key="k") as c:
            ask(c, FRANCE)
            ask(c, PARAPHRASE)
            emb.fail_with = 503
            ask(c, GERMANY)
            f = scrape(registry)
            total = "llmfailover_semantic_cache_total"
            assert value(f, "llmfailover_semantic_cache", total, group="smart", outcome="hit") == 1
            assert value(f, "llmfailover_semantic_cache", total, group="smart", outcome="miss") == 1
            assert value(f, "llmfailover_semantic_cache", total, group="smart", outcome="skipped_embeddings") == 1
            entries = "llmfailover_semantic_cache_entries"
            assert value(f, entries, entries, group="smart") == 1
    finally:
        metrics.unregister(registry)


def test_a_large_bucket_is_searched_through_the_faiss_index() -> None:
    np = pytest.importorskip("numpy")
    from llmfailover._semantic_store import _INDEX_FROM, Settings, Store

    now = [0.0]
    store = Store(Settings("emb", threshold=0.95, ttl=60.0, max_entries=150, allow_tools=False), lambda: now[0])
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(200, 64)).astype(np.float32)  # random: cosine ~0 +- 0.13 to each other
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for i, v in enumerate(vectors):
        store.put("b", f"x{i}", v, [("head", 200, []), ("body", str(i).encode())])
    bucket = store._buckets["b"]
    assert _INDEX_FROM < 150 and bucket.index is not None
    assert len(store) == bucket.index.ntotal == 150  # the 50 least recently used were evicted, index included
    for i in (50, 51, 120, 199):
        noise = rng.normal(size=64).astype(np.float32)
        q = vectors[i] + 0.2 * noise / np.linalg.norm(noise)  # cosine ~0.98 to vectors[i]
        entry, similarity = store.nearest("b", q / np.linalg.norm(q))
        assert entry is not None and entry.events[1][1] == str(i).encode()
        assert 0.95 <= similarity < 1.0
    assert store.nearest("b", vectors[0])[0] is None  # evicted
    assert store.nearest("other", vectors[60]) == (None, 0.0)  # another bucket
    now[0] = 60.0
    assert store.nearest("b", vectors[60])[0] is None  # expired, and dropped
    assert bucket.index.ntotal == len(store) < 150  # the candidates it looked at


def test_the_vector_library_leaves_the_native_core_s_c_plus_plus_runtime_alone() -> None:
    """usearch 2.26's wheel links its own libstdc++ statically and binds the locale facet ids to
    the process's: imported before or after _core, every `ostream << int` in the core then failed
    silently ("Fault{status=" for "Fault{status=429, ...}"). The index library must not do that."""
    code = (
        "import faiss\n"
        "from llmfailover import _core\n"
        "from llmfailover.testing import Fault\n"
        "print(repr(Fault.rate_limited(retry_after=2)._to_core(_core)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Fault{status=429, headers=[Retry-After: 2]" in out.stdout
