"""A batch job shared by several processes through Redis Streams (https://redis.io/docs/latest/develop/data-types/streams/).

Keys under ``<prefix>:<job>``: ``:meta`` (a hash: the input's digest and size), ``:stream`` (one
entry per request to send, holding its index; consumer group ``workers``) and ``:results`` (a
hash: index -> result record). Every worker reads the same input file; the first one loads the
stream in one MULTI/EXEC transaction (WATCH on ``:meta``), the others find it loaded.

A worker reads new entries with XREADGROUP, answers each with HSETNX on ``:results`` then XACK
(one MULTI/EXEC), and every ``claim_idle / 3`` s resets the idle time of the entries it still
holds (XCLAIM ... JUSTID to itself). A worker killed with entries in flight stops doing that: after
``claim_idle`` s the others take them over with XAUTOCLAIM. Exactly once in the output: a result
is stored with HSETNX under the request's index (a second answer, from a worker thought dead, is
dropped), and an entry whose result already exists is acknowledged without sending. The job is
finished when ``:results`` has one field per input entry; each worker then writes the output.
Pacing is shared: each worker takes 1/N of a group's rpm/tpm, N being the consumers seen within
``claim_idle`` (counted every heartbeat; the routers' own limits stay per process).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional
from urllib.parse import urlsplit

from ._input import Item
from ._records import item_error_record
from ._store import BatchStateError, Totals

__all__ = ["RedisStore", "redact_url"]

GROUP = "workers"
CONNECT_TIMEOUT_S = 2.0
SOCKET_TIMEOUT_S = 10.0


def redact_url(url: str) -> str:
    """``url`` without its password: in the user info (redis://user:secret@host) and in the query
    (unix:///run/redis.sock?password=secret, redis-py's form for sockets)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable Redis URL>"
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rsplit('@', 1)[1]}"
    query = "&".join(
        f"{k}=***" if k.lower() == "password" else (f"{k}={v}" if sep else k)
        for k, sep, v in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    # Not urlunsplit: it drops the empty host of unix:///path.
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


class RedisStore:
    def __init__(self, url: str, key: str, items: list[Item], digest: str, *, claim_idle: float) -> None:
        try:
            import redis
        except ImportError:
            raise BatchStateError("a Redis batch needs redis-py: pip install 'llmfailover[batch]'") from None
        self._redis_error = redis.RedisError
        self.items = items
        self.totals = Totals()
        self.workers = 1  # live consumers of the job, counted every heartbeat
        self._url = redact_url(url)
        self._stream, self._results, self._meta = f"{key}:stream", f"{key}:results", f"{key}:meta"
        self._consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._claim_idle_ms = max(int(claim_idle * 1000), 1)
        self._held: dict[int, bytes] = {}  # index -> stream entry id, for entries this worker holds
        self._writes: list[tuple[int, bytes, str]] = []
        self._next_autoclaim = self._next_beat = 0.0
        try:
            self._r = redis.Redis.from_url(
                url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=SOCKET_TIMEOUT_S
            )
            self._r.ping()
            self._load(digest, redis.WatchError)
            self._count_finished(initial=True)
        except redis.RedisError as e:
            raise BatchStateError(f"cannot use Redis at {self._url}: {type(e).__name__}: {e}") from None
        except ValueError as e:  # from_url: an unknown scheme or a bad URL
            raise BatchStateError(f"bad Redis URL {self._url}: {e}") from None

    @property
    def total(self) -> int:
        return len(self.items)

    def _load(self, digest: str, watch_error: type[Exception]) -> None:
        with self._r.pipeline() as p:
            while True:
                try:
                    p.watch(self._meta)  # type: ignore[no-untyped-call]
                    known = p.hget(self._meta, "digest")
                    if known is not None:
                        p.unwatch()
                        if (known.decode() if isinstance(known, bytes) else known) != digest:
                            raise BatchStateError(
                                f"the Redis job {self._meta[: -len(':meta')]!r} at {self._url} belongs to a "
                                "different input (other requests); pass another --job name"
                            )
                        return
                    p.multi()
                    p.hset(self._meta, mapping={"digest": digest, "total": len(self.items)})
                    p.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
                    for it in self.items:
                        if it.problem:
                            p.hset(self._results, str(it.index), json.dumps(_entry(item_error_record(it), False)))
                        else:
                            p.xadd(self._stream, {"i": it.index})
                    p.execute()
                    return
                except watch_error:
                    continue  # another worker loaded it meanwhile: read what it wrote

    def _count_finished(self, initial: bool = False) -> None:
        if initial:  # counts of what earlier runs and other workers did, for the progress bar
            for raw in self._r.hvals(self._results):
                e = json.loads(raw)
                self.totals.add(e["ok"], e["failovers"], e["tokens"], e["cost"])
        else:
            self.totals.finished = int(self._r.hlen(self._results))

    # --- the job's side ----------------------------------------------------------------------

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except self._redis_error as e:
            raise BatchStateError(f"Redis at {self._url} failed: {type(e).__name__}: {e}") from None

    def claim(self, n: int) -> list[Item]:
        with self._guard():
            return self._claim(n)

    def _claim(self, n: int) -> list[Item]:
        entries: list[tuple[bytes, Any]] = []
        now = time.monotonic()
        if now >= self._next_autoclaim:  # a dead worker's entries, idle for claim_idle
            self._next_autoclaim = now + min(self._claim_idle_ms / 2000, 1.0)
            reply: Any = self._r.xautoclaim(self._stream, GROUP, self._consumer, self._claim_idle_ms, "0-0", count=n)
            entries += reply[1]
        if len(entries) < n:
            read: Any = self._r.xreadgroup(GROUP, self._consumer, {self._stream: ">"}, count=n - len(entries))
            entries += read[0][1] if read else []
        if not entries:
            return []
        with self._r.pipeline(transaction=False) as p:
            for _, fields in entries:
                p.hexists(self._results, (fields or {}).get(b"i", b"-1"))
            answered = p.execute()
        out, stale = [], []
        for (entry_id, fields), done in zip(entries, answered):
            if done or not fields:  # answered by a worker that died before its XACK, or trimmed
                stale.append(entry_id)
                continue
            idx = int(fields[b"i"])
            if idx in self._held:  # our own entry, taken back after a missed heartbeat: in flight already
                continue
            self._held[idx] = entry_id
            out.append(self.items[idx])
        if stale:
            self._r.xack(self._stream, GROUP, *stale)
        return out

    def release(self, items: list[Item]) -> None:
        """Nothing to do: entries not acknowledged go to another worker after claim_idle."""

    def complete(self, item: Item, record: dict[str, Any], ok: bool, failovers: int, tokens: int, cost: Any) -> None:
        entry = json.dumps(_entry(record, ok, failovers, tokens, cost))
        self._writes.append((item.index, self._held.pop(item.index, b""), entry))
        self.totals.add(ok, failovers, tokens, cost)

    def commit(self) -> None:
        with self._guard():
            if self._writes:
                with self._r.pipeline(transaction=True) as p:
                    for idx, entry_id, entry in self._writes:
                        p.hsetnx(self._results, str(idx), entry)
                        if entry_id:
                            p.xack(self._stream, GROUP, entry_id)
                    p.execute()
                self._writes = []
            now = time.monotonic()
            if now >= self._next_beat:
                self._next_beat = now + self._claim_idle_ms / 3000
                if self._held:  # still working on these: reset their idle time (XCLAIM to ourselves)
                    self._r.xclaim(self._stream, GROUP, self._consumer, 0, list(self._held.values()), justid=True)
                self._count_finished()
                self._count_workers()

    def _count_workers(self) -> None:
        """Consumers seen within claim_idle (the rest are dead or done): the pacer's share."""
        consumers: Any = self._r.xinfo_consumers(self._stream, GROUP)
        live = {c["name"] for c in consumers if int(c.get("idle", 0)) < self._claim_idle_ms}
        live.add(self._consumer.encode())
        self.workers = len(live)

    def all_finished(self) -> bool:
        self.commit()
        with self._guard():
            return int(self._r.hlen(self._results)) >= self.total

    def wait_for_work(self, timeout: float) -> None:
        time.sleep(min(timeout, 0.1))

    def records(self) -> Iterator[dict[str, Any]]:
        with self._guard():
            fields = self._r.hgetall(self._results)
        for idx in sorted(int(k) for k in fields):
            yield json.loads(fields[str(idx).encode()])["record"]

    def close(self) -> None:
        try:  # leave the group if we hold nothing (XGROUP DELCONSUMER drops a consumer's pending entries)
            pending: Any = self._r.xpending_range(self._stream, GROUP, "-", "+", 1, consumername=self._consumer)
            if not pending:
                self._r.xgroup_delconsumer(self._stream, GROUP, self._consumer)
        except Exception:  # noqa: BLE001 - Redis gone: it keeps the name, harmless
            pass
        try:
            self._r.close()
        except Exception:  # noqa: BLE001 - closing a broken connection
            pass


def _entry(record: dict[str, Any], ok: bool, failovers: int = 0, tokens: int = 0, cost: Optional[float] = None) -> Any:
    return {"record": record, "ok": ok, "failovers": failovers, "tokens": tokens, "cost": cost}
