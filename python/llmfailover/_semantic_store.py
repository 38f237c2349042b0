"""The semantic cache's store (_semantic.py): one group's answers by bucket, LRU past
``max_entries``, TTL on the cache's clock; a faiss index per bucket from ``_INDEX_FROM`` entries."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

__all__ = ["Settings", "Store", "Entry"]

_CANDIDATES = 8  # neighbours read from the index: expired ones are skipped


@dataclass(frozen=True)
class Settings:
    embeddings: str
    threshold: float
    ttl: float  # seconds
    max_entries: int
    allow_tools: bool


@dataclass
class Entry:
    bucket: str
    exact: str
    vector: Any  # numpy float32, unit length
    events: list[Any]  # the answer as call events: head, then body or sse events (no end)
    expires: float
    aliases: list[str] = field(default_factory=list)  # exact keys of paraphrases it served


class _Bucket:
    """A bucket's entries (one embedding model and dimension). Small buckets are compared one by
    one (numpy); from ``_INDEX_FROM`` entries on, a faiss index (exact inner product over the unit
    vectors: cosine, with ids so entries can be removed) finds the candidates."""

    __slots__ = ("keys", "index")

    def __init__(self) -> None:
        self.keys: dict[int, None] = {}  # insertion-ordered set
        self.index: Any = None

    def add(self, key: int, vector: Any) -> None:
        import numpy as np

        self.keys[key] = None
        if self.index is not None:
            self.index.add_with_ids(vector[None, :], np.array([key], dtype=np.int64))
        elif len(self.keys) >= _INDEX_FROM:
            import faiss

            self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(len(vector)))  # filled by the caller

    def remove(self, key: int) -> None:
        import numpy as np

        if key in self.keys:
            del self.keys[key]
            if self.index is not None:
                self.index.remove_ids(np.array([key], dtype=np.int64))

    def candidates(self, vector: Any) -> list[int]:
        if self.index is None:
            return list(self.keys)
        _, ids = self.index.search(vector[None, :], min(_CANDIDATES, int(self.index.ntotal)))
        return [int(k) for k in ids[0] if k >= 0]


_INDEX_FROM = 32
_MAX_ALIASES = 8


class Store:
    """One group's stored answers: LRU by entry, TTL on the cache's clock, by bucket. Thread-safe."""

    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, Entry] = OrderedDict()  # least recently used first
        # exact key (bucket + prompt text) -> (entry, similarity): the stored prompt's and its aliases'
        self._exact: dict[str, tuple[int, float]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._next = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: int) -> None:
        e = self._entries.pop(key, None)
        if e is None:
            return
        for exact in [e.exact, *e.aliases]:
            if self._exact.get(exact, (-1,))[0] == key:
                del self._exact[exact]
        b = self._buckets.get(e.bucket)
        if b is not None:
            b.remove(key)
            if not b.keys:
                del self._buckets[e.bucket]

    def _live(self, key: int, touch: bool = True) -> Optional[Entry]:
        """The entry if it has not expired (an expired one is dropped); ``touch``: now most recently used."""
        e = self._entries.get(key)
        if e is not None and e.expires <= self.clock():
            self._drop(key)
            return None
        if e is not None and touch:
            self._entries.move_to_end(key)
        return e

    def exact(self, exact: str) -> tuple[Optional[Entry], float]:
        """The entry stored for this very text, or that served it before (an alias), and its similarity."""
        with self._lock:
            key, similarity = self._exact.get(exact, (-1, 0.0))
            return (None if key < 0 else self._live(key)), similarity

    def nearest(self, bucket: str, vector: Any) -> tuple[Optional[Entry], float]:
        """The most similar live entry at or above the threshold, else (None, best similarity seen)."""
        import numpy as np

        with self._lock:
            b = self._buckets.get(bucket)
            best_key, best = -1, 0.0
            for key in [] if b is None else b.candidates(vector):
                e = self._live(key, touch=False)
                if e is None:
                    continue
                # Computed in float64 from the stored unit vectors: the index finds, this decides.
                similarity = min(1.0, float(np.dot(e.vector.astype(np.float64), vector.astype(np.float64))))
                if similarity > best:
                    best_key, best = key, similarity
            if best_key < 0 or best < self.settings.threshold:
                return None, best
            return self._live(best_key), best

    def alias(self, entry: Entry, exact: str, similarity: float) -> None:
        """``exact`` (a paraphrase ``entry`` served) finds it from now on without an embeddings call."""
        with self._lock:
            key = self._exact.get(entry.exact, (-1,))[0]
            if key >= 0 and exact not in self._exact and len(entry.aliases) < _MAX_ALIASES:
                entry.aliases.append(exact)
                self._exact[exact] = (key, similarity)

    def put(self, bucket: str, exact: str, vector: Any, events: list[Any]) -> None:
        with self._lock:
            old = self._exact.get(exact)
            if old is not None:
                self._drop(old[0])
            b = self._buckets.get(bucket)
            if b is None:
                b = self._buckets[bucket] = _Bucket()
            key, self._next = self._next, self._next + 1
            self._entries[key] = Entry(bucket, exact, vector, events, self.clock() + self.settings.ttl)
            self._exact[exact] = (key, 1.0)
            had_index = b.index is not None
            b.add(key, vector)
            if b.index is not None and not had_index:  # just promoted: index every entry
                import numpy as np

                keys = list(b.keys)
                vectors = np.stack([self._entries[k].vector for k in keys])
                b.index.add_with_ids(vectors, np.array(keys, dtype=np.int64))
            while len(self._entries) > self.settings.max_entries:
                self._drop(next(iter(self._entries)))
