"""The durable state of a batch job in one SQLite file (https://www.sqlite.org/wal.html).

One row per input entry: its request, its state (``pending``, ``in_flight``, ``done``, ``failed``)
and, once finished, its result record. The row's custom_id is UNIQUE, and a result is written in
the same transaction that finishes the row, so a request is answered at most once in the file;
the output is written from the file at the end (``write_jsonl``: temp file and rename), so a crash
at any point cannot lose or duplicate an output line. A kill -9 leaves ``in_flight`` rows: the next
run sends them again (the upstream may see such a request twice; the output has it once).

WAL mode with ``synchronous=NORMAL``: a commit survives the process dying (not a power cut,
https://www.sqlite.org/pragma.html#pragma_synchronous). ``locking_mode=EXCLUSIVE`` holds the file
for the whole run, so a second process on the same job gets a clear error instead of racing.
The store is used from one thread (the job's), which commits once per round of results.
"""

from __future__ import annotations

import json
import sqlite3
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

from ._input import BatchError, Item
from ._records import item_error_record

__all__ = ["BatchStateError", "SqliteStore", "Totals"]

SCHEMA_VERSION = "1"
BUSY_TIMEOUT_S = 1.0  # how long to wait for a lock another process holds before saying so


class BatchStateError(BatchError):
    """The job's state (SQLite file or Redis) cannot be used; the message names the file or URL."""


class Totals:
    """Counts for the progress bar: finished, failed, failovers, tokens, cost (USD, None if unknown)."""

    def __init__(self) -> None:
        self.finished = self.failed = self.failovers = self.tokens = 0
        self.cost: Optional[float] = None

    def add(self, ok: bool, failovers: int, tokens: int, cost: Optional[float]) -> None:
        self.finished += 1
        self.failed += 0 if ok else 1
        self.failovers += failovers
        self.tokens += tokens
        if cost is not None:
            self.cost = (self.cost or 0.0) + cost


class SqliteStore:
    def __init__(self, path: Path, items: list[Item], fingerprint: str, *, retry_failed: bool = False) -> None:
        self.path = path
        self._retry_failed = retry_failed
        self.items = items
        self.totals = Totals()
        self.workers = 1  # the file is locked: one process runs the job
        self._db: Optional[sqlite3.Connection] = None
        try:
            self._db = self._open(fingerprint)
            self._pending = deque(self._load())
        except (sqlite3.DatabaseError, BatchStateError) as e:
            self.close()
            raise self._error(e) from None

    # --- the job's side ----------------------------------------------------------------------

    @property
    def total(self) -> int:
        return len(self.items)

    def claim(self, n: int) -> list[Item]:
        out = [self.items[self._pending.popleft()] for _ in range(min(n, len(self._pending)))]
        self._exec_many("UPDATE items SET state = 'in_flight' WHERE idx = ?", [(it.index,) for it in out])
        return out

    def release(self, items: list[Item]) -> None:
        """Puts claimed items back (the job stopped before they finished)."""
        self._exec_many("UPDATE items SET state = 'pending' WHERE idx = ?", [(it.index,) for it in items])
        self._pending.extendleft(sorted((it.index for it in items), reverse=True))

    def complete(self, item: Item, record: dict[str, Any], ok: bool, failovers: int, tokens: int, cost: Any) -> None:
        self._exec_many(
            "UPDATE items SET state = ?, record = ?, failovers = ?, tokens = ?, cost = ? WHERE idx = ?",
            [("done" if ok else "failed", json.dumps(record), failovers, tokens, cost, item.index)],
        )
        self.totals.add(ok, failovers, tokens, cost)

    def commit(self) -> None:
        try:
            assert self._db is not None
            self._db.commit()
        except sqlite3.DatabaseError as e:
            raise self._error(e) from None

    def has_pending(self) -> bool:
        return bool(self._pending)

    def all_finished(self) -> bool:
        return self.totals.finished == self.total

    def wait_for_work(self, timeout: float) -> None:  # one process owns every item: nothing to wait for
        pass

    def records(self) -> Iterator[dict[str, Any]]:
        assert self._db is not None
        for (text,) in self._db.execute("SELECT record FROM items WHERE record IS NOT NULL ORDER BY idx"):
            yield json.loads(text)

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.commit()
            except sqlite3.DatabaseError:
                pass
            self._db.close()
            self._db = None

    # --- opening -------------------------------------------------------------------------------

    def _open(self, fingerprint: str) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level="DEFERRED")
        try:
            db.execute("PRAGMA locking_mode = EXCLUSIVE")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("BEGIN EXCLUSIVE")  # takes the lock now, and keeps it (locking_mode)
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS items (idx INTEGER PRIMARY KEY, custom_id TEXT UNIQUE, "
                "state TEXT NOT NULL, record TEXT, failovers INTEGER NOT NULL DEFAULT 0, "
                "tokens INTEGER NOT NULL DEFAULT 0, cost REAL)"
            )
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if not meta:
                db.executemany(
                    "INSERT INTO meta VALUES (?, ?)", [("version", SCHEMA_VERSION), ("fingerprint", fingerprint)]
                )
            elif meta.get("version") != SCHEMA_VERSION:
                raise BatchStateError(f"state file {str(self.path)!r} has schema version {meta.get('version')!r}")
            elif meta.get("fingerprint") != fingerprint:
                raise BatchStateError(
                    f"state file {str(self.path)!r} belongs to a different input (other requests); "
                    "delete it to start over, or pass another state file"
                )
            db.commit()
        except BaseException:
            db.close()
            raise
        return db

    def _load(self) -> list[int]:
        """Fills a new file with the items, or resumes: in-flight rows of a dead run become pending."""
        assert self._db is not None
        db = self._db
        (count,) = db.execute("SELECT COUNT(*) FROM items").fetchone()
        if count == 0:
            rows = []
            for it in self.items:
                record = json.dumps(item_error_record(it)) if it.problem else None
                rows.append((it.index, it.custom_id, "failed" if it.problem else "pending", record))
            db.executemany("INSERT INTO items (idx, custom_id, state, record) VALUES (?, ?, ?, ?)", rows)
        elif count != len(self.items):
            raise BatchStateError(f"state file {str(self.path)!r} has {count} requests, the input {len(self.items)}")
        db.execute("UPDATE items SET state = 'pending' WHERE state = 'in_flight'")
        if self._retry_failed:  # failed requests run again (not the entries that cannot be sent)
            sendable = [(it.index,) for it in self.items if not it.problem]
            db.executemany(
                "UPDATE items SET state = 'pending', record = NULL, failovers = 0, tokens = 0, cost = NULL "
                "WHERE idx = ? AND state = 'failed'",
                sendable,
            )
        db.commit()
        pending = []
        for idx, state, failovers, tokens, cost in db.execute(
            "SELECT idx, state, failovers, tokens, cost FROM items ORDER BY idx"
        ):
            if state == "pending":
                pending.append(idx)
            else:
                self.totals.add(state == "done", failovers, tokens, cost)
        return pending

    def _exec_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        try:
            assert self._db is not None
            self._db.executemany(sql, rows)
        except sqlite3.DatabaseError as e:
            raise self._error(e) from None

    def _error(self, e: Exception) -> BatchStateError:
        if isinstance(e, BatchStateError):
            return e
        text = str(e)
        if "locked" in text or "busy" in text:
            why = "is locked by another process (is another batch running on the same job?)"
        elif "not a database" in text or "malformed" in text or "corrupt" in text:
            why = "is not a usable SQLite database (corrupt?); delete it to start the job over"
        else:
            why = "cannot be used"
        return BatchStateError(f"state file {str(self.path)!r} {why}: {text}")
