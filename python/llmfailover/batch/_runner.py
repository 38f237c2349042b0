"""Running a batch: worker threads send requests through the routed client; one thread keeps the state.

Threads on the sync client rather than asyncio on the async one: each call waits in the native
engine with the GIL released, so N threads give N concurrent requests; and ``batch()`` must run
inside Jupyter, whose cell already runs an event loop (``asyncio.run`` refuses to nest there).
Only the job's own thread touches the store (SQLite connections are not shared across threads);
workers hand results back through futures.

A request whose error says no target could answer (``NoTargetAvailable``, connection errors and
timeouts, 429 and 5xx after the router's own retries and failover) waits at the ``OutageGate`` and
is sent again when a probe succeeds, until its deadline; any other HTTP error (400, 401, 404, ...)
finishes that request with the upstream's error in its record.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Optional, Protocol

from .._compat import openai_module
from .._resources._params import allowed
from .._routing import is_failover, route_info
from ..errors import APIConnectionError, APIStatusError
from ._input import Item
from ._pacing import DeadlineExceeded, Gates, Pacer, estimate_tokens
from ._progress import Progress
from ._records import error_record, http_error_record, ok_record

__all__ = ["Outcome", "run_job", "call_one"]


@dataclass
class Outcome:
    record: dict[str, Any]
    ok: bool
    failovers: int = 0
    tokens: int = 0
    cost: Optional[float] = None


class Store(Protocol):  # SqliteStore and RedisStore
    totals: Any
    workers: int  # processes sharing the job (the pacer gives each 1/workers of the limits)

    @property
    def total(self) -> int: ...
    def claim(self, n: int) -> list[Item]: ...
    def release(self, items: list[Item]) -> None: ...
    def complete(
        self, item: Item, record: dict[str, Any], ok: bool, failovers: int, tokens: int, cost: Any
    ) -> None: ...
    def commit(self) -> None: ...
    def all_finished(self) -> bool: ...
    def wait_for_work(self, timeout: float) -> None: ...


# Ours, and openai's own (a plain ``openai.OpenAI`` passed as ``client=``); ours derive from openai's.
_oa = openai_module()
_CONNECTION_ERRORS = (APIConnectionError, _oa.APIConnectionError) if _oa else (APIConnectionError,)
_STATUS_ERRORS = (APIStatusError, _oa.APIStatusError) if _oa else (APIStatusError,)


def _is_outage(e: BaseException) -> bool:
    if isinstance(e, _CONNECTION_ERRORS):  # includes NoTargetAvailable and timeouts
        return True
    status = getattr(e, "status_code", 0) if isinstance(e, _STATUS_ERRORS) else 0
    return status == 429 or status >= 500


def _failovers(obj: Any) -> int:
    info = route_info(obj)
    return sum(is_failover(a.decision) for a in info.attempts) if info else 0


def _cost(obj: Any) -> Optional[float]:
    """USD from the route info when the router prices answers (``RouteInfo.cost``: a number, or a
    ``Cost`` with ``usd`` and ``waste_usd``, billed attempts whose answer was not used); else None."""
    cost = getattr(route_info(obj), "cost", None)
    if isinstance(cost, (int, float)):
        return float(cost)
    usd, waste = getattr(cost, "usd", None), getattr(cost, "waste_usd", None) or 0.0
    if usd is None and not waste:
        return None
    return float(usd or 0.0) + float(waste)


def _body(result: Any) -> Any:
    for name in ("to_dict", "model_dump"):
        fn = getattr(result, name, None)
        if callable(fn):
            return fn()
    return result


def _send(client: Any, item: Item) -> Any:
    if item.url == "/v1/embeddings":
        return client.embeddings.create(**_kwargs("embeddings", item.body))
    return client.chat.completions.create(**_kwargs("chat", item.body))


def _kwargs(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as keyword arguments of ``create``: fields it has no parameter for (newer API
    fields than the installed openai knows) go in ``extra_body``, as the Batch API sends a body
    as it is. Request options (timeout, extra_headers, ...) are not body fields: they go too."""
    names = allowed(kind) - {"extra_headers", "extra_query", "extra_body", "timeout"}
    known = {k: v for k, v in body.items() if k in names}
    extra = {k: v for k, v in body.items() if k not in names}
    return {**known, "extra_body": extra} if extra else known


def call_one(client: Any, item: Item, gates: Gates, pacer: Pacer, deadline_s: Optional[float]) -> Outcome:
    """Sends ``item`` until it gets a final answer; outage errors wait at its group's gate (module doc)."""
    deadline = None if deadline_s is None else time.monotonic() + deadline_s
    group, tokens = str(item.body.get("model")), estimate_tokens(item.body)
    gate = gates.get(group)
    last: Optional[BaseException] = None
    while True:
        try:
            probe = gate.enter(deadline, deadline_s)
            gate.sleep(pacer.delay(group, tokens))
        except DeadlineExceeded as e:
            why = f"{type(last).__name__}: {last}" if last else "not sent"
            msg = f"{e} (request deadline {deadline_s:g} s); last error: {why}"
            return Outcome(error_record(item, "deadline_exceeded", msg), ok=False)
        try:
            result = _send(client, item)
        except Exception as e:  # a worker hands every failure back as a record
            if _is_outage(e):
                last = e
                gate.failure(probe)
                continue
            if probe:
                gate.release_probe()
            return _error_outcome(item, e)
        gate.success()
        usage = getattr(result, "usage", None)
        return Outcome(
            ok_record(item, _body(result), getattr(result, "_request_id", None)),
            ok=True,
            failovers=_failovers(result),
            tokens=int(getattr(usage, "total_tokens", 0) or 0),
            cost=_cost(result),
        )


def _error_outcome(item: Item, e: BaseException) -> Outcome:
    if isinstance(e, _STATUS_ERRORS):
        rid = getattr(e, "request_id", None)
        record = http_error_record(item, getattr(e, "status_code", 0), getattr(e, "body", None), rid)
        return Outcome(record, ok=False, failovers=_failovers(e), cost=_cost(e))
    if isinstance(e, TypeError):  # a body field the client does not take
        return Outcome(error_record(item, "invalid_request", str(e)), ok=False)
    return Outcome(error_record(item, type(e).__name__, str(e)), ok=False)


def run_job(
    store: Store,
    client: Any,
    *,
    concurrency: int,
    request_deadline: Optional[float],
    progress: Progress,
    pacer: Pacer,
    gates: Optional[Gates] = None,
) -> None:
    """Runs every pending item of ``store`` to a result, ``concurrency`` at a time."""
    gates = gates or Gates()
    pool = ThreadPoolExecutor(concurrency, thread_name_prefix="llmfailover-batch")
    inflight: dict[Future[Outcome], Item] = {}
    try:
        while True:
            if len(inflight) < concurrency:
                for it in store.claim(concurrency - len(inflight)):
                    inflight[pool.submit(call_one, client, it, gates, pacer, request_deadline)] = it
            if not inflight:
                if store.all_finished():
                    break
                store.wait_for_work(0.5)  # other workers hold the rest (Redis)
                continue
            done, _ = wait(inflight, timeout=0.5, return_when=FIRST_COMPLETED)
            for f in done:
                out = f.result()
                store.complete(inflight[f], out.record, out.ok, out.failovers, out.tokens, out.cost)
                del inflight[f]  # after: an interrupt in between leaves it to _settle, not lost
            store.commit()
            pacer.workers = store.workers
            progress.update(store.totals, paused=gates.down)
    except BaseException:
        gates.stop()  # waiting workers return at once; those in a call finish it
        pool.shutdown(wait=False, cancel_futures=True)
        _settle(store, inflight)
        raise
    finally:
        pool.shutdown(wait=True)


def _settle(store: Store, inflight: dict[Future[Outcome], Item]) -> None:
    """On the way out: results already in are kept, the rest go back to pending."""
    back = []
    for f, it in inflight.items():
        out = f.result() if f.done() and not f.cancelled() and f.exception() is None else None
        if out is not None:
            store.complete(it, out.record, out.ok, out.failovers, out.tokens, out.cost)
        else:
            back.append(it)
    try:
        store.release(back)
        store.commit()
    except Exception:  # noqa: BLE001 - the original error matters more; the next run resumes anyway
        pass
