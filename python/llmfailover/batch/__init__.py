"""Durable batch jobs through the failover router: ``llmfailover.batch(...)`` and ``python -m llmfailover batch``.

::

    import llmfailover
    result = llmfailover.batch("requests.jsonl", config="router.yaml", output="results.jsonl")
    result.succeeded, result.failed, result.invalid_lines

Input: a JSONL file in the OpenAI Batch API format (custom_id, method, url, body; the urls
/v1/chat/completions and /v1/embeddings), a list of such dicts or of bare request bodies, or a
pandas Series (e.g. a DataFrame column; strings need ``model=``). Output: the OpenAI batch result
JSONL in input order (``output=``), and a ``BatchResult`` whose ``records`` are the same records.

Durable by default: each request's state and result is kept in a SQLite file (``state=``, by
default next to the output, or ``llmfailover-batch-<digest>.sqlite`` in the working directory
without an output; ``state=False`` keeps it in memory). Running the same job again, after a crash
or a kill -9, resumes it; every custom_id appears exactly once in the output. With ``redis=URL``
the job lives in a Redis stream instead, shared by every process that runs the same command
(``_redis.py``). See README "Batch jobs".
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Optional, Union

from ._input import BatchError, BatchInputError, Item, fingerprint, load_items
from ._pacing import Pacer, group_limits
from ._progress import Progress
from ._records import is_success, write_jsonl
from ._runner import run_job
from ._store import BatchStateError, SqliteStore

__all__ = ["batch", "BatchResult", "BatchError", "BatchInputError", "BatchStateError", "DEFAULT_CONCURRENCY"]

DEFAULT_CONCURRENCY = 16
DEFAULT_REQUEST_DEADLINE = 3600.0  # seconds a request may wait through outages before it fails

PathLike = Union[str, "os.PathLike[str]"]
_log = logging.getLogger("llmfailover.batch")


class BatchResult:
    """A finished job: ``records`` (OpenAI batch result records, input order), the counts, and
    where the output and the state are (``state``: the SQLite path, the Redis URL without its
    password, or None in memory). ``invalid_lines`` lists the input lines that were not
    requests (with their line numbers)."""

    def __init__(self, records: list[dict[str, Any]], items: list[Item], output: Optional[Path], state: Any) -> None:
        self.records = records
        self.output = output
        self.state = state
        self.succeeded = sum(is_success(r) for r in records)
        self.failed = len(records) - self.succeeded
        self.invalid_lines = [it.problem for it in items if it.custom_id is None and it.problem]

    def bodies(self) -> list[Optional[dict[str, Any]]]:
        """Each record's response body when it succeeded, else None (input order)."""
        return [r["response"]["body"] if is_success(r) else None for r in self.records]

    def texts(self) -> list[Optional[str]]:
        """Each chat answer's text (None for failures and embeddings), input order."""
        out: list[Optional[str]] = []
        for body in self.bodies():
            try:
                out.append(body["choices"][0]["message"]["content"] if body else None)
            except (KeyError, IndexError, TypeError):
                out.append(None)
        return out

    def __repr__(self) -> str:
        where = f", output={str(self.output)!r}" if self.output else ""
        return f"<BatchResult {self.succeeded} succeeded, {self.failed} failed{where}>"


def batch(
    requests: Any,
    *,
    config: Any = None,
    client: Any = None,
    output: Optional[PathLike] = None,
    state: Union[PathLike, bool, None] = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    request_deadline: Optional[float] = DEFAULT_REQUEST_DEADLINE,
    model: Optional[str] = None,
    progress: bool = True,
    redis: Optional[str] = None,
    redis_prefix: str = "llmfailover:batch",
    job: Optional[str] = None,
    claim_idle: float = 30.0,
    retry_failed: bool = False,
) -> BatchResult:
    """Runs ``requests`` through the router of ``config`` (or a routed ``client``); see the module doc.

    ``concurrency`` requests are in flight at once, paced by the config's rpm/tpm. A request that
    finds every target down waits (probing) until one is back or ``request_deadline`` seconds
    pass. Raises ``BatchInputError`` (e.g. a duplicate custom_id, before anything is sent) or
    ``BatchStateError`` (a corrupt or locked state file, an unreachable Redis). ``retry_failed``
    runs the requests a previous run of the job failed again (SQLite state only)."""
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or not 1 <= concurrency <= 1024:
        raise BatchInputError(f"concurrency must be an integer from 1 to 1024, not {concurrency!r}")
    if request_deadline is not None and not request_deadline > 0:
        raise BatchInputError(f"request_deadline must be a positive number of seconds, not {request_deadline!r}")
    if redis is not None and state not in (None, False):
        raise BatchInputError(
            "state= (a SQLite file) and redis= (a shared job) are exclusive: a Redis job keeps its state in Redis"
        )
    if redis is not None and retry_failed:
        raise BatchInputError("retry_failed= is for a SQLite job; a Redis job's answers are final")
    if (config is None) == (client is None):
        raise BatchInputError("batch() needs exactly one of config= (a router config) or client= (a routed client)")
    items = load_items(requests, model=model)
    for it in items:
        if it.problem:  # reported now, not only in the result at the end; the rest runs
            _log.warning("batch input %s: %s", it.where, it.problem.removeprefix(f"{it.where}: "))
    digest = fingerprint(items)
    out_path = Path(output) if output is not None else None
    own_client = client is None
    if own_client:
        from .. import OpenAI

        client = OpenAI(config=config)
    try:
        store, where = _open_store(items, digest, out_path, state, redis, redis_prefix, job, claim_idle, retry_failed)
        try:
            _run(store, client, concurrency, request_deadline, progress)
            records = list(store.records())
        finally:
            store.close()
    finally:
        if own_client:
            client.close()
    if out_path is not None:
        write_jsonl(out_path, records)
    return BatchResult(records, items, out_path, where)


def _open_store(
    items: list[Item],
    digest: str,
    output: Optional[Path],
    state: Any,
    redis: Optional[str],
    prefix: str,
    job: Optional[str],
    claim_idle: float,
    retry_failed: bool,
) -> tuple[Any, Any]:
    if redis is not None:
        from ._redis import RedisStore, redact_url

        name = job or digest[:16]
        return RedisStore(redis, f"{prefix}:{name}", items, digest, claim_idle=claim_idle), redact_url(redis)
    if state is False:
        return SqliteStore(Path(":memory:"), items, digest), None  # nothing to retry in a new one
    if state is None or state is True:
        if output is not None:
            path = output.with_name(output.name + ".state.sqlite")
        else:
            path = Path(f"llmfailover-batch-{digest[:12]}.sqlite")
    else:
        path = Path(state)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteStore(path, items, digest, retry_failed=retry_failed), path


def _run(store: Any, client: Any, concurrency: int, deadline: Optional[float], progress: bool) -> None:
    try:
        limits = group_limits(client.router_snapshot())
    except Exception:  # noqa: BLE001 - a client without a router snapshot: no pacing
        limits = {}
    bar = Progress(store.total, store.totals, enabled=progress)
    try:
        run_job(
            store,
            client,
            concurrency=concurrency,
            request_deadline=deadline,
            progress=bar,
            pacer=Pacer(limits),
        )
    finally:
        bar.close()


class _CallableModule(type(os)):  # type: ignore[misc]
    """``llmfailover.batch(...)`` calls ``batch``; ``llmfailover.batch.BatchResult`` still works."""

    def __call__(self, *args: Any, **kwargs: Any) -> BatchResult:
        return batch(*args, **kwargs)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
