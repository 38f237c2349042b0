"""The semantic answer cache: ``cache: {type: semantic, embeddings: <group>, threshold: 0.95}``.

A chat request to a group with a semantic cache is split in two (README "Caching"):

* an exact **bucket**: everything that changes the answer except the conversation's wording —
  the caller's namespace (a digest of its API key, plus the request's ``user``), the group, stream
  or whole, every other body field (temperature, tools, response_format, max_tokens, ...), the
  system/developer messages verbatim, the roles in order and any non-text content part;
* the **prompt**: the user and assistant messages' text, whitespace collapsed, one "role: text"
  line each. It is embedded by the configured embeddings group, routed (with failover) by the same
  router, and looked up among the bucket's stored prompts in a faiss index (cosine).

A stored answer is served when the nearest prompt's cosine similarity is >= ``threshold``; the same
prompt text in the same bucket is served without an embeddings call. Vectors of different
embedding models are never compared: the model that served the embeddings is part of the bucket.

The lookup is a call object (``SemanticCall``) that the client drives like a native call: the
embeddings call runs first, natively, then either the stored answer is replayed or the chat call
starts. Nothing blocks: the async client awaits it through the same notifier as any call.

Never served from the cache, never stored: the per-request opt-out, requests with ``tools`` or
``functions`` (unless ``allow_tools: true``), errors, degraded answers, cut streams. An embeddings
failure skips the cache with a warning (counted in ``stats()``): the call goes upstream as usual.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from types import SimpleNamespace
from typing import Any, Callable, Optional

from ._semantic_store import Entry, Settings, Store

__all__ = ["SemanticCache", "SemanticCall", "prompt_of"]

_log = logging.getLogger("llmfailover")

# Body fields that never change the answer: `model` is the group, `user` is in the namespace.
_NOT_IN_BUCKET = ("model", "user", "metadata", "stream", "messages")
_EMBEDDED_ROLES = ("user", "assistant")
WARN_EVERY = 60.0  # seconds between two warnings of one group's embeddings failing


def _text_of(content: Any) -> tuple[str, list[Any]]:
    """A message's text and its non-text parts (images, audio, ...: matched exactly)."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    texts, other = [], []
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        else:
            other.append(part)
    return "\n".join(texts), other


def prompt_of(body: dict[str, Any]) -> tuple[str, list[Any]]:
    """The text to embed and the messages as matched exactly (their embedded text taken out)."""
    lines, exact = [], []
    for m in body.get("messages") or []:
        if not isinstance(m, dict):
            exact.append(m)
            continue
        role = m.get("role")
        if role not in _EMBEDDED_ROLES or m.get("tool_calls") or m.get("function_call"):
            exact.append(m)  # system/developer instructions, tool traffic: verbatim
            continue
        text, other = _text_of(m.get("content"))
        lines.append(f"{role}: {' '.join(text.split())}")
        exact.append({**{k: v for k, v in m.items() if k != "content"}, "parts": other})
    return "\n".join(lines), exact


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class SemanticCache:
    """The semantic caches of one router's groups (``CacheSettings.semantic``). ``clock`` (seconds,
    monotonic) is what TTLs are measured on: tests set it. ``stats()`` counts outcomes per group."""

    def __init__(self, groups: dict[str, dict[str, Any]], clock: Callable[[], float] = time.monotonic) -> None:
        try:
            import faiss  # noqa: F401
            import numpy  # noqa: F401
        except ImportError as e:
            from .config import ConfigError

            raise ConfigError(
                f"cache type: semantic needs faiss-cpu and numpy ({e}): pip install 'llmfailover[semantic]'"
            ) from None
        self.clock = clock
        self._stores = {g: Store(Settings(**s), self._now) for g, s in groups.items()}
        self._counts: dict[tuple[str, str], int] = {}
        self._quiet_until: dict[str, float] = {}  # group -> no embeddings-failure warning before
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self.clock()

    def should_warn(self, group: str) -> bool:
        """Whether to log an embeddings failure now: once per ``WARN_EVERY`` seconds per group."""
        now = time.monotonic()
        with self._lock:
            if now < self._quiet_until.get(group, 0.0):
                return False
            self._quiet_until[group] = now + WARN_EVERY
            return True

    def count(self, group: str, outcome: str) -> None:
        with self._lock:
            self._counts[(group, outcome)] = self._counts.get((group, outcome), 0) + 1

    def stats(self) -> dict[str, dict[str, int]]:
        """group -> outcome -> calls: hit, miss, stored, skipped_tools, skipped_embeddings, opt_out;
        plus ``entries`` (answers kept now)."""
        with self._lock:
            out: dict[str, dict[str, int]] = {g: {"entries": len(s)} for g, s in self._stores.items()}
            for (g, outcome), n in self._counts.items():
                out[g][outcome] = n
        return out

    def covers(self, spec: Any) -> bool:
        """Whether this call goes through the semantic cache (a chat call to a group that has one)."""
        if spec.path != "/chat/completions" or spec.method != "POST" or spec.model not in self._stores:
            return False
        if (spec.route or {}).get("cache") is False:
            self.count(spec.model, "opt_out")
            return False
        return True

    def call(self, spec: Any, send: Callable[..., Any], api_key: str) -> Any:
        """The call for ``spec``: a SemanticCall, or the routed chat call itself when the request
        is not cacheable. ``send(spec, spent=0.0)`` starts a native call, its deadline shortened
        by the ``spent`` seconds (the embeddings call's part of the caller's timeout)."""
        store = self._stores[spec.model]
        try:
            body = json.loads(spec.body)
        except (TypeError, ValueError):
            body = None
        if not isinstance(body, dict):
            return send(spec)
        if not store.settings.allow_tools and any(body.get(k) for k in ("tools", "functions")):
            self.count(spec.model, "skipped_tools")
            return send(spec)
        from ._routing import cache_namespace

        text, exact_messages = prompt_of(body)
        rest = {k: v for k, v in body.items() if k not in _NOT_IN_BUCKET}
        namespace = (cache_namespace(api_key) if api_key else "", body.get("user"))
        base = _digest(namespace, spec.model, bool(spec.stream), rest, exact_messages)
        exact = _digest(base, text)
        hit, similarity = store.exact(exact)
        if hit is not None:
            self.count(spec.model, "hit")
            return SemanticCall.replay(spec.model, hit, similarity, None)
        return SemanticCall(self, store, spec, send, base, exact, text)


def _served(group: str, similarity: float) -> dict[str, Any]:
    """The one route log entry of a replayed answer (``RouteInfo.cache_hit`` reads its decision)."""
    return {
        "attempt": 1,
        "group": group,
        "target": "semantic-cache",
        "deployment": "",
        "provider": "cache",
        "model": group,
        "status": 200,
        "error_class": "none",
        "reason": f"semantic hit ({similarity:.4f})",
        "decision": "cache_hit",
        "elapsed_ms": 0.0,
    }


_FREE = SimpleNamespace(  # the cost of an answer that made no upstream call (cost.Cost.from_native)
    cost=SimpleNamespace(total=0.0, input=0.0, cached=0.0, output=0.0, reasoning=0.0),
    usage=SimpleNamespace(input=0, output=0, cached=0, reasoning=0),
    usage_known=True,
    deployment="",
    unknown_reason="",
    waste_usd=0.0,
    wasted_attempts=0,
)


class SemanticCall:
    """A chat call through the semantic cache, with the native call's interface (``poll``,
    ``wait``, ``set_notify``, ``cancel`` and the route properties). Phases: the embeddings call,
    then the replayed answer (a hit) or the chat call, whose events are recorded on their way."""

    def __init__(self, cache: SemanticCache, store: Store, spec: Any, send: Callable[..., Any], *key: str) -> None:
        self._cache, self._store, self._spec, self._send = cache, store, spec, send
        self._base, self._exact, text = key
        self._group = spec.model
        self._inner: Any = None  # the chat call or the replayed answer, once known
        self._notify: Optional[tuple[Any, int]] = None
        self._events: list[Any] = []  # the embeddings call's, until it ends
        self._record: Optional[list[Any]] = None  # a miss's answer, as it arrives
        self._vector: Any = None
        self._bucket = ""
        self.similarity: Optional[float] = None
        body = {"model": store.settings.embeddings, "input": text, "encoding_format": "float"}
        embed_spec = SimpleNamespace(
            model=store.settings.embeddings,
            method="POST",
            path="/embeddings",
            body=json.dumps(body).encode(),
            stream=False,
            route={k: v for k, v in (spec.route or {}).items() if k == "deadline"},
        )
        self._cost: Any = None
        self._started = time.monotonic()
        try:
            self._embed = send(embed_spec)
        except Exception as e:  # never fails the call: it goes upstream without the cache
            self._embed = None
            self._skip(type(e).__name__)

    @classmethod
    def replay(cls, group: str, entry: Entry, similarity: float, cost: Any) -> "SemanticCall":
        call = cls.__new__(cls)
        call._group, call._notify, call._record, call._embed = group, None, None, None
        call._start_replay(entry, similarity, cost)
        return call

    def _start_replay(self, entry: Entry, similarity: float, cost: Any) -> None:
        from ._routing import FinishedCall

        self.similarity = similarity
        self._cost = cost if cost is not None else _FREE
        status, headers = entry.events[0][1], list(entry.events[0][2])
        headers += [("x-llmfailover-cache", "semantic-hit"), ("x-llmfailover-cache-similarity", f"{similarity:.4f}")]
        self._inner = FinishedCall([("head", status, headers), *entry.events[1:], ("end",)])
        self._served = _served(self._group, similarity)

    # --- phases -----------------------------------------------------------------------------

    def _embedded(self, events: list[Any]) -> None:
        """Takes the embeddings call's events; at its end, serves the stored answer or starts the chat."""
        self._events.extend(events)
        if not any(e[0] in ("end", "error") for e in events):
            return
        vector, why = self._vector_of(self._events)
        cache, group = self._cache, self._group
        if vector is None:
            self._skip(why)
            return
        served = self._embed.served or {}
        self._bucket = _digest(self._base, served.get("provider"), served.get("model"), len(vector))
        self._vector = vector
        entry, similarity = self._store.nearest(self._bucket, vector)
        if entry is not None:
            cache.count(group, "hit")
            self._store.alias(entry, self._exact, similarity)
            self._start_replay(entry, similarity, self._embed.cost)
            _log.debug("llmfailover: group %r: semantic hit (%.4f)", group, similarity)
        else:
            cache.count(group, "miss")
            self._start_chat(record=True)
            _log.debug("llmfailover: group %r: semantic miss (best %.4f)", group, similarity)

    def _skip(self, why: str) -> None:
        self._cache.count(self._group, "skipped_embeddings")
        if self._cache.should_warn(self._group):
            _log.warning(
                "llmfailover: semantic cache of group %r skipped: the embeddings group %r failed (%s); "
                "calls go upstream without it (this warning: at most once a minute per group; "
                "every one is counted as skipped_embeddings)",
                self._group,
                self._store.settings.embeddings,
                why,
            )
        self._start_chat(record=False)

    def _vector_of(self, events: list[Any]) -> tuple[Any, str]:
        import numpy as np

        status, body = 0, []
        for e in events:
            if e[0] == "head":
                status = e[1]
            elif e[0] == "body":
                body.append(e[1])
            elif e[0] == "error":
                return None, f"{e[1]}"
        if not 200 <= status <= 299:
            return None, f"status {status}"
        try:
            data = json.loads(b"".join(body))["data"][0]["embedding"]
            vector = np.asarray(data, dtype=np.float32)
            norm = float(np.linalg.norm(vector))
        except (ValueError, KeyError, IndexError, TypeError):
            return None, "an embeddings answer without data[0].embedding as a list of numbers"
        if vector.ndim != 1 or not vector.size or not np.isfinite(norm) or norm == 0:
            return None, "an embeddings answer whose vector is empty, zero or not finite"
        return vector / norm, ""

    def _start_chat(self, *, record: bool) -> None:
        self._record = [] if record else None
        self._inner = self._send(self._spec, time.monotonic() - self._started)
        if self._notify is not None:
            self._inner.set_notify(*self._notify)

    def _recorded(self, events: list[Any]) -> list[Any]:
        rec = self._record
        if rec is None:
            return events
        for e in events:
            kind = e[0]
            if kind == "head":
                degraded = any(k.lower() == "x-llmfailover-degraded" for k, _ in e[2])
                if not 200 <= e[1] <= 299 or degraded:  # an error or a degraded answer: never stored
                    self._record = None
                    break
                rec.append(e)
            elif kind in ("body", "sse"):
                rec.append(e)
                if kind == "sse" and e[2] in (b"[DONE]", "[DONE]"):  # where a stream's reader stops
                    self._put(rec)
                    break
            elif kind == "end":
                self._put(rec)
            elif kind == "error":
                self._record = None  # a cut stream or a broken body: never stored
                break
        return events

    def _put(self, rec: list[Any]) -> None:
        """Stores a complete answer: at its end, or at a stream's [DONE] (its reader stops there and
        may never take the end event)."""
        self._record = None
        self._store.put(self._bucket, self._exact, self._vector, rec)
        self._cache.count(self._group, "stored")

    # --- the native call's interface ---------------------------------------------------------

    def poll(self) -> list[Any]:
        if self._inner is None:
            self._embedded(self._embed.poll())
            if self._inner is None:
                return []
        return self._recorded(self._inner.poll())

    def wait(self, timeout: Optional[float] = None, until_end: bool = False) -> list[Any]:
        if self._inner is None:
            until = None if timeout is None else time.monotonic() + timeout
            while self._inner is None:
                left = None if until is None else until - time.monotonic()
                if left is not None and left <= 0:
                    return []
                self._embedded(self._embed.wait(left, True))
            timeout = None if until is None else max(0.0, until - time.monotonic())
        return self._recorded(self._inner.wait(timeout, until_end))

    def set_notify(self, notifier: Any, token: int) -> None:
        self._notify = (notifier, token)
        (self._inner if self._inner is not None else self._embed).set_notify(notifier, token)

    def cancel(self) -> None:
        for call in (self._embed, self._inner):
            if call is not None:
                call.cancel()

    def _hit(self) -> bool:
        return self.similarity is not None

    @property
    def finished(self) -> bool:
        return self._inner is not None and bool(self._inner.finished)

    @property
    def retries_taken(self) -> int:
        return 0 if self._inner is None or self._hit() else int(self._inner.retries_taken)

    @property
    def served(self) -> Any:
        return self._served if self._hit() else None if self._inner is None else self._inner.served

    @property
    def route_log(self) -> list[Any]:
        return [self._served] if self._hit() else [] if self._inner is None else self._inner.route_log

    @property
    def degraded(self) -> bool:
        return False if self._hit() or self._inner is None else bool(self._inner.degraded)

    @property
    def cost(self) -> Any:
        return self._cost if self._hit() else _FREE if self._inner is None else self._inner.cost

    @property
    def capture(self) -> Any:  # a hit's route is already a copy: RouteInfo.lazy reads it from here
        return None if self._hit() or self._inner is None else getattr(self._inner, "capture", None)
